// Helpers shared by the backward functions: broadcasting in reverse (sum a gradient
// back to an input's shape), transposes, attribute reading and the float checks.
#pragma once

#include <cstdint>
#include <vector>

#include "onnxpress/ir/ConvGeometry.h"
#include "onnxpress/train/Gradient.h"

namespace onnxpress::train::gradients {

/// Numpy broadcast of two shapes (callers ran the forward pass, so they agree).
Shape broadcastShapes(const Shape& a, const Shape& b);
/// x repeated to `shape` (numpy broadcasting); float only.
TensorData broadcastTo(const TensorData& x, const Shape& shape);
/// g summed over the axes broadcasting added or stretched, to `shape`.
TensorData sumToShape(const TensorData& g, const Shape& shape);
/// x with its axes permuted: out.dim(i) = x.dim(perm[i]).
TensorData transposed(const TensorData& x, const std::vector<int64_t>& perm);
/// Zeros of float32 with `shape`.
TensorData floatZeros(const Shape& shape);
/// A fresh float tensor of `shape` filled by f(i).
template <typename F>
TensorData floatFilled(const Shape& shape, F f) {
  TensorData t = TensorData::allocate(DataType::Float, shape);
  float* p = t.data<float>();
  const int64_t n = t.numElements();
  for (int64_t i = 0; i < n; ++i) p[i] = f(i);
  return t;
}
/// Fails unless every present input and output gradient is float32.
Status requireFloat(const GradientContext& ctx);
/// A negative axis counted from the end of `rank`.
int64_t normalizeAxis(int64_t axis, int64_t rank);
/// A 1-D or 2-D sliding window (Conv, pools) as a 2-D one: a 1-D window has height 1.
struct Window2d {
  int64_t height, width, kh, kw, outH, outW, strideH, strideW, dilH, dilW, padTop, padLeft, padBottom, padRight;
};
/// `geometry` (1 or 2 spatial axes) over an input of `inputDims` (spatial only) as 2-D.
Window2d flattenWindow(const WindowGeometry& geometry, const std::vector<int64_t>& inputDims);
/// The window of input 0 (N, C, spatial...) under `attrs` with `kernel`; `what` names
/// the op family in the error for 3-D and larger windows.
Expected<Window2d> resolveWindow2d(const GradientContext& ctx, const WindowAttrs& attrs, const std::vector<int64_t>& kernel,
                                   const char* what);
/// Row-major strides of `shape`.
std::vector<int64_t> stridesOf(const Shape& shape);

}  // namespace onnxpress::train::gradients
