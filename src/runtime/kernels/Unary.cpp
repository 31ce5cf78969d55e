// Unary elementwise kernels: math (Abs .. Atanh, IsNaN, IsInf, Not, BitwiseNot)
// and activations (Relu .. Gelu, Shrink, Clip, PRelu; com.microsoft Gelu,
// FastGelu, BiasGelu, QuickGelu). float16/bfloat16 inputs reach these kernels
// widened to float32 (HalfPrecisionFallback).
#include "ElementwiseCommon.h"

namespace onnxpress::runtime {
namespace {
using namespace elementwise;

Expected<KernelFn> makeAbs(const KernelBuildContext&) {
  return unary<ComputeNumericTypes>([](auto v) {
    using C = decltype(v);
    if constexpr (std::is_unsigned_v<C>) return v;
    else if constexpr (std::is_floating_point_v<C>) return std::abs(v);
    else return isNeg(v) ? negate(v) : v;
  });
}
Expected<KernelFn> makeNeg(const KernelBuildContext&) {
  return unary<SignedTypes>([](auto v) { return negate(v); });
}
Expected<KernelFn> makeSign(const KernelBuildContext&) {
  return unary<ComputeNumericTypes>([](auto v) {
    using C = decltype(v);
    if (v > C(0)) return C(1);
    if (isNeg(v)) return static_cast<C>(negate(C(1)));
    return v;  // 0 (and NaN) stay
  });
}
Expected<KernelFn> makeReciprocal(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return decltype(v)(1) / v; });
}
Expected<KernelFn> makeSqrt(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::sqrt(v); });
}
Expected<KernelFn> makeExp(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::exp(v); });
}
Expected<KernelFn> makeLog(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::log(v); });
}
Expected<KernelFn> makeErf(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::erf(v); });
}
Expected<KernelFn> makeFloor(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::floor(v); });
}
Expected<KernelFn> makeCeil(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::ceil(v); });
}
Expected<KernelFn> makeRound(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::nearbyint(v); });  // default mode: half to even
}
Expected<KernelFn> makeSin(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::sin(v); });
}
Expected<KernelFn> makeCos(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::cos(v); });
}
Expected<KernelFn> makeTan(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::tan(v); });
}
Expected<KernelFn> makeAsin(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::asin(v); });
}
Expected<KernelFn> makeAcos(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::acos(v); });
}
Expected<KernelFn> makeAtan(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::atan(v); });
}
Expected<KernelFn> makeSinh(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::sinh(v); });
}
Expected<KernelFn> makeCosh(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::cosh(v); });
}
Expected<KernelFn> makeAsinh(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::asinh(v); });
}
Expected<KernelFn> makeAcosh(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::acosh(v); });
}
Expected<KernelFn> makeAtanh(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::atanh(v); });
}
Expected<KernelFn> makeIsNaN(const KernelBuildContext&) {
  return unaryToBool<ComputeFloatTypes>([](auto v) { return std::isnan(v); });
}
Expected<KernelFn> makeIsInf(const KernelBuildContext& b) {
  const bool neg = b.node.intAttr("detect_negative", 1) != 0;
  const bool pos = b.node.intAttr("detect_positive", 1) != 0;
  return unaryToBool<ComputeFloatTypes>([neg, pos](auto v) { return std::isinf(v) && (v > 0 ? pos : neg); });
}
Expected<KernelFn> makeBitwiseNot(const KernelBuildContext&) {
  return unary<IntTypes>([](auto v) { return static_cast<decltype(v)>(~v); });
}
Expected<KernelFn> makeNot(const KernelBuildContext&) {
  return unary<BoolType>([](bool v) { return !v; });
}

// ---- activations -------------------------------------------------------------------------

