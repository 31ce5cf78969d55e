#include "GradUtil.h"

#include <algorithm>

namespace onnxpress::train::gradients {

std::vector<int64_t> stridesOf(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

Shape broadcastShapes(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// For each element of `shape`, the offset of the element of `from` (right-aligned,
// size-1 axes repeated) it corresponds to; calls f(outIndex, fromOffset).
template <typename F>
static void forEachBroadcast(const Shape& from, const Shape& shape, F f) {
  const size_t rank = shape.size();
  std::vector<int64_t> fromStrides(rank, 0);
  const std::vector<int64_t> own = stridesOf(from);
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1) fromStrides[rank - from.size() + i] = own[i];
  const int64_t n = elementCount(shape);
  if (rank == 0) {
    if (n) f(0, 0);
    return;
  }
  std::vector<int64_t> index(rank, 0);
  int64_t offset = 0;
  const int64_t inner = shape[rank - 1], innerStride = fromStrides[rank - 1];
  for (int64_t i = 0; i < n; i += inner) {
    for (int64_t k = 0; k < inner; ++k) f(i + k, offset + k * innerStride);
    for (size_t axis = rank - 1; axis-- > 0;) {
      offset += fromStrides[axis];
      if (++index[axis] < shape[axis]) break;
      offset -= fromStrides[axis] * shape[axis];
      index[axis] = 0;
    }
  }
}

TensorData broadcastTo(const TensorData& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  TensorData out = TensorData::allocate(DataType::Float, shape);
  const float* src = x.data<float>();
  float* dst = out.data<float>();
  forEachBroadcast(x.shape(), shape, [&](int64_t i, int64_t j) { dst[i] = src[j]; });
  return out;
}

TensorData sumToShape(const TensorData& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  TensorData out = floatZeros(shape);
  const float* src = g.data<float>();
  float* dst = out.data<float>();
  forEachBroadcast(shape, g.shape(), [&](int64_t i, int64_t j) { dst[j] += src[i]; });
  return out;
}

TensorData transposed(const TensorData& x, const std::vector<int64_t>& perm) {
  const size_t rank = perm.size();
  Shape shape(rank);
  for (size_t i = 0; i < rank; ++i) shape[i] = x.dim(perm[i]);
  const std::vector<int64_t> inStrides = stridesOf(x.shape());
  Shape permutedStrides(rank);
  for (size_t i = 0; i < rank; ++i) permutedStrides[i] = inStrides[static_cast<size_t>(perm[i])];
  TensorData out = TensorData::allocate(DataType::Float, shape);
  const float* src = x.data<float>();
  float* dst = out.data<float>();
  const int64_t n = out.numElements();
  std::vector<int64_t> index(rank, 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    dst[i] = src[offset];
    for (size_t axis = rank; axis-- > 0;) {
      offset += permutedStrides[axis];
      if (++index[axis] < shape[axis]) break;
      offset -= permutedStrides[axis] * shape[axis];
      index[axis] = 0;
    }
  }
  return out;
}

TensorData floatZeros(const Shape& shape) { return TensorData::zeros(DataType::Float, shape); }

Status requireFloat(const GradientContext& ctx) {
  for (const TensorData* g : ctx.outputGrads)
    if (g && g->dtype() != DataType::Float)
      return invalidInput("{}: gradients are computed in float32 only, got {}", ctx.where(), dataTypeName(g->dtype()));
  for (size_t i = 0; i < ctx.inputs.size(); ++i)
    if (ctx.wants(i) && ctx.hasInput(i) && ctx.input(i).dtype() != DataType::Float)
      return invalidInput("{}: input {} is {}; gradients are computed in float32 only", ctx.where(), i,
                             dataTypeName(ctx.input(i).dtype()));
  return Status::ok();
}

Window2d flattenWindow(const WindowGeometry& geo, const std::vector<int64_t>& in) {
  const bool oneD = in.size() == 1;
  auto first = [oneD](const std::vector<int64_t>& v, int64_t fallback) { return oneD ? fallback : v[0]; };
  Window2d w{};
  w.height = first(in, 1);
  w.width = in.back();
  w.kh = first(geo.kernel, 1);
  w.kw = geo.kernel.back();
  w.outH = first(geo.out, 1);
  w.outW = geo.out.back();
  w.strideH = first(geo.strides, 1);
  w.strideW = geo.strides.back();
  w.dilH = first(geo.dilations, 1);
  w.dilW = geo.dilations.back();
  w.padTop = first(geo.padBegin, 0);
  w.padLeft = geo.padBegin.back();
  w.padBottom = first(geo.padEnd, 0);
  w.padRight = geo.padEnd.back();
  return w;
}

Expected<Window2d> resolveWindow2d(const GradientContext& ctx, const WindowAttrs& attrs, const std::vector<int64_t>& kernel,
                                   const char* what) {
  const TensorData& x = ctx.input(0);
  if (x.rank() != 3 && x.rank() != 4)
    return invalidInput("{}: gradients of {}-D {} are not implemented (1-D and 2-D are)", ctx.where(), x.rank() - 2, what);
  const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  ASSIGN_OR_RETURN(WindowGeometry geo, resolveWindow(attrs, in, kernel, ctx.where()));
  return flattenWindow(geo, in);
}

int64_t normalizeAxis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

}  // namespace onnxpress::train::gradients
