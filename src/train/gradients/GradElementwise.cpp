// Backward of the elementwise ops: activations (dy/dx from x or y), and the
// broadcasting binary arithmetic, whose input gradients are summed back over the
// axes broadcasting stretched.
#include <cmath>
#include <limits>

#include "Families.h"
#include "GradUtil.h"

namespace onnxpress::train::gradients {
namespace {

// dx = g * f(x, y) for an activation y = act(x).
template <typename F>
Status unaryBackward(GradientContext& ctx, F derivative) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (!ctx.wants(0)) return Status::ok();
  const TensorData g = ctx.outputGrad(0);
  const float* x = ctx.input(0).data<float>();
  const float* y = ctx.outputs[0] ? ctx.outputs[0]->data<float>() : nullptr;
  const float* gp = g.data<float>();
  ctx.inputGrads[0] = floatFilled(ctx.input(0).shape(), [&](int64_t i) { return gp[i] * derivative(x[i], y ? y[i] : 0.f); });
  return Status::ok();
}

Status reluGrad(GradientContext& ctx) {
  return unaryBackward(ctx, [](float x, float) { return x > 0 ? 1.f : 0.f; });
}
Status leakyReluGrad(GradientContext& ctx) {
  const float alpha = ctx.node.floatAttr("alpha", 0.01f);
  return unaryBackward(ctx, [alpha](float x, float) { return x > 0 ? 1.f : alpha; });
}
Status eluGrad(GradientContext& ctx) {
  const float alpha = ctx.node.floatAttr("alpha", 1.f);
  return unaryBackward(ctx, [alpha](float x, float y) { return x > 0 ? 1.f : y + alpha; });
}
Status sigmoidGrad(GradientContext& ctx) {
  return unaryBackward(ctx, [](float, float y) { return y * (1 - y); });
}
Status tanhGrad(GradientContext& ctx) {
  return unaryBackward(ctx, [](float, float y) { return 1 - y * y; });
}
Status expGrad(GradientContext& ctx) {
  return unaryBackward(ctx, [](float, float y) { return y; });
}
Status logGrad(GradientContext& ctx) {
  return unaryBackward(ctx, [](float x, float) { return 1 / x; });
}
Status sqrtGrad(GradientContext& ctx) {
  return unaryBackward(ctx, [](float, float y) { return 0.5f / y; });
}
Status negGrad(GradientContext& ctx) {
  return unaryBackward(ctx, [](float, float) { return -1.f; });
}
Status absGrad(GradientContext& ctx) {
  return unaryBackward(ctx, [](float x, float) { return x > 0 ? 1.f : x < 0 ? -1.f : 0.f; });
}
Status reciprocalGrad(GradientContext& ctx) {
  return unaryBackward(ctx, [](float, float y) { return -y * y; });
}
Status softplusGrad(GradientContext& ctx) {
  return unaryBackward(ctx, [](float x, float) { return 1 / (1 + std::exp(-x)); });
}
Status erfGrad(GradientContext& ctx) {
  const float k = 2 / std::sqrt(static_cast<float>(M_PI));
  return unaryBackward(ctx, [k](float x, float) { return k * std::exp(-x * x); });
}
Status hardSigmoidGrad(GradientContext& ctx) {
  const float alpha = ctx.node.floatAttr("alpha", 0.2f), beta = ctx.node.floatAttr("beta", 0.5f);
  return unaryBackward(ctx, [=](float x, float) {
    const float t = alpha * x + beta;
    return t > 0 && t < 1 ? alpha : 0.f;
  });
}
Status hardSwishGrad(GradientContext& ctx) {
  // y = x * clamp(x/6 + 1/2, 0, 1)
  return unaryBackward(ctx, [](float x, float) { return x < -3 ? 0.f : x > 3 ? 1.f : x / 3 + 0.5f; });
}
// Gelu (opset 20), exact or tanh approximation.
Status geluGrad(GradientContext& ctx) {
  if (ctx.node.stringAttr("approximate", "none") == "tanh")
    return unaryBackward(ctx, [](float x, float) {
      const float c = std::sqrt(2 / static_cast<float>(M_PI)), u = c * (x + 0.044715f * x * x * x);
      const float t = std::tanh(u);
      return 0.5f * (1 + t) + 0.5f * x * (1 - t * t) * c * (1 + 3 * 0.044715f * x * x);
    });
  return unaryBackward(ctx, [](float x, float) {
    const float cdf = 0.5f * (1 + std::erf(x / std::sqrt(2.f)));
    const float pdf = std::exp(-0.5f * x * x) / std::sqrt(2 * static_cast<float>(M_PI));
    return cdf + x * pdf;
  });
}
Status identityGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (ctx.wants(0)) ctx.inputGrads[0] = ctx.outputGrad(0).reshaped(ctx.input(0).shape());
  return Status::ok();
}

