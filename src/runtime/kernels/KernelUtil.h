// Shared helpers for kernels: dtype dispatch, broadcasting, axes, threading.
#pragma once

#include <Eigen/Core>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "onnxpress/runtime/Kernel.h"

namespace onnxpress::runtime {

using half = Eigen::half;
using bfloat16 = Eigen::bfloat16;

template <typename... Args>
Status kernelError(const KernelContext& ctx, fmt::format_string<Args...> f, Args&&... args) {
  return invalidInput("node {}: {}", ctx.where(), fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status buildError(const KernelBuildContext& b, fmt::format_string<Args...> f, Args&&... args) {
  return invalidInput("node {}: {}", b.node.describe(), fmt::format(f, std::forward<Args>(args)...));
}

/// Calls fn(T{}) with T the C++ type of `dtype`; returns false if `dtype` is not in the list.
template <typename... Ts>
struct TypeList {};

template <typename T> constexpr DataType dataTypeOf();
template <> constexpr DataType dataTypeOf<float>() { return DataType::Float; }
template <> constexpr DataType dataTypeOf<double>() { return DataType::Double; }
template <> constexpr DataType dataTypeOf<half>() { return DataType::Float16; }
template <> constexpr DataType dataTypeOf<bfloat16>() { return DataType::BFloat16; }
template <> constexpr DataType dataTypeOf<int8_t>() { return DataType::Int8; }
template <> constexpr DataType dataTypeOf<int16_t>() { return DataType::Int16; }
template <> constexpr DataType dataTypeOf<int32_t>() { return DataType::Int32; }
template <> constexpr DataType dataTypeOf<int64_t>() { return DataType::Int64; }
template <> constexpr DataType dataTypeOf<uint8_t>() { return DataType::UInt8; }
template <> constexpr DataType dataTypeOf<uint16_t>() { return DataType::UInt16; }
template <> constexpr DataType dataTypeOf<uint32_t>() { return DataType::UInt32; }
template <> constexpr DataType dataTypeOf<uint64_t>() { return DataType::UInt64; }
template <> constexpr DataType dataTypeOf<bool>() { return DataType::Bool; }

template <typename F, typename T, typename... Rest>
bool dispatchImpl(DataType dtype, F&& fn, TypeList<T, Rest...>) {
  if (dtype == dataTypeOf<T>()) {
    fn(T{});
    return true;
  }
  if constexpr (sizeof...(Rest) > 0) return dispatchImpl(dtype, std::forward<F>(fn), TypeList<Rest...>{});
  return false;
}

using FloatTypes = TypeList<float, double, half, bfloat16>;
using IntTypes = TypeList<int32_t, int64_t, int8_t, uint8_t, int16_t, uint16_t, uint32_t, uint64_t>;
using NumericTypes = TypeList<float, double, half, bfloat16, int32_t, int64_t, int8_t, uint8_t, int16_t, uint16_t,
                              uint32_t, uint64_t>;
// Ops outside HalfPrecisionFallback's type-agnostic list never reach their kernel with
// float16/bfloat16 inputs: the fallback widens those to float32 first. Their kernels
// instantiate these lists, without 16-bit float code that could never run.
using ComputeFloatTypes = TypeList<float, double>;
using ComputeNumericTypes = TypeList<float, double, int32_t, int64_t, int8_t, uint8_t, int16_t, uint16_t, uint32_t,
                                     uint64_t>;
using AllTypes = TypeList<float, double, half, bfloat16, int32_t, int64_t, int8_t, uint8_t, int16_t, uint16_t,
                          uint32_t, uint64_t, bool>;

/// dispatch<NumericTypes>(dtype, [&](auto tag) { using T = decltype(tag); ... })
template <typename List, typename F>
bool dispatch(DataType dtype, F&& fn) {
  return dispatchImpl(dtype, std::forward<F>(fn), List{});
}

/// Normalizes an axis in [-rank, rank) to [0, rank), or fails.
inline Expected<int64_t> normalizeAxis(int64_t axis, int64_t rank, const std::string& where) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return invalidInput("node {}: axis {} out of range for rank {}", where, axis, rank);
  return axis < 0 ? axis + rank : axis;
}

/// Numpy-style broadcast of two shapes.
inline Expected<Shape> broadcastShapes(const Shape& a, const Shape& b, const std::string& where) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return invalidInput("node {}: shapes {} and {} cannot broadcast", where, shapeToString(a), shapeToString(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// Element strides of `shape` as seen from a broadcast output of rank `rank` (0 on broadcast dims).
inline std::vector<int64_t> broadcastStrides(const Shape& shape, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = 1;
  for (size_t k = 0; k < shape.size(); ++k) {
    const size_t i = shape.size() - 1 - k;
    const size_t o = out.size() - 1 - k;
    strides[o] = shape[i] == 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

/// Contiguous row-major strides.
inline std::vector<int64_t> contiguousStrides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

/// Calls body(context, begin, end) over [0, n): once when threads <= 1 or n < 2 * grain,
/// else in up to `threads` chunks on OpenMP threads (KernelUtil.cpp).
void runChunks(int64_t n, int threads, int64_t grain, void (*body)(void*, int64_t, int64_t), void* context);

/// Runs fn(begin, end) over [0, n) split across up to `threads` OpenMP threads;
/// small ranges run inline. fn is compiled once, in one thunk that both paths call
/// (inlining it into a serial and an OpenMP path doubled the kernels' code).
template <typename F>
void parallelFor(int64_t n, int threads, F&& fn, int64_t grain = 16384) {
  using Fn = std::remove_reference_t<F>;
  runChunks(n, threads, grain, [](void* f, int64_t begin, int64_t end) { (*static_cast<Fn*>(f))(begin, end); },
            const_cast<void*>(static_cast<const void*>(std::addressof(fn))));
}

/// Binary elementwise op with broadcasting: out[i] = op(a[ia], b[ib]).
/// Float operands get contiguous and scalar fast paths; other types (index and
/// mask arithmetic, small tensors) take the general row loop only, which keeps
/// the instantiations of every op for every type cheap to compile.
template <typename TA, typename TB, typename TO, typename Op>
void broadcastBinary(const TensorData& a, const TensorData& b, TensorData& out, int threads, Op op) {
  const TA* pa = a.data<TA>();
  const TB* pb = b.data<TB>();
  TO* po = out.data<TO>();
  const int64_t n = out.numElements();
  if constexpr (std::is_same_v<TA, float> || std::is_same_v<TB, float>) {
    if (a.shape() == b.shape()) {
      parallelFor(n, threads, [&](int64_t s, int64_t e) { for (int64_t i = s; i < e; ++i) po[i] = op(pa[i], pb[i]); });
      return;
    }
    if (b.numElements() == 1) {
      const TB vb = pb[0];
      parallelFor(n, threads, [&](int64_t s, int64_t e) { for (int64_t i = s; i < e; ++i) po[i] = op(pa[i], vb); });
      return;
    }
    if (a.numElements() == 1) {
      const TA va = pa[0];
      parallelFor(n, threads, [&](int64_t s, int64_t e) { for (int64_t i = s; i < e; ++i) po[i] = op(va, pb[i]); });
      return;
    }
  }
  const Shape& os = out.shape();
  const size_t rank = os.size();
  const auto sa = broadcastStrides(a.shape(), os), sb = broadcastStrides(b.shape(), os);
  const int64_t inner = rank ? os[rank - 1] : 1;
  const int64_t ia = rank ? sa[rank - 1] : 0, ib = rank ? sb[rank - 1] : 0;
  const int64_t rows = inner ? n / inner : 0;
  parallelFor(rows, threads, [&](int64_t s, int64_t e) {
    for (int64_t row = s; row < e; ++row) {
      int64_t rem = row, offA = 0, offB = 0;
      for (size_t d = rank > 0 ? rank - 1 : 0; d-- > 0;) {
        const int64_t coord = rem % os[d];
        rem /= os[d];
        offA += coord * sa[d];
        offB += coord * sb[d];
      }
      TO* o = po + row * inner;
      for (int64_t j = 0; j < inner; ++j) o[j] = op(pa[offA + j * ia], pb[offB + j * ib]);
    }
  }, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)));
}

/// Float view of any float type (half/bfloat16 convert through float).
template <typename T>
inline float toFloat(T v) { return static_cast<float>(v); }

// ---- row-major Eigen views of tensor data -------------------------------------------------

template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using MatrixMap = Eigen::Map<RowMatrix<T>>;
template <typename T>
using ConstMatrixMap = Eigen::Map<const RowMatrix<T>>;

// ---- shared type helpers -------------------------------------------------------------------

template <typename T>
inline constexpr bool kHalfLike = std::is_same_v<T, half> || std::is_same_v<T, bfloat16>;
template <typename T>
inline constexpr bool kFloatLike = std::is_floating_point_v<T> || kHalfLike<T>;

/// A value of any numeric type as double (half/bfloat16 through float).
template <typename T>
inline double toDouble(T v) {
  if constexpr (kHalfLike<T>) return static_cast<double>(static_cast<float>(v));
  else return static_cast<double>(v);
}

/// The type arithmetic on T runs in: float for half/bfloat16, T otherwise.
template <typename T> struct CalcOf { using type = T; };
template <> struct CalcOf<half> { using type = float; };
template <> struct CalcOf<bfloat16> { using type = float; };
template <typename T> using Calc = typename CalcOf<T>::type;

inline Status unsupportedType(const KernelContext& ctx, DataType t) {
  return kernelError(ctx, "unsupported dtype {}", dataTypeName(t));
}

// ---- element-size dispatch (for ops that only move data) ----------------------------------

struct Bytes16 {
  uint64_t lo, hi;
};

/// fn(T{}) with an unsigned type of dtype's element size (Bytes16 for 16 bytes); false for
/// packed 4-bit types and STRING.
template <typename F>
bool dispatchElem(DataType dtype, F&& fn) {
  if (dtype == DataType::String) return false;
  switch (dataTypeBits(dtype)) {
    case 8: fn(uint8_t{}); return true;
    case 16: fn(uint16_t{}); return true;
    case 32: fn(uint32_t{}); return true;
    case 64: fn(uint64_t{}); return true;
    case 128: fn(Bytes16{}); return true;
    default: return false;
  }
}

/// As dispatchElem, plus std::string for STRING tensors.
template <typename F>
bool dispatchElemOrString(DataType dtype, F&& fn) {
  if (dtype == DataType::String) {
    fn(std::string{});
    return true;
  }
  return dispatchElem(dtype, std::forward<F>(fn));
}

template <typename T>
T* elems(TensorData& t) {
  if constexpr (std::is_same_v<T, std::string>) return t.strings ? t.strings->data() : nullptr;
  else return t.data<T>();
}
template <typename T>
const T* elems(const TensorData& t) {
  if constexpr (std::is_same_v<T, std::string>) return t.strings ? t.strings->data() : nullptr;
  else return t.data<T>();
}

template <typename T>
inline void copyRun(T* dst, const T* src, int64_t n) {
  if (n <= 0) return;
  if constexpr (std::is_trivially_copyable_v<T>) std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));
  else std::copy_n(src, n, dst);
}

}  // namespace onnxpress::runtime
