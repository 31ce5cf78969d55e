// Binary and variadic elementwise kernels with numpy broadcasting: Add Sub Mul
// Div Pow Mod BitShift Bitwise*, comparisons (Equal Less Greater LessOrEqual
// GreaterOrEqual), logic (And Or Xor), and Max Min Sum Mean over 1..N inputs.
#include "ElementwiseCommon.h"

namespace onnxpress::runtime {
namespace {
using namespace elementwise;

Expected<KernelFn> makeAdd(const KernelBuildContext&) {
  return binary<ComputeNumericTypes>([](auto x, auto y) { return x + y; });
}
Expected<KernelFn> makeSub(const KernelBuildContext&) {
  return binary<ComputeNumericTypes>([](auto x, auto y) { return x - y; });
}
Expected<KernelFn> makeMul(const KernelBuildContext&) {
  return binary<ComputeNumericTypes>([](auto x, auto y) { return x * y; });
}
Expected<KernelFn> makeDiv(const KernelBuildContext&) {
  return binary<ComputeNumericTypes>([](auto x, auto y) {
    using C = decltype(x);
    if constexpr (std::is_integral_v<C>) {
      if (y == C(0)) return C(0);  // numpy gives 0; C would trap
      if constexpr (std::is_signed_v<C>)
        if (y == C(-1)) return negate(x);
      return static_cast<C>(x / y);  // truncates toward zero
    } else {
      return x / y;
    }
  });
}
Expected<KernelFn> makeMod(const KernelBuildContext& b) {
  const bool fmod = b.node.intAttr("fmod", 0) != 0;
  return binary<ComputeNumericTypes>([fmod](auto x, auto y) {
    using C = decltype(x);
    if constexpr (std::is_floating_point_v<C>) {
      C r = std::fmod(x, y);
      if (!fmod && r != C(0) && ((r < C(0)) != (y < C(0)))) r += y;  // Python sign rule
      return r;
    } else if constexpr (std::is_signed_v<C>) {
      if (y == C(0) || y == C(-1)) return C(0);
      C r = static_cast<C>(x % y);
      if (!fmod && r != C(0) && ((r < C(0)) != (y < C(0)))) r = static_cast<C>(r + y);
      return r;
    } else {
      if (y == C(0)) return C(0);
      return static_cast<C>(x % y);
    }
  });
}
Expected<KernelFn> makeBitShift(const KernelBuildContext& b) {
  const std::string dir = b.node.stringAttr("direction", "");
  if (dir == "LEFT")
    return binary<UnsignedTypes>([](auto x, auto y) {
      using C = decltype(x);
      return y >= C(sizeof(C) * 8) ? C(0) : static_cast<C>(x << y);
    });
  if (dir == "RIGHT")
    return binary<UnsignedTypes>([](auto x, auto y) {
      using C = decltype(x);
      return y >= C(sizeof(C) * 8) ? C(0) : static_cast<C>(x >> y);
    });
  return buildError(b, "BitShift direction must be LEFT or RIGHT, got '{}'", dir);
}
Expected<KernelFn> makeBitwiseAnd(const KernelBuildContext&) {
  return binary<IntTypes>([](auto x, auto y) { return static_cast<decltype(x)>(x & y); });
}
Expected<KernelFn> makeBitwiseOr(const KernelBuildContext&) {
  return binary<IntTypes>([](auto x, auto y) { return static_cast<decltype(x)>(x | y); });
}
Expected<KernelFn> makeBitwiseXor(const KernelBuildContext&) {
  return binary<IntTypes>([](auto x, auto y) { return static_cast<decltype(x)>(x ^ y); });
}
Expected<KernelFn> makeAnd(const KernelBuildContext&) {
  return binary<BoolType>([](bool x, bool y) { return x && y; });
}
Expected<KernelFn> makeOr(const KernelBuildContext&) {
  return binary<BoolType>([](bool x, bool y) { return x || y; });
}
Expected<KernelFn> makeXor(const KernelBuildContext&) {
  return binary<BoolType>([](bool x, bool y) { return x != y; });
}

// Comparisons.
Expected<KernelFn> makeLess(const KernelBuildContext&) {
  return binary<OrderedTypes, true>([](auto x, auto y) { return x < y; });
}
Expected<KernelFn> makeGreater(const KernelBuildContext&) {
  return binary<OrderedTypes, true>([](auto x, auto y) { return x > y; });
}
Expected<KernelFn> makeLessOrEqual(const KernelBuildContext&) {
  return binary<OrderedTypes, true>([](auto x, auto y) { return x <= y; });
}
Expected<KernelFn> makeGreaterOrEqual(const KernelBuildContext&) {
  return binary<OrderedTypes, true>([](auto x, auto y) { return x >= y; });
}
Expected<KernelFn> makeEqual(const KernelBuildContext&) {
  KernelFn numeric = binary<AllTypes, true>([](auto x, auto y) { return x == y; });
  return KernelFn([numeric](KernelContext& ctx) -> Status {
    const TensorData& a = ctx.input(0);
    const TensorData& b = ctx.input(1);
    if (a.dtype() != DataType::String) return numeric(ctx);
    if (b.dtype() != DataType::String) return kernelError(ctx, "input types differ");
    ASSIGN_OR_RETURN(Shape shape, broadcastShapes(a.shape(), b.shape(), ctx.where()));
    TensorData y = TensorData::allocate(DataType::Bool, shape);
    bool* py = y.data<bool>();
    const auto& sa = *a.strings;
    const auto& sb = *b.strings;
    broadcastRows<2>(shape, {&a.shape(), &b.shape()}, ctx.threads,
                     [&](int64_t o, const std::array<int64_t, 2>& off, const std::array<int64_t, 2>& st, int64_t n) {
                       for (int64_t j = 0; j < n; ++j)
                         py[o + j] = sa[static_cast<size_t>(off[0] + j * st[0])] ==
                                     sb[static_cast<size_t>(off[1] + j * st[1])];
                     });
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// Pow: the output has the base's type. The exponent may have any numeric type; it is
// converted once, before the broadcast loop, so there is one loop per base type and
// exponent kind:
//   float-like base T: the exponent becomes Calc<T> and y = pow(Calc<T>(x), e);
//   integer base, integer exponent: the exponent becomes its uint64 bits (sign-extended)
//     and y is the exact power, wrapping like integer multiplication;
//   integer base, float exponent: the exponent becomes double and y = pow(double(x), e)
//     truncated toward zero (floatToInt).
using PowBaseTypes = TypeList<float, double, int32_t, int64_t>;  // the spec's T (16-bit floats: widened by the fallback)

// x^e by squaring. `e` holds the exponent modulo 2^64; `signedExponent` says whether the
// exponent's type is signed, so that a set top bit means a negative exponent.
template <typename T>
inline T intPow(T base, uint64_t e, bool signedExponent) {
  if (signedExponent && static_cast<int64_t>(e) < 0) {
    if (base == T(1)) return T(1);
    if (base == T(-1)) return (e & 1) ? T(-1) : T(1);
    return T(0);
  }
  uint64_t r = 1, b = static_cast<uint64_t>(base);  // modular arithmetic, no overflow UB
  for (uint64_t k = e; k; k >>= 1) {
    if (k & 1) r *= b;
    b *= b;
  }
  return static_cast<T>(r);
}

// Exponent element converters: to C through the element's own compute type,
// or to its value modulo 2^64 (integers only).
template <typename C>
struct ExponentAs {
  template <typename U>
  C operator()(U v) const { return static_cast<C>(static_cast<Calc<U>>(v)); }
};
struct ExponentBits {
  template <typename U>
  uint64_t operator()(U v) const { return static_cast<uint64_t>(v); }
};

// The exponent tensor `e` with every element converted to To (dtype `to`) by `convert`.
// False if e's dtype is not in Exponents.
template <typename To, typename Exponents, typename Convert>
bool convertExponent(const TensorData& e, DataType to, int threads, Convert convert, TensorData& out) {
  out = TensorData::allocate(to, e.shape());
  To* po = out.data<To>();
  return dispatch<Exponents>(e.dtype(), [&](auto tag) {
    using U = decltype(tag);
    const U* pe = e.data<U>();
    parallelFor(e.numElements(), threads, [&](int64_t s, int64_t end) {
      for (int64_t i = s; i < end; ++i) po[i] = convert(pe[i]);
    });
  });
}

Expected<KernelFn> makePow(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& a = ctx.input(0);
    const TensorData& b = ctx.input(1);
    ASSIGN_OR_RETURN(Shape shape, broadcastShapes(a.shape(), b.shape(), ctx.where()));
    TensorData y = TensorData::allocate(a.dtype(), std::move(shape));
    const bool floatExponent = dispatch<ComputeFloatTypes>(b.dtype(), [](auto) {});
    const bool signedExponent = dispatch<TypeList<int8_t, int16_t, int32_t, int64_t>>(b.dtype(), [](auto) {});
    bool ok = false;
    dispatch<PowBaseTypes>(a.dtype(), [&](auto ta) {
      using T = decltype(ta);
      TensorData e;
      if constexpr (kFloatLike<T>) {
        using C = Calc<T>;
        ok = convertExponent<C, ComputeNumericTypes>(b, dataTypeOf<C>(), ctx.threads, ExponentAs<C>{}, e);
        if (ok)
          broadcastBinary<T, C, T>(a, e, y, ctx.threads,
                                   [](T x, C p) { return static_cast<T>(std::pow(static_cast<C>(x), p)); });
      } else if (floatExponent) {
        ok = convertExponent<double, ComputeNumericTypes>(b, DataType::Double, ctx.threads, ExponentAs<double>{}, e);
        if (ok)
          broadcastBinary<T, double, T>(a, e, y, ctx.threads, [](T x, double p) {
            return floatToInt<T>(std::pow(static_cast<double>(x), p));
          });
      } else {
        ok = convertExponent<uint64_t, IntTypes>(b, DataType::UInt64, ctx.threads, ExponentBits{}, e);
        if (ok)
          broadcastBinary<T, uint64_t, T>(a, e, y, ctx.threads,
                                          [signedExponent](T x, uint64_t p) { return intPow(x, p, signedExponent); });
      }
    });
    if (!ok)
      return kernelError(ctx, "unsupported dtypes {} ^ {}", dataTypeName(a.dtype()), dataTypeName(b.dtype()));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makeMax(const KernelBuildContext&) {
  return variadic<ComputeNumericTypes>(
      [](auto x, auto y) {
        using C = decltype(x);
        if constexpr (std::is_floating_point_v<C>)
          if (std::isnan(x) || std::isnan(y)) return std::isnan(x) ? x : y;
        return x < y ? y : x;
      },
      false);
}
Expected<KernelFn> makeMin(const KernelBuildContext&) {
  return variadic<ComputeNumericTypes>(
      [](auto x, auto y) {
        using C = decltype(x);
        if constexpr (std::is_floating_point_v<C>)
          if (std::isnan(x) || std::isnan(y)) return std::isnan(x) ? x : y;
        return y < x ? y : x;
      },
      false);
}
Expected<KernelFn> makeSum(const KernelBuildContext&) {
  return variadic<ComputeFloatTypes>([](auto x, auto y) { return x + y; }, false);
}
Expected<KernelFn> makeMean(const KernelBuildContext&) {
  return variadic<ComputeFloatTypes>([](auto x, auto y) { return x + y; }, true);
}

}  // namespace

std::vector<KernelEntry> binaryKernels() {
  return {
      {"", "Add", makeAdd},
      {"", "Sub", makeSub},
      {"", "Mul", makeMul},
      {"", "Div", makeDiv},
      {"", "Pow", makePow},
      {"", "Mod", makeMod},
      {"", "BitShift", makeBitShift},
      {"", "BitwiseAnd", makeBitwiseAnd},
      {"", "BitwiseOr", makeBitwiseOr},
      {"", "BitwiseXor", makeBitwiseXor},
      {"", "Max", makeMax},
      {"", "Min", makeMin},
      {"", "Sum", makeSum},
      {"", "Mean", makeMean},
      {"", "Equal", makeEqual},
      {"", "Less", makeLess},
      {"", "Greater", makeGreater},
      {"", "LessOrEqual", makeLessOrEqual},
      {"", "GreaterOrEqual", makeGreaterOrEqual},
      {"", "And", makeAnd},
      {"", "Or", makeOr},
      {"", "Xor", makeXor},
  };
}

}  // namespace onnxpress::runtime
