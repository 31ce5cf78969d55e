// Shared machinery of the elementwise kernels (Unary.cpp, Binary.cpp,
// Elementwise.cpp): compute types, numpy-style conversions, N-input broadcasting,
// and the unary / binary / variadic kernel templates.
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "Families.h"
#include "KernelUtil.h"

namespace onnxpress::runtime::elementwise {

// ---- type helpers ------------------------------------------------------------------------


// The type arithmetic runs in: float for half/bfloat16, the type itself otherwise.

using SignedTypes = TypeList<float, double, int32_t, int64_t, int8_t, int16_t>;
using UnsignedTypes = TypeList<uint8_t, uint16_t, uint32_t, uint64_t>;
using OrderedTypes = ComputeNumericTypes;  // types with < and >
using BoolType = TypeList<bool>;


template <typename C>
constexpr bool isNeg(C v) {
  if constexpr (std::is_unsigned_v<C>) return false;
  else return v < C(0);
}

// -v without signed-overflow UB (wraps for the most negative integer).
template <typename C>
constexpr C negate(C v) {
  if constexpr (std::is_integral_v<C> && std::is_signed_v<C>)
    return static_cast<C>(-static_cast<std::make_unsigned_t<C>>(v));
  else return -v;
}

// Float -> integer like numpy's astype: truncates toward zero, narrow types wrap
// through int64; NaN gives 0 and out-of-range int64/uint64 saturate (no UB).
template <typename To, typename F>
To floatToInt(F v) {
  if (std::isnan(v)) return To(0);
  if constexpr (std::is_same_v<To, uint64_t>) {
    if (v >= static_cast<F>(18446744073709551615.0)) return std::numeric_limits<uint64_t>::max();
    if (v >= F(0)) return static_cast<uint64_t>(v);
  }
  int64_t i;
  if (v <= static_cast<F>(-9223372036854775808.0)) i = std::numeric_limits<int64_t>::min();
  else if (v >= static_cast<F>(9223372036854775807.0)) i = std::numeric_limits<int64_t>::max();
  else i = static_cast<int64_t>(v);
  return static_cast<To>(i);
}

// float -> bfloat16 by truncation (the ONNX reference Cast), NaN kept quiet.
inline bfloat16 truncToBf16(float f) {
  if (std::isnan(f)) return Eigen::numext::bit_cast<bfloat16>(static_cast<uint16_t>(0x7FC0));
  const uint32_t bits = Eigen::numext::bit_cast<uint32_t>(f);
  return Eigen::numext::bit_cast<bfloat16>(static_cast<uint16_t>(bits >> 16));
}

// One element of Cast.
template <typename To, typename From>
inline To convertValue(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    if constexpr (kHalfLike<From>) return static_cast<float>(v) != 0.f;
    else return v != From(0);
  } else if constexpr (std::is_same_v<From, bool>) {
    return static_cast<To>(v ? 1.f : 0.f);
  } else if constexpr (std::is_same_v<To, bfloat16>) {
    return truncToBf16(static_cast<float>(v));
  } else if constexpr (kHalfLike<To>) {
    return static_cast<To>(static_cast<float>(v));
  } else if constexpr (kHalfLike<From>) {
    return convertValue<To>(static_cast<float>(v));
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    return floatToInt<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

// ---- broadcasting over N inputs ----------------------------------------------------------

// Calls fn(outOffset, inOffsets, innerSteps, inner) for every innermost row of the
// broadcast output `out`; inputs are read at inOffsets[k] + j * innerSteps[k].
template <size_t N, typename F>
void broadcastRows(const Shape& out, const std::array<const Shape*, N>& ins, int threads, F&& fn) {
  const size_t rank = out.size();
  std::array<std::vector<int64_t>, N> st;
  for (size_t k = 0; k < N; ++k) st[k] = broadcastStrides(*ins[k], out);
  const int64_t inner = rank ? out[rank - 1] : 1;
  const int64_t total = elementCount(out);
  const int64_t rows = inner ? total / inner : 0;
  std::array<int64_t, N> step{};
  for (size_t k = 0; k < N; ++k) step[k] = rank ? st[k][rank - 1] : 0;
  parallelFor(rows, threads, [&](int64_t s, int64_t e) {
    for (int64_t row = s; row < e; ++row) {
      std::array<int64_t, N> off{};
      int64_t rem = row;
      if (rank > 1)
        for (size_t d = rank - 1; d-- > 0;) {
          const int64_t c = rem % out[d];
          rem /= out[d];
          for (size_t k = 0; k < N; ++k) off[k] += c * st[k][d];
        }
      fn(row * inner, off, step, inner);
    }
  }, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)));
}

// Copies `src` broadcast to the shape of `dst`.
template <typename T>
void expandInto(const TensorData& src, TensorData& dst, int threads) {
  const T* ps = src.data<T>();
  T* pd = dst.data<T>();
  broadcastRows<1>(dst.shape(), {&src.shape()}, threads,
                   [&](int64_t o, const std::array<int64_t, 1>& off, const std::array<int64_t, 1>& st, int64_t n) {
                     for (int64_t j = 0; j < n; ++j) pd[o + j] = ps[off[0] + j * st[0]];
                   });
}

