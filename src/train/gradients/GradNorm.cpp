// Backward of normalizations and softmax.
//
//   BatchNormalization (inference statistics)  x̂ = (x-μ)/√(σ²+ε), y = γx̂ + β:
//       dx = g γ/√(σ²+ε), dγ = Σ g x̂, dβ = Σ g             (μ, σ² are constants)
//   LayerNormalization over the trailing axes from `axis`, per row of n values:
//       dx = (γg - mean(γg) - x̂ mean(γg x̂)) / √(σ²+ε)
//   InstanceNormalization: the same per (image, channel) plane, with γ, β per channel
//   Softmax   dx = y (g - Σ g y);   LogSoftmax  dx = g - eᵞ Σ g   (over the softmax axis;
//   before opset 13 over all axes from `axis`, the 2-D coercion of the old spec)
#include <cmath>

#include "Families.h"
#include "GradUtil.h"

namespace onnxpress::train::gradients {
namespace {

Status batchNormGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (ctx.node.intAttr("training_mode", 0) != 0)
    return invalidInput("{}: training_mode=1 BatchNormalization has no gradient here (inference statistics only)", ctx.where());
  const float epsilon = ctx.node.floatAttr("epsilon", 1e-5f);
  const TensorData& x = ctx.input(0);
  const int64_t batch = x.dim(0), channels = x.rank() > 1 ? x.dim(1) : 1;
  const int64_t plane = x.numElements() / std::max<int64_t>(1, batch * channels);
  const float *scale = ctx.input(1).data<float>(), *mean = ctx.input(3).data<float>(), *var = ctx.input(4).data<float>();
  const TensorData g = ctx.outputGrad(0);
  const float *gp = g.data<float>(), *xp = x.data<float>();
  std::vector<float> invStd(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) invStd[static_cast<size_t>(c)] = 1 / std::sqrt(var[c] + epsilon);
  if (ctx.wants(0))
    ctx.inputGrads[0] = floatFilled(x.shape(), [&](int64_t i) {
      const int64_t c = (i / plane) % channels;
      return gp[i] * scale[c] * invStd[static_cast<size_t>(c)];
    });
  if (ctx.wants(1) || ctx.wants(2)) {
    std::vector<double> dScale(static_cast<size_t>(channels), 0), dBias(static_cast<size_t>(channels), 0);
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t base = (n * channels + c) * plane;
        for (int64_t k = 0; k < plane; ++k) {
          dScale[static_cast<size_t>(c)] += gp[base + k] * (xp[base + k] - mean[c]) * invStd[static_cast<size_t>(c)];
          dBias[static_cast<size_t>(c)] += gp[base + k];
        }
      }
    if (ctx.wants(1)) ctx.inputGrads[1] = floatFilled({channels}, [&](int64_t c) { return static_cast<float>(dScale[static_cast<size_t>(c)]); });
    if (ctx.wants(2)) ctx.inputGrads[2] = floatFilled({channels}, [&](int64_t c) { return static_cast<float>(dBias[static_cast<size_t>(c)]); });
  }
  return Status::ok();
}

// Rows of `n` normalized values; `paramIndex(row, k)` maps to the scale/bias element.
template <typename ParamIndex>
void normalizeRowsBackward(GradientContext& ctx, int64_t rows, int64_t n, float epsilon, ParamIndex paramIndex,
                           const Shape& paramShape) {
  const TensorData& x = ctx.input(0);
  const TensorData g = ctx.outputGrad(0);
  const float *xp = x.data<float>(), *gp = g.data<float>(), *scale = ctx.input(1).data<float>();
  TensorData dx = ctx.wants(0) ? TensorData::allocate(DataType::Float, x.shape()) : TensorData();
  std::vector<double> dScale(static_cast<size_t>(elementCount(paramShape)), 0), dBias(dScale.size(), 0);
  std::vector<float> xhat(static_cast<size_t>(n)), gs(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = xp + r * n;
    const float* gr = gp + r * n;
    double mean = 0, var = 0;
    for (int64_t k = 0; k < n; ++k) mean += xr[k];
    mean /= static_cast<double>(n);
    for (int64_t k = 0; k < n; ++k) var += (xr[k] - mean) * (xr[k] - mean);
    var /= static_cast<double>(n);
    const double invStd = 1 / std::sqrt(var + epsilon);
    double meanGs = 0, meanGsX = 0;
    for (int64_t k = 0; k < n; ++k) {
      const size_t p = static_cast<size_t>(paramIndex(r, k));
      xhat[static_cast<size_t>(k)] = static_cast<float>((xr[k] - mean) * invStd);
      gs[static_cast<size_t>(k)] = gr[k] * scale[p];
      meanGs += gs[static_cast<size_t>(k)];
      meanGsX += gs[static_cast<size_t>(k)] * xhat[static_cast<size_t>(k)];
      dScale[p] += gr[k] * xhat[static_cast<size_t>(k)];
      dBias[p] += gr[k];
    }
    meanGs /= static_cast<double>(n);
    meanGsX /= static_cast<double>(n);
    if (ctx.wants(0))
      for (int64_t k = 0; k < n; ++k)
        dx.data<float>()[r * n + k] =
            static_cast<float>((gs[static_cast<size_t>(k)] - meanGs - xhat[static_cast<size_t>(k)] * meanGsX) * invStd);
  }
  if (ctx.wants(0)) ctx.inputGrads[0] = std::move(dx);
  if (ctx.wants(1)) ctx.inputGrads[1] = floatFilled(paramShape, [&](int64_t i) { return static_cast<float>(dScale[static_cast<size_t>(i)]); });
  if (ctx.wants(2) && ctx.hasInput(2))
    ctx.inputGrads[2] = floatFilled(paramShape, [&](int64_t i) { return static_cast<float>(dBias[static_cast<size_t>(i)]); });
}

