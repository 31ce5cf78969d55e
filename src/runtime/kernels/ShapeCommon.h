// Shared helpers of the shape and data-movement kernels (Reshape.cpp, Generate.cpp,
// Transpose.cpp, Pad.cpp, Gather.cpp, Resize.cpp): reading small shape/index inputs,
// axis lists, and the strided-copy engine (ShapeCommon.cpp). Ops that only move data
// dispatch on the element size (1/2/4/8/16 bytes) instead of the dtype, and most also
// accept STRING tensors.
#pragma once

#include <string>
#include <vector>

#include "KernelUtil.h"

namespace onnxpress::runtime::shapeops {

/// A double as T (bool: non-zero; half/bfloat16 through float).
template <typename T>
inline T fromDouble(double v) {
  if constexpr (std::is_same_v<T, bool>) return v != 0;
  else if constexpr (kHalfLike<T>) return T(static_cast<float>(v));
  else return static_cast<T>(v);
}

/// Reads input i, a (small) tensor of any numeric/bool dtype, as int64 values.
Expected<std::vector<int64_t>> readInts(const KernelContext& ctx, size_t i, const char* what);

/// Reads input i, a (small) numeric tensor, as doubles.
Expected<std::vector<double>> readDoubles(const KernelContext& ctx, size_t i, const char* what);

/// Normalizes axes against `rank`, rejecting out-of-range and repeated ones.
Status normalizeAxes(const KernelContext& ctx, std::vector<int64_t>& axes, int64_t rank);

/// out (contiguous, shape `shape`) = x read with element strides `ss` from element offset `base`
/// (strides may be 0 or negative). Any dtype of whole bytes, and STRING.
Status copyView(const KernelContext& ctx, const TensorData& x, TensorData& out, const Shape& shape,
                const std::vector<int64_t>& ss, int64_t base = 0);

/// out, from element offset `base` with element strides `ds`, = all of x (contiguous).
Status copyInto(const KernelContext& ctx, const TensorData& x, TensorData& out, const std::vector<int64_t>& ds,
                int64_t base);

}  // namespace onnxpress::runtime::shapeops