// ---- unary -------------------------------------------------------------------------------

// y = fn(x) elementwise over the dtypes in List; fn gets and returns Calc<T>.
template <typename List, typename Fn>
KernelFn unary(Fn fn) {
  return [fn](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    TensorData y = TensorData::allocate(x.dtype(), x.shape());
    const bool ok = dispatch<List>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C = Calc<T>;
      const T* px = x.data<T>();
      T* py = y.data<T>();
      parallelFor(x.numElements(), ctx.threads, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) py[i] = static_cast<T>(fn(static_cast<C>(px[i])));
      });
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  };
}

// Float ops: Calc<T> in, Calc<T> out.
template <typename Fn>
KernelFn unaryFloat(Fn fn) {
  return unary<ComputeFloatTypes>(fn);
}

// bool y = fn(x).
template <typename List, typename Fn>
KernelFn unaryToBool(Fn fn) {
  return [fn](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    TensorData y = TensorData::allocate(DataType::Bool, x.shape());
    const bool ok = dispatch<List>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C = Calc<T>;
      const T* px = x.data<T>();
      bool* py = y.data<bool>();
      parallelFor(x.numElements(), ctx.threads, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) py[i] = fn(static_cast<C>(px[i]));
      });
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  };
}

// ---- binary ------------------------------------------------------------------------------

// y = op(a, b) with numpy broadcasting; both inputs of one dtype in List. The op
// gets Calc<T> values; the output is T, or bool when kToBool.
template <typename List, bool kToBool = false, typename Op>
KernelFn binary(Op op) {
  return [op](KernelContext& ctx) -> Status {
    const TensorData& a = ctx.input(0);
    const TensorData& b = ctx.input(1);
    if (a.dtype() != b.dtype())
      return kernelError(ctx, "input types differ: {} and {}", dataTypeName(a.dtype()), dataTypeName(b.dtype()));
    ASSIGN_OR_RETURN(Shape shape, broadcastShapes(a.shape(), b.shape(), ctx.where()));
    TensorData y = TensorData::allocate(kToBool ? DataType::Bool : a.dtype(), std::move(shape));
    const bool ok = dispatch<List>(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using C = Calc<T>;
      using O = std::conditional_t<kToBool, bool, T>;
      broadcastBinary<T, T, O>(a, b, y, ctx.threads,
                               [&op](T x, T z) { return static_cast<O>(op(static_cast<C>(x), static_cast<C>(z))); });
    });
    if (!ok) return unsupportedType(ctx, a.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  };
}

// ---- variadic ------------------------------------------------------------------------------

// Folds op over 1..N broadcast inputs (Max, Min, Sum, Mean).
template <typename List, typename Op>
KernelFn variadic(Op op, bool mean) {
  return [op, mean](KernelContext& ctx) -> Status {
    std::vector<const TensorData*> ins;
    for (size_t i = 0; i < ctx.numInputs(); ++i)
      if (ctx.hasInput(i)) ins.push_back(&ctx.input(i));
    if (ins.empty()) return kernelError(ctx, "needs at least one input");
    const DataType dtype = ins[0]->dtype();
    Shape shape = ins[0]->shape();
    for (size_t i = 1; i < ins.size(); ++i) {
      if (ins[i]->dtype() != dtype)
        return kernelError(ctx, "input types differ: {} and {}", dataTypeName(dtype), dataTypeName(ins[i]->dtype()));
      ASSIGN_OR_RETURN(shape, broadcastShapes(shape, ins[i]->shape(), ctx.where()));
    }
    if (!dispatch<List>(dtype, [](auto) {})) return unsupportedType(ctx, dtype);
    if (ins.size() == 1) {
      ctx.outputs[0] = *ins[0];
      return Status::ok();
    }
    ASSIGN_OR_RETURN(Shape first, broadcastShapes(ins[0]->shape(), ins[1]->shape(), ctx.where()));
    TensorData y = TensorData::allocate(dtype, shape);
    dispatch<List>(dtype, [&](auto tag) {
      using T = decltype(tag);
      using C = Calc<T>;
      auto f = [&op](T x, T z) { return static_cast<T>(op(static_cast<C>(x), static_cast<C>(z))); };
      size_t next = 1;
      if (first == shape) {
        broadcastBinary<T, T, T>(*ins[0], *ins[1], y, ctx.threads, f);
        next = 2;
      } else {
        expandInto<T>(*ins[0], y, ctx.threads);
      }
      for (size_t i = next; i < ins.size(); ++i) broadcastBinary<T, T, T>(y, *ins[i], y, ctx.threads, f);
      if (mean) {
        T* py = y.data<T>();
        const C n = static_cast<C>(ins.size());
        parallelFor(y.numElements(), ctx.threads, [&](int64_t s, int64_t e) {
          for (int64_t i = s; i < e; ++i) py[i] = static_cast<T>(static_cast<C>(py[i]) / n);
        });
      }
    });
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  };
}

// Max/Min propagate NaN like numpy.maximum/minimum.
}  // namespace onnxpress::runtime::elementwise