Status layerNormGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  const TensorData& x = ctx.input(0);
  const int64_t axis = normalizeAxis(ctx.node.intAttr("axis", -1), x.rank());
  const int64_t n = elementCount(x.shape(), static_cast<size_t>(axis), x.shape().size());
  const int64_t rows = x.numElements() / std::max<int64_t>(1, n);
  if (ctx.input(1).numElements() != n)
    return invalidInput("{}: gradients need a scale of the full normalized shape", ctx.where());
  normalizeRowsBackward(ctx, rows, n, ctx.node.floatAttr("epsilon", 1e-5f), [](int64_t, int64_t k) { return k; },
                        ctx.input(1).shape());
  return Status::ok();
}

Status instanceNormGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  const TensorData& x = ctx.input(0);
  const int64_t channels = x.dim(1), rows = x.dim(0) * channels;
  const int64_t n = x.numElements() / std::max<int64_t>(1, rows);
  normalizeRowsBackward(ctx, rows, n, ctx.node.floatAttr("epsilon", 1e-5f),
                        [channels](int64_t r, int64_t) { return r % channels; }, ctx.input(1).shape());
  return Status::ok();
}

// Softmax-family layout: outer x axisLength x inner.
struct SoftmaxLayout {
  int64_t outer, length, inner;
};
SoftmaxLayout softmaxLayout(const GradientContext& ctx) {
  const Shape& shape = ctx.input(0).shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t axis = normalizeAxis(ctx.node.intAttr("axis", ctx.opset >= 13 ? -1 : 1), rank);
  const int64_t outer = elementCount(shape, 0, static_cast<size_t>(axis));
  if (ctx.opset < 13) return {outer, elementCount(shape, static_cast<size_t>(axis), shape.size()), 1};
  return {outer, shape[static_cast<size_t>(axis)], elementCount(shape, static_cast<size_t>(axis) + 1, shape.size())};
}

template <bool Log>
Status softmaxGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (!ctx.wants(0)) return Status::ok();
  const SoftmaxLayout l = softmaxLayout(ctx);
  const TensorData g = ctx.outputGrad(0);
  const float *gp = g.data<float>(), *y = ctx.outputs[0]->data<float>();
  TensorData dx = TensorData::allocate(DataType::Float, ctx.input(0).shape());
  float* d = dx.data<float>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t in = 0; in < l.inner; ++in) {
      const int64_t base = o * l.length * l.inner + in;
      double dot = 0;
      for (int64_t k = 0; k < l.length; ++k) {
        const int64_t i = base + k * l.inner;
        dot += Log ? gp[i] : gp[i] * y[i];
      }
      for (int64_t k = 0; k < l.length; ++k) {
        const int64_t i = base + k * l.inner;
        d[i] = Log ? static_cast<float>(gp[i] - std::exp(y[i]) * dot) : static_cast<float>(y[i] * (gp[i] - dot));
      }
    }
  ctx.inputGrads[0] = std::move(dx);
  return Status::ok();
}

}  // namespace

std::vector<GradientEntry> normalizationGradients() {
  return {
      {"BatchNormalization", batchNormGrad, {0, 1, 2}},
      {"LayerNormalization", layerNormGrad, {0, 1, 2}},
      {"InstanceNormalization", instanceNormGrad, {0, 1, 2}},
      {"Softmax", softmaxGrad<false>, {0}},
      {"LogSoftmax", softmaxGrad<true>, {0}},
  };
}

}  // namespace onnxpress::train::gradients
