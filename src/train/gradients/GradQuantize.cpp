// Backward of QuantizeLinear and DequantizeLinear as fake quantization: the
// straight-through estimator for values and learned step sizes in the LSQ manner
// (Esser et al., 2020). The integer tensor between the two carries a float gradient.
//
//   DQ  y = s (q − z)                 dq = g s,        ds = Σ g (q − z)
//   Q   q = clamp(round(x/s) + z)     dx = g_q / s,    ds = −Σ g_q x / s²     where not clamped
//                                     dx = 0,          ds = 0                 where clamped
// Together (Q then DQ, one scale): dx = g inside the range, and
// ds = Σ g (round(x/s) − x/s) inside it, Σ g (q − z) at the clamped ends: LSQ's gradient.
// Scales are per tensor or per channel (`axis`); blocked scales have no gradient here.
#include <cmath>

#include "Families.h"
#include "GradUtil.h"

namespace onnxpress::train::gradients {
namespace {

// Per element: index of its scale (0 for per-tensor).
struct ScaleLayout {
  int64_t inner = 1, channels = 1;  // element i uses scale (i / inner) % channels
  int64_t at(int64_t i) const { return channels == 1 ? 0 : (i / inner) % channels; }
};

Expected<ScaleLayout> scaleLayout(const GradientContext& ctx, const Shape& shape) {
  const TensorData& scale = ctx.input(1);
  if (ctx.node.intAttr("block_size", 0) != 0)
    return invalidInput("{}: blocked quantization has no gradient here (per-tensor and per-channel do)", ctx.where());
  if (scale.numElements() == 1) return ScaleLayout{};
  const int64_t axis = normalizeAxis(ctx.node.intAttr("axis", 1), static_cast<int64_t>(shape.size()));
  return ScaleLayout{elementCount(shape, static_cast<size_t>(axis) + 1, shape.size()), shape[static_cast<size_t>(axis)]};
}

double zeroPointAt(const GradientContext& ctx, int64_t channel) {
  return ctx.hasInput(2) ? ctx.input(2).doubleAt(ctx.input(2).numElements() == 1 ? 0 : channel) : 0.0;
}

Status dequantizeGrad(GradientContext& ctx) {
  const TensorData g = ctx.outputGrad(0);
  const TensorData& q = ctx.input(0);
  ASSIGN_OR_RETURN(ScaleLayout layout, scaleLayout(ctx, q.shape()));
  const TensorData& scale = ctx.input(1);
  if (scale.dtype() != DataType::Float || g.dtype() != DataType::Float)
    return invalidInput("{}: fake quantization is differentiated with float32 scales only", ctx.where());
  const float* s = scale.data<float>();
  const float* gp = g.data<float>();
  if (ctx.wants(0)) ctx.inputGrads[0] = floatFilled(q.shape(), [&](int64_t i) { return gp[i] * s[layout.at(i)]; });
  if (ctx.wants(1)) {
    std::vector<double> ds(static_cast<size_t>(scale.numElements()), 0);
    const int64_t n = q.numElements();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = layout.at(i);
      ds[static_cast<size_t>(c)] += gp[i] * (q.doubleAt(i) - zeroPointAt(ctx, c));
    }
    ctx.inputGrads[1] = floatFilled(scale.shape(), [&](int64_t c) { return static_cast<float>(ds[static_cast<size_t>(c)]); });
  }
  return Status::ok();
}

Status quantizeGrad(GradientContext& ctx) {
  const TensorData& x = ctx.input(0);
  const TensorData& scale = ctx.input(1);
  if (x.dtype() != DataType::Float || scale.dtype() != DataType::Float)
    return invalidInput("{}: fake quantization is differentiated from float32 only", ctx.where());
  ASSIGN_OR_RETURN(ScaleLayout layout, scaleLayout(ctx, x.shape()));
  const TensorData g = ctx.outputGrad(0);
  // The integer range of the quantized type (the zero point's, else the output's).
  int64_t lo = 0, hi = 0;
  if (!integerRange(ctx.hasInput(2) ? ctx.input(2).dtype() : ctx.outputs[0]->dtype(), lo, hi))
    return invalidInput("{}: fake quantization to a non-integer type has no gradient here", ctx.where());
  const float *xp = x.data<float>(), *s = scale.data<float>(), *gp = g.data<float>();
  const int64_t n = x.numElements();
  // Whether element i is inside the representable range (std::nearbyint: round half to even, as Q does).
  auto inside = [&](int64_t i, int64_t c) {
    const double q = std::nearbyint(static_cast<double>(xp[i]) / s[c]) + zeroPointAt(ctx, c);
    return q >= lo && q <= hi;
  };
  if (ctx.wants(0))
    ctx.inputGrads[0] = floatFilled(x.shape(), [&](int64_t i) {
      const int64_t c = layout.at(i);
      return inside(i, c) ? gp[i] / s[c] : 0.f;
    });
  if (ctx.wants(1)) {
    std::vector<double> ds(static_cast<size_t>(scale.numElements()), 0);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = layout.at(i);
      if (inside(i, c)) ds[static_cast<size_t>(c)] -= gp[i] * xp[i] / (static_cast<double>(s[c]) * s[c]);
    }
    ctx.inputGrads[1] = floatFilled(scale.shape(), [&](int64_t c) { return static_cast<float>(ds[static_cast<size_t>(c)]); });
  }
  return Status::ok();
}

}  // namespace

std::vector<GradientEntry> quantizeGradients() {
  return {
      {"QuantizeLinear", quantizeGrad, {0, 1}},
      {"DequantizeLinear", dequantizeGrad, {0, 1}},
  };
}

}  // namespace onnxpress::train::gradients