// Cast between float types is the identity for gradients (only float32 is differentiated).
Status castGrad(GradientContext& ctx) {
  if (ctx.wants(0) && ctx.input(0).dtype() != DataType::Float)
    return invalidInput("{}: gradients through a Cast from {} are not supported", ctx.where(), dataTypeName(ctx.input(0).dtype()));
  return identityGrad(ctx);
}

// Clip: bounds from inputs 1, 2 (opset 11+) or attributes min, max.
Status clipGrad(GradientContext& ctx) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (ctx.opset < 11) {
    lo = ctx.node.floatAttr("min", lo);
    hi = ctx.node.floatAttr("max", hi);
  } else {
    if (ctx.hasInput(1)) lo = static_cast<float>(ctx.input(1).doubleAt(0));
    if (ctx.hasInput(2)) hi = static_cast<float>(ctx.input(2).doubleAt(0));
  }
  return unaryBackward(ctx, [lo, hi](float x, float) { return x >= lo && x <= hi ? 1.f : 0.f; });
}

// PRelu: y = x > 0 ? x : slope * x, slope broadcast to x.
Status preluGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  const TensorData g = ctx.outputGrad(0);
  const TensorData slope = broadcastTo(ctx.input(1), ctx.input(0).shape());
  const float *x = ctx.input(0).data<float>(), *s = slope.data<float>(), *gp = g.data<float>();
  if (ctx.wants(0)) ctx.inputGrads[0] = floatFilled(g.shape(), [&](int64_t i) { return x[i] > 0 ? gp[i] : gp[i] * s[i]; });
  if (ctx.wants(1)) {
    const TensorData full = floatFilled(g.shape(), [&](int64_t i) { return x[i] > 0 ? 0.f : gp[i] * x[i]; });
    ctx.inputGrads[1] = sumToShape(full, ctx.input(1).shape());
  }
  return Status::ok();
}

// Binary arithmetic: each input's gradient is computed at the output's shape, then
// summed back to the input's shape.
template <typename DA, typename DB>
Status binaryBackward(GradientContext& ctx, DA da, DB db) {
  RETURN_IF_ERROR(requireFloat(ctx));
  const TensorData g = ctx.outputGrad(0);
  const Shape& shape = g.shape();
  const TensorData a = broadcastTo(ctx.input(0), shape), b = broadcastTo(ctx.input(1), shape);
  const float *ap = a.data<float>(), *bp = b.data<float>(), *gp = g.data<float>();
  const float* y = ctx.outputs[0] ? ctx.outputs[0]->data<float>() : nullptr;
  if (ctx.wants(0))
    ctx.inputGrads[0] = sumToShape(floatFilled(shape, [&](int64_t i) { return gp[i] * da(ap[i], bp[i], y ? y[i] : 0.f); }),
                                   ctx.input(0).shape());
  if (ctx.wants(1))
    ctx.inputGrads[1] = sumToShape(floatFilled(shape, [&](int64_t i) { return gp[i] * db(ap[i], bp[i], y ? y[i] : 0.f); }),
                                   ctx.input(1).shape());
  return Status::ok();
}

