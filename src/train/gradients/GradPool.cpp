// Backward of pooling and reductions.
//
//   MaxPool            the gradient goes to the window's first maximum (recomputed from x)
//   AveragePool        g / window size (count_include_pad decides whether pads count)
//   GlobalAveragePool  g / (H·W) to every position
//   ReduceMean/Sum     g broadcast back over the reduced axes (/ count for the mean)
#include <limits>

#include "Families.h"
#include "GradUtil.h"

namespace onnxpress::train::gradients {
namespace {

// Pools over 1-D or 2-D windows, as the 2-D case (height 1 for 1-D).
struct Pool2d : Window2d {
  int64_t planes;
};

Expected<Pool2d> poolGeometry(const GradientContext& ctx) {
  const WindowAttrs attrs = WindowAttrs::read(ctx.node);
  ASSIGN_OR_RETURN(Window2d window, resolveWindow2d(ctx, attrs, attrs.kernel, "pooling"));
  return Pool2d{window, ctx.input(0).dim(0) * ctx.input(0).dim(1)};
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
          const int64_t iy = oy * p.strideH - p.padTop + i * p.dilH;
          if (iy < 0 || iy >= p.height) continue;
          for (int64_t j = 0; j < p.kw; ++j) {
            const int64_t ix = ox * p.strideW - p.padLeft + j * p.dilW;
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
          const int64_t iy = oy * p.strideH - p.padTop + i * p.dilH;
          for (int64_t j = 0; j < p.kw; ++j) {
            const int64_t ix = ox * p.strideW - p.padLeft + j * p.dilW;
            const bool inside = iy >= 0 && iy < p.height && ix >= 0 && ix < p.width;
            const bool inPadded = iy >= -p.padTop && iy < p.height + p.padBottom && ix >= -p.padLeft && ix < p.width + p.padRight;
            count += inside || (countPads && inPadded);
          }
        }
        if (count == 0) continue;
        const float share = gp[plane * outPlane + oy * p.outW + ox] / static_cast<float>(count);
        for (int64_t i = 0; i < p.kh; ++i) {
          const int64_t iy = oy * p.strideH - p.padTop + i * p.dilH;
          if (iy < 0 || iy >= p.height) continue;
          for (int64_t j = 0; j < p.kw; ++j) {
            const int64_t ix = ox * p.strideW - p.padLeft + j * p.dilW;
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
