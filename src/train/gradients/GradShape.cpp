// Backward of the ops that move data without arithmetic.
//
//   Reshape/Flatten/Squeeze/Unsqueeze  g reshaped to x's shape
//   Transpose(perm)                    g transposed by perm's inverse
//   Concat / Split                     g sliced / concatenated along the axis
//   Slice                              g scattered into zeros at the sliced positions
//   Gather(axis)                       g scatter-added at the gathered indices (embeddings)
//   Expand                             g summed back to x's shape
//   Pad (constant)                     g cropped by the pads
#include <algorithm>

#include "Families.h"
#include "GradUtil.h"

namespace onnxpress::train::gradients {
namespace {

Status reshapeGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (ctx.wants(0)) ctx.inputGrads[0] = ctx.outputGrad(0).reshaped(ctx.input(0).shape());
  return Status::ok();
}

Status transposeGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (!ctx.wants(0)) return Status::ok();
  const int64_t rank = ctx.input(0).rank();
  std::vector<int64_t> perm = ctx.node.intsAttr("perm");
  if (perm.empty())
    for (int64_t i = rank; i-- > 0;) perm.push_back(i);
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  ctx.inputGrads[0] = transposed(ctx.outputGrad(0), inverse);
  return Status::ok();
}

// Copies blocks along `axis`: views x as [outer, length, inner].
void copyAlongAxis(const TensorData& from, int64_t fromOffset, TensorData& to, int64_t toOffset, int64_t axis,
                   int64_t length) {
  const Shape &fs = from.shape(), &ts = to.shape();
  const int64_t outer = elementCount(fs, 0, static_cast<size_t>(axis));
  const int64_t inner = elementCount(fs, static_cast<size_t>(axis) + 1, fs.size());
  const int64_t fromLen = fs[static_cast<size_t>(axis)], toLen = ts[static_cast<size_t>(axis)];
  for (int64_t o = 0; o < outer; ++o)
    std::copy_n(from.data<float>() + (o * fromLen + fromOffset) * inner, length * inner,
                to.data<float>() + (o * toLen + toOffset) * inner);
}

Status concatGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  const TensorData g = ctx.outputGrad(0);
  const int64_t axis = normalizeAxis(ctx.node.intAttr("axis", 0), g.rank());
  int64_t offset = 0;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    const int64_t length = ctx.input(i).dim(axis);
    if (ctx.wants(i)) {
      TensorData d = TensorData::allocate(DataType::Float, ctx.input(i).shape());
      copyAlongAxis(g, offset, d, 0, axis, length);
      ctx.inputGrads[i] = std::move(d);
    }
    offset += length;
  }
  return Status::ok();
}

Status splitGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (!ctx.wants(0)) return Status::ok();
  const TensorData& x = ctx.input(0);
  const int64_t axis = normalizeAxis(ctx.node.intAttr("axis", 0), x.rank());
  TensorData d = floatZeros(x.shape());
  int64_t offset = 0;
  for (size_t j = 0; j < ctx.outputs.size(); ++j) {
    const TensorData g = ctx.outputGrad(j);
    const int64_t length = g.dim(axis);
    copyAlongAxis(g, 0, d, offset, axis, length);
    offset += length;
  }
  ctx.inputGrads[0] = std::move(d);
  return Status::ok();
}

// Slice (opset 10+: starts, ends, axes, steps as inputs; before: attributes).
Status sliceGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (!ctx.wants(0)) return Status::ok();
  const TensorData& x = ctx.input(0);
  const int64_t rank = x.rank();
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset < 10) {
    starts = ctx.node.intsAttr("starts");
    ends = ctx.node.intsAttr("ends");
    axes = ctx.node.intsAttr("axes");
  } else {
    starts = ctx.input(1).toInt64Vector();
    ends = ctx.input(2).toInt64Vector();
    if (ctx.hasInput(3)) axes = ctx.input(3).toInt64Vector();
    if (ctx.hasInput(4)) steps = ctx.input(4).toInt64Vector();
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  steps.resize(starts.size(), 1);
  // Per axis: first index and step in x (the output's shape gives the count).
  std::vector<int64_t> first(static_cast<size_t>(rank), 0), step(static_cast<size_t>(rank), 1);
  for (size_t i = 0; i < starts.size(); ++i) {
    const size_t a = static_cast<size_t>(normalizeAxis(axes[i], rank));
    const int64_t dim = x.shape()[a];
    int64_t s = starts[i] < 0 ? starts[i] + dim : starts[i];
    s = steps[i] > 0 ? std::clamp<int64_t>(s, 0, dim) : std::clamp<int64_t>(s, 0, dim - 1);
    first[a] = s;
    step[a] = steps[i];
  }
  const TensorData g = ctx.outputGrad(0);
  TensorData d = floatZeros(x.shape());
  const std::vector<int64_t> strides = stridesOf(x.shape());
  const Shape& outShape = g.shape();
  std::vector<int64_t> index(static_cast<size_t>(rank), 0);
  const int64_t n = g.numElements();
  for (int64_t i = 0; i < n; ++i) {
    int64_t offset = 0;
    for (size_t a = 0; a < static_cast<size_t>(rank); ++a) offset += (first[a] + index[a] * step[a]) * strides[a];
    d.data<float>()[offset] += g.data<float>()[i];
    for (size_t a = static_cast<size_t>(rank); a-- > 0;) {
      if (++index[a] < outShape[a]) break;
      index[a] = 0;
    }
  }
  ctx.inputGrads[0] = std::move(d);
  return Status::ok();
}