Expected<KernelFn> makeRelu(const KernelBuildContext&) {
  return unary<ComputeNumericTypes>([](auto v) { return isNeg(v) ? decltype(v)(0) : v; });
}
Expected<KernelFn> makeLeakyRelu(const KernelBuildContext& b) {
  const float alpha = b.node.floatAttr("alpha", 0.01f);
  return unaryFloat([alpha](auto v) {
    using C = decltype(v);
    return v < C(0) ? C(alpha) * v : v;
  });
}
Expected<KernelFn> makeElu(const KernelBuildContext& b) {
  const float alpha = b.node.floatAttr("alpha", 1.f);
  return unaryFloat([alpha](auto v) {
    using C = decltype(v);
    return v < C(0) ? C(alpha) * (std::exp(v) - C(1)) : v;
  });
}
Expected<KernelFn> makeSelu(const KernelBuildContext& b) {
  const float alpha = b.node.floatAttr("alpha", 1.67326319217681884765625f);
  const float gamma = b.node.floatAttr("gamma", 1.05070102214813232421875f);
  return unaryFloat([alpha, gamma](auto v) {
    using C = decltype(v);
    return v > C(0) ? C(gamma) * v : C(gamma) * (C(alpha) * std::exp(v) - C(alpha));
  });
}
Expected<KernelFn> makeCelu(const KernelBuildContext& b) {
  const float alpha = b.node.floatAttr("alpha", 1.f);
  if (alpha == 0.f) return buildError(b, "Celu alpha must not be 0");
  return unaryFloat([alpha](auto v) {
    using C = decltype(v);
    const C a = C(alpha);
    return std::max(C(0), v) + std::min(C(0), a * (std::exp(v / a) - C(1)));
  });
}
template <typename C>
inline C sigmoid(C v) {
  if (v >= C(0)) return C(1) / (C(1) + std::exp(-v));
  const C e = std::exp(v);
  return e / (C(1) + e);
}
Expected<KernelFn> makeSigmoid(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return sigmoid(v); });
}
Expected<KernelFn> makeHardSigmoid(const KernelBuildContext& b) {
  const float alpha = b.node.floatAttr("alpha", 0.2f), beta = b.node.floatAttr("beta", 0.5f);
  return unaryFloat([alpha, beta](auto v) {
    using C = decltype(v);
    return std::max(C(0), std::min(C(1), C(alpha) * v + C(beta)));
  });
}
Expected<KernelFn> makeHardSwish(const KernelBuildContext&) {
  return unaryFloat([](auto v) {
    using C = decltype(v);
    return v * std::max(C(0), std::min(C(1), v / C(6) + C(0.5)));
  });
}
Expected<KernelFn> makeTanh(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return std::tanh(v); });
}
template <typename C>
inline C softplus(C v) {
  return v > C(0) ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
}
Expected<KernelFn> makeSoftplus(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return softplus(v); });
}
Expected<KernelFn> makeSoftsign(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return v / (decltype(v)(1) + std::abs(v)); });
}
Expected<KernelFn> makeThresholdedRelu(const KernelBuildContext& b) {
  const float alpha = b.node.floatAttr("alpha", 1.f);
  return unaryFloat([alpha](auto v) {
    using C = decltype(v);
    return v > C(alpha) ? v : C(0);
  });
}
Expected<KernelFn> makeMish(const KernelBuildContext&) {
  return unaryFloat([](auto v) { return v * std::tanh(softplus(v)); });
}
template <typename C>
inline C geluErf(C v) {
  return C(0.5) * v * (C(1) + std::erf(v * C(0.70710678118654752440)));
}
template <typename C>
inline C geluTanh(C v) {
  return C(0.5) * v * (C(1) + std::tanh(C(0.79788456080286535588) * (v + C(0.044715) * v * v * v)));
}
Expected<KernelFn> makeGelu(const KernelBuildContext& b) {
  const std::string approx = b.node.stringAttr("approximate", "none");
  if (approx == "tanh") return unaryFloat([](auto v) { return geluTanh(v); });
  if (approx != "none") return buildError(b, "unsupported Gelu approximate '{}'", approx);
  return unaryFloat([](auto v) { return geluErf(v); });
}
Expected<KernelFn> makeShrink(const KernelBuildContext& b) {
  const float lambd = b.node.floatAttr("lambd", 0.5f), bias = b.node.floatAttr("bias", 0.f);
  return unary<ComputeNumericTypes>([lambd, bias](auto v) {
    using C = decltype(v);
    using W = std::conditional_t<std::is_same_v<C, double>, double, float>;
    const W w = static_cast<W>(v);
    if (w < -W(lambd)) return static_cast<C>(w + W(bias));
    if (w > W(lambd)) return static_cast<C>(w - W(bias));
    return C(0);
  });
}

