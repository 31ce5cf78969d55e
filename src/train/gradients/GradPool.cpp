// Backward of pooling and reductions.
//
//   MaxPool            the gradient goes to the window's first maximum (recomputed from x)
//   AveragePool        g / window size (count_include_pad decides whether pads count)
//   GlobalAveragePool  g / (H·W) to every position
//   ReduceMean/Sum     g broadcast back over the reduced axes (/ count for the mean)
#include <limits>

#include "Families.h"
#include "GradUtil.h"
#include "onnxpress/ir/ConvGeometry.h"

namespace onnxpress::train::gradients {
namespace {

// Pools over 1-D or 2-D windows, as the 2-D case (height 1 for 1-D).
struct Pool2d {
  int64_t planes, height, width, kh, kw, outH, outW, sh, sw, dh, dw, pt, pl, pb, pr;
};

Expected<Pool2d> poolGeometry(const GradientContext& ctx) {
  const TensorData& x = ctx.input(0);
  if (x.rank() != 3 && x.rank() != 4)
    return invalidInput("{}: gradients of {}-D pooling are not implemented (1-D and 2-D are)", ctx.where(), x.rank() - 2);
  const WindowAttrs attrs = WindowAttrs::read(ctx.node);
  const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  ASSIGN_OR_RETURN(WindowGeometry geo, resolveWindow(attrs, in, attrs.kernel, ctx.where()));
  const bool oneD = x.rank() == 3;
  Pool2d p{};
  p.planes = x.dim(0) * x.dim(1);
  p.height = oneD ? 1 : x.dim(2);
  p.width = x.dim(-1);
  p.kh = oneD ? 1 : geo.kernel[0];
  p.kw = geo.kernel.back();
  p.outH = oneD ? 1 : geo.out[0];
  p.outW = geo.out.back();
  p.sh = oneD ? 1 : geo.strides[0];
  p.sw = geo.strides.back();
  p.dh = oneD ? 1 : geo.dilations[0];
  p.dw = geo.dilations.back();
  p.pt = oneD ? 0 : geo.padBegin[0];
  p.pl = geo.padBegin.back();
  p.pb = oneD ? 0 : geo.padEnd[0];
  p.pr = geo.padEnd.back();
  return p;
}

Status maxPoolGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (!ctx.wants(0)) return Status::ok();
  ASSIGN_OR_RETURN(Pool2d p, poolGeometry(ctx));
  const TensorData g = ctx.outputGrad(0);
  TensorData dx = floatZeros(ctx.input(0).shape());
  const float* x = ctx.input(0).data<float>();
  const float* gp = g.data<float>();
  float* d = dx.data<float>();
  const int64_t inPlane = p.height * p.width, outPlane = p.outH * p.outW;
#pragma omp parallel for num_threads(ctx.threads) schedule(static) if (p.planes > 16 && ctx.threads > 1)
  for (int64_t plane = 0; plane < p.planes; ++plane)
    for (int64_t oy = 0; oy < p.outH; ++oy)
      for (int64_t ox = 0; ox < p.outW; ++ox) {
        int64_t best = -1;
        float bestValue = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < p.kh; ++i) {
          const int64_t iy = oy * p.sh - p.pt + i * p.dh;
          if (iy < 0 || iy >= p.height) continue;
          for (int64_t j = 0; j < p.kw; ++j) {
            const int64_t ix = ox * p.sw - p.pl + j * p.dw;
            if (ix < 0 || ix >= p.width) continue;
            const float v = x[plane * inPlane + iy * p.width + ix];
            if (best < 0 || v > bestValue) {
              best = iy * p.width + ix;
              bestValue = v;
            }
          }
        }
        if (best >= 0) d[plane * inPlane + best] += gp[plane * outPlane + oy * p.outW + ox];
      }
  ctx.inputGrads[0] = std::move(dx);
  return Status::ok();
}