Status gatherGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (!ctx.wants(0)) return Status::ok();
  const TensorData &x = ctx.input(0), &indices = ctx.input(1);
  const int64_t axis = normalizeAxis(ctx.node.intAttr("axis", 0), x.rank());
  const int64_t outer = elementCount(x.shape(), 0, static_cast<size_t>(axis));
  const int64_t length = x.dim(axis), inner = elementCount(x.shape(), static_cast<size_t>(axis) + 1, x.shape().size());
  const int64_t count = indices.numElements();
  const TensorData g = ctx.outputGrad(0);
  TensorData d = floatZeros(x.shape());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < count; ++k) {
      int64_t at = indices.intAt(k);
      if (at < 0) at += length;
      const float* src = g.data<float>() + (o * count + k) * inner;
      float* dst = d.data<float>() + (o * length + at) * inner;
      for (int64_t e = 0; e < inner; ++e) dst[e] += src[e];
    }
  ctx.inputGrads[0] = std::move(d);
  return Status::ok();
}

Status expandGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (ctx.wants(0)) ctx.inputGrads[0] = sumToShape(ctx.outputGrad(0), ctx.input(0).shape());
  return Status::ok();
}

Status padGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (!ctx.wants(0)) return Status::ok();
  if (ctx.node.stringAttr("mode", "constant") != "constant")
    return invalidInput("{}: only constant-mode Pad has a gradient here", ctx.where());
  const TensorData& x = ctx.input(0);
  const int64_t rank = x.rank();
  std::vector<int64_t> pads = ctx.opset < 11 ? ctx.node.intsAttr("pads") : ctx.input(1).toInt64Vector();
  std::vector<int64_t> begin(static_cast<size_t>(rank), 0);
  if (ctx.opset >= 18 && ctx.hasInput(3)) {
    const std::vector<int64_t> axes = ctx.input(3).toInt64Vector();
    for (size_t i = 0; i < axes.size(); ++i) begin[static_cast<size_t>(normalizeAxis(axes[i], rank))] = pads[i];
  } else {
    for (int64_t a = 0; a < rank; ++a) begin[static_cast<size_t>(a)] = pads[static_cast<size_t>(a)];
  }
  const TensorData g = ctx.outputGrad(0);
  const std::vector<int64_t> gStrides = stridesOf(g.shape());
  std::vector<int64_t> index(static_cast<size_t>(rank), 0);
  ctx.inputGrads[0] = floatFilled(x.shape(), [&](int64_t) {
    int64_t offset = 0;
    bool inside = true;
    for (size_t a = 0; a < static_cast<size_t>(rank); ++a) {
      const int64_t at = index[a] + begin[a];
      inside = inside && at >= 0 && at < g.shape()[a];
      offset += at * gStrides[a];
    }
    const float v = inside ? g.data<float>()[offset] : 0.f;
    for (size_t a = static_cast<size_t>(rank); a-- > 0;) {
      if (++index[a] < x.shape()[a]) break;
      index[a] = 0;
    }
    return v;
  });
  return Status::ok();
}

}  // namespace

std::vector<GradientEntry> shapeGradients() {
  return {
      {"Reshape", reshapeGrad, {0}},
      {"Flatten", reshapeGrad, {0}},
      {"Squeeze", reshapeGrad, {0}},
      {"Unsqueeze", reshapeGrad, {0}},
      {"Transpose", transposeGrad, {0}},
      {"Concat", concatGrad, {}},
      {"Split", splitGrad, {0}},
      {"Slice", sliceGrad, {0}},
      {"Gather", gatherGrad, {0}},
      {"Expand", expandGrad, {0}},
      {"Pad", padGrad, {0}},
  };
}

}  // namespace onnxpress::train::gradients