// com.microsoft QuickGelu: x * sigmoid(alpha * x).
Expected<KernelFn> makeQuickGelu(const KernelBuildContext& b) {
  const float alpha = b.node.floatAttr("alpha", 1.702f);
  return unaryFloat([alpha](auto v) {
    using C = decltype(v);
    return v * sigmoid(C(alpha) * v);
  });
}

// Gelu of (x + optional bias), bias broadcast (com.microsoft BiasGelu, FastGelu).
template <bool kTanh>
Expected<KernelFn> makeBiasGelu(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    auto g = [](auto v) {
      if constexpr (kTanh) return geluTanh(v);
      else return geluErf(v);
    };
    if (!ctx.hasInput(1)) {
      TensorData y = TensorData::allocate(x.dtype(), x.shape());
      const bool ok = dispatch<ComputeFloatTypes>(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        parallelFor(x.numElements(), ctx.threads, [&](int64_t s, int64_t e) {
          for (int64_t i = s; i < e; ++i) py[i] = static_cast<T>(g(static_cast<Calc<T>>(px[i])));
        });
      });
      if (!ok) return unsupportedType(ctx, x.dtype());
      ctx.outputs[0] = std::move(y);
      return Status::ok();
    }
    const TensorData& bias = ctx.input(1);
    if (bias.dtype() != x.dtype()) return kernelError(ctx, "bias type differs from input type");
    ASSIGN_OR_RETURN(Shape shape, broadcastShapes(x.shape(), bias.shape(), ctx.where()));
    TensorData y = TensorData::allocate(x.dtype(), std::move(shape));
    const bool ok = dispatch<ComputeFloatTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C = Calc<T>;
      broadcastBinary<T, T, T>(x, bias, y, ctx.threads,
                               [&](T a, T c) { return static_cast<T>(g(static_cast<C>(a) + static_cast<C>(c))); });
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makePRelu(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    TensorData slope = ctx.input(1);
    if (slope.dtype() != x.dtype()) return kernelError(ctx, "slope type differs from input type");
    // Legacy exporters give a per-channel slope [C] that does not numpy-broadcast: apply it on axis 1.
    if (slope.rank() == 1 && x.rank() > 2 && slope.dim(0) == x.dim(1) && slope.dim(0) != x.dim(-1)) {
      Shape channel(static_cast<size_t>(x.rank() - 1), 1);
      channel[0] = slope.dim(0);
      slope = slope.reshaped(channel);
    }
    ASSIGN_OR_RETURN(Shape shape, broadcastShapes(x.shape(), slope.shape(), ctx.where()));
    TensorData y = TensorData::allocate(x.dtype(), std::move(shape));
    const bool ok = dispatch<ComputeNumericTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C = Calc<T>;
      broadcastBinary<T, T, T>(x, slope, y, ctx.threads, [](T a, T s) {
        const C v = static_cast<C>(a);
        return isNeg(v) ? static_cast<T>(static_cast<C>(s) * v) : a;
      });
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// Clip: min/max attributes before opset 11, optional scalar inputs from 11.
template <typename T>
void clipTyped(const TensorData& x, TensorData& y, Calc<T> lo, Calc<T> hi, int threads) {
  const T* px = x.data<T>();
  T* py = y.data<T>();
  parallelFor(x.numElements(), threads, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) py[i] = static_cast<T>(std::min(std::max(static_cast<Calc<T>>(px[i]), lo), hi));
  });
}

template <typename C>
constexpr C lowestOf() {
  if constexpr (std::numeric_limits<C>::has_infinity) return -std::numeric_limits<C>::infinity();
  else return std::numeric_limits<C>::lowest();
}
template <typename C>
constexpr C highestOf() {
  if constexpr (std::numeric_limits<C>::has_infinity) return std::numeric_limits<C>::infinity();
  else return std::numeric_limits<C>::max();
}