Status addGrad(GradientContext& ctx) {
  return binaryBackward(ctx, [](float, float, float) { return 1.f; }, [](float, float, float) { return 1.f; });
}
Status subGrad(GradientContext& ctx) {
  return binaryBackward(ctx, [](float, float, float) { return 1.f; }, [](float, float, float) { return -1.f; });
}
Status mulGrad(GradientContext& ctx) {
  return binaryBackward(ctx, [](float, float b, float) { return b; }, [](float a, float, float) { return a; });
}
Status divGrad(GradientContext& ctx) {
  return binaryBackward(ctx, [](float, float b, float) { return 1 / b; }, [](float a, float b, float) { return -a / (b * b); });
}
Status powGrad(GradientContext& ctx) {
  return binaryBackward(
      ctx, [](float a, float b, float) { return b * std::pow(a, b - 1); },
      [](float a, float, float y) { return a > 0 ? y * std::log(a) : 0.f; });
}

// Sum: every input receives the output gradient, summed to its shape.
Status sumGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  const TensorData g = ctx.outputGrad(0);
  for (size_t i = 0; i < ctx.inputs.size(); ++i)
    if (ctx.wants(i)) ctx.inputGrads[i] = sumToShape(g, ctx.input(i).shape());
  return Status::ok();
}

// Where(cond, x, y): the gradient goes to x where cond holds, to y elsewhere.
Status whereGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  const TensorData g = ctx.outputGrad(0);
  const Shape& shape = g.shape();
  const TensorData& condition = ctx.input(0);
  if (condition.dtype() != DataType::Bool) return invalidInput("{}: condition must be bool", ctx.where());
  // Broadcast the condition through a float copy.
  const TensorData asFloat = floatFilled(condition.shape(), [&](int64_t i) { return condition.data<bool>()[i] ? 1.f : 0.f; });
  const TensorData c = broadcastTo(asFloat, shape);
  const float *cp = c.data<float>(), *gp = g.data<float>();
  if (ctx.wants(1)) ctx.inputGrads[1] = sumToShape(floatFilled(shape, [&](int64_t i) { return gp[i] * cp[i]; }), ctx.input(1).shape());
  if (ctx.wants(2))
    ctx.inputGrads[2] = sumToShape(floatFilled(shape, [&](int64_t i) { return gp[i] * (1 - cp[i]); }), ctx.input(2).shape());
  return Status::ok();
}

}  // namespace

std::vector<GradientEntry> elementwiseGradients() {
  return {
      {"Relu", reluGrad, {0}},
      {"LeakyRelu", leakyReluGrad, {0}},
      {"Elu", eluGrad, {0}},
      {"PRelu", preluGrad, {0, 1}},
      {"Sigmoid", sigmoidGrad, {0}},
      {"Tanh", tanhGrad, {0}},
      {"Exp", expGrad, {0}},
      {"Log", logGrad, {0}},
      {"Sqrt", sqrtGrad, {0}},
      {"Neg", negGrad, {0}},
      {"Abs", absGrad, {0}},
      {"Reciprocal", reciprocalGrad, {0}},
      {"Softplus", softplusGrad, {0}},
      {"Erf", erfGrad, {0}},
      {"HardSigmoid", hardSigmoidGrad, {0}},
      {"HardSwish", hardSwishGrad, {0}},
      {"Gelu", geluGrad, {0}},
      {"Clip", clipGrad, {0}},
      {"Identity", identityGrad, {0}},
      {"Cast", castGrad, {0}},
      {"Dropout", identityGrad, {0}},  // inference: the identity (mask output carries nothing)
      {"Add", addGrad, {0, 1}},
      {"Sub", subGrad, {0, 1}},
      {"Mul", mulGrad, {0, 1}},
      {"Div", divGrad, {0, 1}},
      {"Pow", powGrad, {0, 1}},
      {"Sum", sumGrad, {}},
      {"Where", whereGrad, {1, 2}},
  };
}

}  // namespace onnxpress::train::gradients