Status averagePoolGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (!ctx.wants(0)) return Status::ok();
  ASSIGN_OR_RETURN(Pool2d p, poolGeometry(ctx));
  const bool countPads = ctx.node.intAttr("count_include_pad", 0) != 0;
  const TensorData g = ctx.outputGrad(0);
  TensorData dx = floatZeros(ctx.input(0).shape());
  const float* gp = g.data<float>();
  float* d = dx.data<float>();
  const int64_t inPlane = p.height * p.width, outPlane = p.outH * p.outW;
  for (int64_t plane = 0; plane < p.planes; ++plane)
    for (int64_t oy = 0; oy < p.outH; ++oy)
      for (int64_t ox = 0; ox < p.outW; ++ox) {
        // The window's divisor, as the forward op counts it.
        int64_t count = 0;
        for (int64_t i = 0; i < p.kh; ++i) {
          const int64_t iy = oy * p.sh - p.pt + i * p.dh;
          for (int64_t j = 0; j < p.kw; ++j) {
            const int64_t ix = ox * p.sw - p.pl + j * p.dw;
            const bool inside = iy >= 0 && iy < p.height && ix >= 0 && ix < p.width;
            const bool inPadded = iy >= -p.pt && iy < p.height + p.pb && ix >= -p.pl && ix < p.width + p.pr;
            count += inside || (countPads && inPadded);
          }
        }
        if (count == 0) continue;
        const float share = gp[plane * outPlane + oy * p.outW + ox] / static_cast<float>(count);
        for (int64_t i = 0; i < p.kh; ++i) {
          const int64_t iy = oy * p.sh - p.pt + i * p.dh;
          if (iy < 0 || iy >= p.height) continue;
          for (int64_t j = 0; j < p.kw; ++j) {
            const int64_t ix = ox * p.sw - p.pl + j * p.dw;
            if (ix >= 0 && ix < p.width) d[plane * inPlane + iy * p.width + ix] += share;
          }
        }
      }
  ctx.inputGrads[0] = std::move(dx);
  return Status::ok();
}

Status globalAveragePoolGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (!ctx.wants(0)) return Status::ok();
  const TensorData& x = ctx.input(0);
  const int64_t planes = x.dim(0) * x.dim(1), plane = x.numElements() / std::max<int64_t>(1, planes);
  const TensorData g = ctx.outputGrad(0);
  const float* gp = g.data<float>();
  ctx.inputGrads[0] = floatFilled(x.shape(), [&](int64_t i) { return gp[i / plane] / static_cast<float>(plane); });
  return Status::ok();
}

// The reduced axes of ReduceMean/ReduceSum: attribute `axes` (ReduceSum before 13,
// ReduceMean before 18) or input 1; none means all axes unless noop_with_empty_axes.
Expected<std::vector<int64_t>> reducedAxes(const GradientContext& ctx, bool axesAsInput) {
  std::vector<int64_t> axes;
  if (axesAsInput) {
    if (ctx.hasInput(1)) axes = ctx.input(1).toInt64Vector();
  } else {
    axes = ctx.node.intsAttr("axes");
  }
  const int64_t rank = ctx.input(0).rank();
  if (axes.empty() && !(axesAsInput && ctx.node.intAttr("noop_with_empty_axes", 0)))
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  for (int64_t& a : axes) a = normalizeAxis(a, rank);
  return axes;
}

Status reduceGrad(GradientContext& ctx, bool mean, bool axesAsInput) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (!ctx.wants(0)) return Status::ok();
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, reducedAxes(ctx, axesAsInput));
  const Shape& inShape = ctx.input(0).shape();
  Shape kept = inShape;
  int64_t count = 1;
  for (int64_t a : axes) {
    count *= inShape[static_cast<size_t>(a)];
    kept[static_cast<size_t>(a)] = 1;
  }
  TensorData g = broadcastTo(ctx.outputGrad(0).reshaped(kept), inShape);
  if (mean) {
    if (g.shape() == kept) g = g.clone();
    for (float& v : g.mutableSpan<float>()) v /= static_cast<float>(count);
  }
  ctx.inputGrads[0] = std::move(g);
  return Status::ok();
}

Status reduceMeanGrad(GradientContext& ctx) { return reduceGrad(ctx, true, ctx.opset >= 18); }
Status reduceSumGrad(GradientContext& ctx) { return reduceGrad(ctx, false, ctx.opset >= 13); }

}  // namespace

std::vector<GradientEntry> poolGradients() {
  return {
      {"MaxPool", maxPoolGrad, {0}},
      {"AveragePool", averagePoolGrad, {0}},
      {"GlobalAveragePool", globalAveragePoolGrad, {0}},
      {"ReduceMean", reduceMeanGrad, {0}},
      {"ReduceSum", reduceSumGrad, {0}},
  };
}

}  // namespace onnxpress::train::gradients