Expected<KernelFn> makeClip(const KernelBuildContext& b) {
  if (b.opset < 11) {
    const Attribute* amin = b.node.attribute("min");
    const Attribute* amax = b.node.attribute("max");
    const float lo = amin ? amin->f : -std::numeric_limits<float>::infinity();
    const float hi = amax ? amax->f : std::numeric_limits<float>::infinity();
    return KernelFn([lo, hi](KernelContext& ctx) -> Status {
      const TensorData& x = ctx.input(0);
      TensorData y = TensorData::allocate(x.dtype(), x.shape());
      const bool ok = dispatch<ComputeFloatTypes>(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        using C = Calc<T>;
        clipTyped<T>(x, y, static_cast<C>(lo), static_cast<C>(hi), ctx.threads);
      });
      if (!ok) return unsupportedType(ctx, x.dtype());
      ctx.outputs[0] = std::move(y);
      return Status::ok();
    });
  }
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    for (size_t i = 1; i < 3; ++i)
      if (ctx.hasInput(i)) {
        if (ctx.input(i).dtype() != x.dtype()) return kernelError(ctx, "min/max type differs from input type");
        if (ctx.input(i).numElements() != 1) return kernelError(ctx, "min/max must be scalars");
      }
    TensorData y = TensorData::allocate(x.dtype(), x.shape());
    const bool ok = dispatch<ComputeNumericTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C = Calc<T>;
      const C lo = ctx.hasInput(1) ? static_cast<C>(ctx.input(1).data<T>()[0]) : lowestOf<C>();
      const C hi = ctx.hasInput(2) ? static_cast<C>(ctx.input(2).data<T>()[0]) : highestOf<C>();
      clipTyped<T>(x, y, lo, hi, ctx.threads);
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> unaryKernels() {
  return {
      {"", "Abs", makeAbs},
      {"", "Neg", makeNeg},
      {"", "Sign", makeSign},
      {"", "Reciprocal", makeReciprocal},
      {"", "Sqrt", makeSqrt},
      {"", "Exp", makeExp},
      {"", "Log", makeLog},
      {"", "Erf", makeErf},
      {"", "Floor", makeFloor},
      {"", "Ceil", makeCeil},
      {"", "Round", makeRound},
      {"", "Sin", makeSin},
      {"", "Cos", makeCos},
      {"", "Tan", makeTan},
      {"", "Asin", makeAsin},
      {"", "Acos", makeAcos},
      {"", "Atan", makeAtan},
      {"", "Sinh", makeSinh},
      {"", "Cosh", makeCosh},
      {"", "Asinh", makeAsinh},
      {"", "Acosh", makeAcosh},
      {"", "Atanh", makeAtanh},
      {"", "IsNaN", makeIsNaN},
      {"", "IsInf", makeIsInf},
      {"", "BitwiseNot", makeBitwiseNot},
      {"", "Not", makeNot},
      {"", "Relu", makeRelu},
      {"", "LeakyRelu", makeLeakyRelu},
      {"", "PRelu", makePRelu},
      {"", "Elu", makeElu},
      {"", "Selu", makeSelu},
      {"", "Celu", makeCelu},
      {"", "Sigmoid", makeSigmoid},
      {"", "HardSigmoid", makeHardSigmoid},
      {"", "HardSwish", makeHardSwish},
      {"", "Tanh", makeTanh},
      {"", "Softplus", makeSoftplus},
      {"", "Softsign", makeSoftsign},
      {"", "ThresholdedRelu", makeThresholdedRelu},
      {"", "Mish", makeMish},
      {"", "Gelu", makeGelu},
      {"", "Shrink", makeShrink},
      {"", "Clip", makeClip},
      {"com.microsoft", "Gelu", makeGelu},
      {"com.microsoft", "FastGelu", makeBiasGelu<true>},
      {"com.microsoft", "BiasGelu", makeBiasGelu<false>},
      {"com.microsoft", "QuickGelu", makeQuickGelu},
  };
}

}  // namespace onnxpress::runtime
