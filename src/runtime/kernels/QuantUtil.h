// Shared helpers of the quantization kernels (QuantizeLinear.cpp, QuantizedMatMul.cpp,
// QuantizedConv.cpp): integer ranges of the quantized types, reading scales as floats,
// and requantizing int32 accumulators.
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include "KernelUtil.h"

namespace onnxpress::runtime::quant {

inline bool is4Bit(DataType dt) { return dt == DataType::Int4 || dt == DataType::UInt4; }

/// Integer range of a quantized integer type; false for other types.
inline bool intRange(DataType dt, int64_t& lo, int64_t& hi) { return integerRange(dt, lo, hi); }

/// Reads a float-like (or integer) tensor as floats.
inline std::vector<float> readFloats(const TensorData& t) {
  std::vector<float> out(static_cast<size_t>(t.numElements()));
  const bool ok = dispatch<FloatTypes>(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(p[i]);
  });
  if (!ok)
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(t.doubleAt(static_cast<int64_t>(i)));
  return out;
}

/// Requantizes int32 accumulators to the type of `yzp`: nearbyint(acc * multiplier) + zp, saturated.
template <typename MulFn>
Status requantize(KernelContext& ctx, const std::vector<int32_t>& acc, const TensorData& yzpT, Shape shape,
                  MulFn multiplierAt) {
  int64_t lo, hi;
  const DataType yt = yzpT.dtype();
  if (!intRange(yt, lo, hi) || is4Bit(yt) || yt == DataType::Int32)
    return kernelError(ctx, "unsupported output type {}", dataTypeName(yt));
  const float zp = static_cast<float>(yzpT.doubleAt(0));
  const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
  TensorData y = TensorData::allocate(yt, std::move(shape));
  dispatch<TypeList<uint8_t, int8_t, uint16_t, int16_t>>(yt, [&](auto tag) {
    using TY = decltype(tag);
    TY* py = y.data<TY>();
    parallelFor(static_cast<int64_t>(acc.size()), ctx.threads, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        float v = std::nearbyint(static_cast<float>(acc[i]) * multiplierAt(i)) + zp;
        if (!(v >= flo)) v = flo;
        if (v > fhi) v = fhi;
        py[i] = static_cast<TY>(v);
      }
    });
  });
  ctx.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace onnxpress::runtime::quant
