// Reduction kernels (ai.onnx, opset 7..21):
//   ReduceSum ReduceMean ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceLogSum
//   ReduceLogSumExp ReduceSumSquare  (axes attribute, or optional input from ReduceSum-13 / others-18;
//                                     keepdims, noop_with_empty_axes)
//   ArgMax ArgMin                    (axis, keepdims, select_last_index)
//   Softmax LogSoftmax Hardmax       (opset < 13: 2-D coercion at axis, default 1; >= 13: one axis, default -1)
//   TopK                             (k attribute before opset 10, input from 10; largest/sorted from 11)
//   CumSum                           (exclusive, reverse)
// Float sums accumulate in double; float16/bfloat16 inputs arrive widened to float32
// (HalfPrecisionFallback).
#include <algorithm>
#include <cmath>
#include <vector>

#include "KernelUtil.h"  // first: it brings in the IR types Kernel.h needs
#include "Families.h"

namespace onnxpress::runtime {
namespace {

// ---- type helpers ------------------------------------------------------------------------




// Accumulated value -> element type; saturates double -> integer.
template <typename Out, typename Acc>
inline Out fromAcc(Acc a) {
  if constexpr (kFloatLike<Out>) {
    return static_cast<Out>(static_cast<Calc<Out>>(a));
  } else if constexpr (std::is_floating_point_v<Acc>) {
    if (std::isnan(a)) return Out(0);
    if (a <= static_cast<Acc>(std::numeric_limits<Out>::lowest())) return std::numeric_limits<Out>::lowest();
    if (a >= static_cast<Acc>(std::numeric_limits<Out>::max())) return std::numeric_limits<Out>::max();
    return static_cast<Out>(a);
  } else {
    return static_cast<Out>(a);
  }
}

// ---- reduction plan ----------------------------------------------------------------------

// The input dims, with size-1 dims dropped and neighbours of the same kind
// (kept / reduced) merged, split into kept and reduced groups.
struct ReducePlan {
  Shape outShape;
  int64_t nOut = 1;
  int64_t redCount = 1;
  std::vector<int64_t> keptDims, keptStrides, redDims, redStrides;
  bool innerReduced = true;  // the innermost merged dim is reduced (contiguous runs)
};

ReducePlan makePlan(const Shape& in, const std::vector<bool>& reduce, bool keepdims) {
  ReducePlan p;
  const auto strides = contiguousStrides(in);
  struct Dim {
    int64_t size, stride;
    bool red;
  };
  std::vector<Dim> merged;
  for (size_t i = 0; i < in.size(); ++i) {
    if (reduce[i]) {
      p.redCount *= in[i];
      if (keepdims) p.outShape.push_back(1);
    } else {
      p.outShape.push_back(in[i]);
    }
    if (in[i] == 1) continue;
    if (!merged.empty() && merged.back().red == reduce[i]) {
      merged.back().size *= in[i];
      merged.back().stride = strides[i];
    } else {
      merged.push_back({in[i], strides[i], static_cast<bool>(reduce[i])});
    }
  }
  for (const Dim& d : merged) {
    (d.red ? p.redDims : p.keptDims).push_back(d.size);
    (d.red ? p.redStrides : p.keptStrides).push_back(d.stride);
  }
  p.nOut = elementCount(p.outShape);
  if (merged.empty() || merged.back().red) {
    p.innerReduced = true;
    if (p.redDims.empty()) {  // nothing to reduce: runs of length 1
      p.redDims.push_back(1);
      p.redStrides.push_back(1);
    }
  } else {
    p.innerReduced = false;
  }
  return p;
}

// Offsets of every index of `dims` (row-major), or none if a dim is 0.
std::vector<int64_t> allOffsets(const std::vector<int64_t>& dims, const std::vector<int64_t>& strides) {
  std::vector<int64_t> offs{0};
  for (size_t d = 0; d < dims.size(); ++d) {
    std::vector<int64_t> next;
    next.reserve(offs.size() * static_cast<size_t>(std::max<int64_t>(dims[d], 0)));
    for (int64_t o : offs)
      for (int64_t i = 0; i < dims[d]; ++i) next.push_back(o + i * strides[d]);
    offs = std::move(next);
  }
  return offs;
}

// Offset of row-major index `idx` over dims[0, n).
inline int64_t offsetOf(int64_t idx, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides, size_t n) {
  int64_t off = 0;
  for (size_t d = n; d-- > 0;) {
    off += (idx % dims[d]) * strides[d];
    idx /= dims[d];
  }
  return off;
}

// Runs reducer `r` over the plan: y[o] = r.finish(fold r.step over the reduced elements of output o).
template <typename T, typename R>
void reduceRun(const T* x, const ReducePlan& p, typename R::Out* y, int threads, const R& r) {
  using Acc = typename R::Acc;
  if (p.nOut == 0) return;
  auto load = [](T v) { return static_cast<Acc>(static_cast<Calc<T>>(v)); };
  if (p.innerReduced) {
    // Each output folds contiguous runs of length L.
    const int64_t L = p.redDims.back();
    const size_t nr = p.redDims.size() - 1;
    const auto roffs = allOffsets({p.redDims.begin(), p.redDims.begin() + static_cast<ptrdiff_t>(nr)},
                                  {p.redStrides.begin(), p.redStrides.begin() + static_cast<ptrdiff_t>(nr)});
    parallelFor(p.nOut, threads, [&](int64_t s, int64_t e) {
      for (int64_t o = s; o < e; ++o) {
        const int64_t base = offsetOf(o, p.keptDims, p.keptStrides, p.keptDims.size());
        Acc a = r.init(o);
        for (int64_t ro : roffs) {
          const T* px = x + base + ro;
          for (int64_t j = 0; j < L; ++j) a = r.step(a, load(px[j]), o);
        }
        y[o] = r.finish(a, o);
      }
    }, std::max<int64_t>(1, 16384 / std::max<int64_t>(p.redCount, 1)));
    return;
  }
  // The innermost dim is kept: fold whole rows of consecutive outputs at once.
  const int64_t Lk = p.keptDims.back();
  const size_t nk = p.keptDims.size() - 1;
  const auto roffs = allOffsets(p.redDims, p.redStrides);
  parallelFor(p.nOut, threads, [&](int64_t s, int64_t e) {
    std::vector<Acc> acc(static_cast<size_t>(std::min(Lk, e - s)));
    for (int64_t o = s; o < e;) {
      const int64_t blk = o / Lk, j0 = o % Lk, len = std::min(Lk - j0, e - o);
      const int64_t base = offsetOf(blk, p.keptDims, p.keptStrides, nk) + j0;
      for (int64_t j = 0; j < len; ++j) acc[static_cast<size_t>(j)] = r.init(o + j);
      for (int64_t ro : roffs) {
        const T* px = x + base + ro;
        for (int64_t j = 0; j < len; ++j) acc[static_cast<size_t>(j)] = r.step(acc[static_cast<size_t>(j)], load(px[j]), o + j);
      }
      for (int64_t j = 0; j < len; ++j) y[o + j] = r.finish(acc[static_cast<size_t>(j)], o + j);
      o += len;
    }
  }, std::max<int64_t>(1, 16384 / std::max<int64_t>(p.redCount, 1)));
}

// ---- reducers ----------------------------------------------------------------------------

enum class Op { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

template <Op K, typename T>
using AccOf = std::conditional_t<kFloatLike<T> || K == Op::L2 || K == Op::LogSum || K == Op::LogSumExp, double,
                                 std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <Op K, typename T, typename O = T>
struct Reducer {
  using Acc = AccOf<K, T>;
  using Out = O;
  int64_t count = 0;           // reduced elements per output (Mean)
  const double* mx = nullptr;  // per-output maximum (LogSumExp)

  Acc init(int64_t) const {
    if constexpr (K == Op::Max) {
      if constexpr (std::is_floating_point_v<Acc>) return -std::numeric_limits<Acc>::infinity();
      else return static_cast<Acc>(std::numeric_limits<T>::lowest());
    } else if constexpr (K == Op::Min) {
      if constexpr (std::is_floating_point_v<Acc>) return std::numeric_limits<Acc>::infinity();
      else return static_cast<Acc>(std::numeric_limits<T>::max());
    } else if constexpr (K == Op::Prod) {
      return Acc(1);
    } else {
      return Acc(0);
    }
  }
  Acc step(Acc a, Acc v, int64_t o) const {
    if constexpr (K == Op::Max) {
      if constexpr (std::is_floating_point_v<Acc>) return (v > a || std::isnan(v)) ? v : a;
      else return v > a ? v : a;
    } else if constexpr (K == Op::Min) {
      if constexpr (std::is_floating_point_v<Acc>) return (v < a || std::isnan(v)) ? v : a;
      else return v < a ? v : a;
    } else if constexpr (K == Op::Prod) {
      return a * v;
    } else if constexpr (K == Op::L1) {
      if constexpr (std::is_unsigned_v<Acc>) return a + v;
      else return a + (v < Acc(0) ? -v : v);
    } else if constexpr (K == Op::L2 || K == Op::SumSquare) {
      return a + v * v;
    } else if constexpr (K == Op::LogSumExp) {
      return a + std::exp(v - mx[o]);
    } else {
      return a + v;
    }
  }
  Out finish(Acc a, int64_t o) const {
    if constexpr (K == Op::Mean) {
      if constexpr (std::is_floating_point_v<Acc>) return fromAcc<Out>(a / static_cast<Acc>(count));
      else return fromAcc<Out>(count ? a / static_cast<Acc>(count) : Acc(0));
    } else if constexpr (K == Op::L2) {
      return fromAcc<Out>(std::sqrt(a));
    } else if constexpr (K == Op::LogSum) {
      return fromAcc<Out>(std::log(a));
    } else if constexpr (K == Op::LogSumExp) {
      return fromAcc<Out>(std::isfinite(mx[o]) ? std::log(a) + mx[o] : mx[o]);
    } else {
      return fromAcc<Out>(a);
    }
  }
};

template <Op K, typename T>
void reduceTyped(const TensorData& x, const ReducePlan& p, TensorData& y, int threads) {
  const T* px = x.data<T>();
  T* py = y.data<T>();
  if constexpr (K == Op::LogSumExp) {
    // Two passes for stability: the maximum, then log(sum(exp(x - max))) + max.
    std::vector<double> mx(static_cast<size_t>(p.nOut));
    reduceRun(px, p, mx.data(), threads, Reducer<Op::Max, T, double>{});
    Reducer<K, T> r;
    r.mx = mx.data();
    reduceRun(px, p, py, threads, r);
  } else {
    Reducer<K, T> r;
    r.count = p.redCount;
    reduceRun(px, p, py, threads, r);
  }
}

// Reduce*: axes from the attribute (ReduceSum < 13, others < 18) or from the optional
// second input; empty axes reduce everything unless noop_with_empty_axes.
template <Op K>
Expected<KernelFn> makeReduce(const KernelBuildContext& b) {
  const bool keepdims = b.node.intAttr("keepdims", 1) != 0;
  const bool noop = b.node.intAttr("noop_with_empty_axes", 0) != 0;
  const std::vector<int64_t> attrAxes = b.node.intsAttr("axes");
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    std::vector<int64_t> axes = ctx.hasInput(1) ? ctx.input(1).toInt64Vector() : attrAxes;
    if (axes.empty() && noop) {
      ctx.outputs[0] = x;
      return Status::ok();
    }
    const int64_t rank = x.rank();
    std::vector<bool> reduce(static_cast<size_t>(rank), axes.empty());
    for (int64_t a : axes) {
      if (a < -rank || a >= rank) return kernelError(ctx, "axis {} out of range for rank {}", a, rank);
      reduce[static_cast<size_t>(a < 0 ? a + rank : a)] = true;
    }
    const ReducePlan p = makePlan(x.shape(), reduce, keepdims);
    TensorData y = TensorData::allocate(x.dtype(), p.outShape);
    bool ok = false;
    if constexpr (K == Op::Max || K == Op::Min) {
      if (x.dtype() == DataType::Bool) {
        reduceTyped<K, bool>(x, p, y, ctx.threads);  // any / all (opset 20)
        ok = true;
      }
    }
    if (!ok)
      ok = dispatch<ComputeNumericTypes>(x.dtype(), [&](auto tag) { reduceTyped<K, decltype(tag)>(x, p, y, ctx.threads); });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- ArgMax / ArgMin ---------------------------------------------------------------------

// Whether v replaces the current best b. NaN wins like numpy (first NaN, or last).
template <bool kMax, typename C>
inline bool better(C v, C b, bool last) {
  if constexpr (std::is_floating_point_v<C>) {
    if (std::isnan(b)) return last && std::isnan(v);
    if (std::isnan(v)) return true;
  }
  if constexpr (kMax) return last ? v >= b : v > b;
  else return last ? v <= b : v < b;
}

template <bool kMax, typename T>
void argTyped(const T* px, int64_t* py, int64_t outer, int64_t n, int64_t inner, bool last, int threads) {
  using C = Calc<T>;
  parallelFor(outer, threads, [&](int64_t s, int64_t e) {
    std::vector<C> best(static_cast<size_t>(inner));
    for (int64_t o = s; o < e; ++o) {
      const T* base = px + o * n * inner;
      int64_t* idx = py + o * inner;
      if (inner == 1) {
        C b = static_cast<C>(base[0]);
        int64_t bi = 0;
        for (int64_t k = 1; k < n; ++k) {
          const C v = static_cast<C>(base[k]);
          if (better<kMax>(v, b, last)) {
            b = v;
            bi = k;
          }
        }
        idx[0] = bi;
        continue;
      }
      for (int64_t j = 0; j < inner; ++j) {
        best[static_cast<size_t>(j)] = static_cast<C>(base[j]);
        idx[j] = 0;
      }
      for (int64_t k = 1; k < n; ++k) {
        const T* row = base + k * inner;
        for (int64_t j = 0; j < inner; ++j) {
          const C v = static_cast<C>(row[j]);
          if (better<kMax>(v, best[static_cast<size_t>(j)], last)) {
            best[static_cast<size_t>(j)] = v;
            idx[j] = k;
          }
        }
      }
    }
  }, std::max<int64_t>(1, 16384 / std::max<int64_t>(n * inner, 1)));
}

template <bool kMax>
Expected<KernelFn> makeArg(const KernelBuildContext& b) {
  const int64_t axis = b.node.intAttr("axis", 0);
  const bool keepdims = b.node.intAttr("keepdims", 1) != 0;
  const bool last = b.node.intAttr("select_last_index", 0) != 0;
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (x.rank() == 0) {  // a scalar: index 0
      TensorData y = TensorData::allocate(DataType::Int64, {});
      y.data<int64_t>()[0] = 0;
      ctx.outputs[0] = std::move(y);
      return Status::ok();
    }
    ASSIGN_OR_RETURN(const int64_t ax, normalizeAxis(axis, x.rank(), ctx.where()));
    const Shape& s = x.shape();
    const size_t a = static_cast<size_t>(ax);
    const int64_t n = s[a];
    const int64_t outer = elementCount(s, 0, a), inner = elementCount(s, a + 1, s.size());
    Shape out = s;
    if (keepdims) out[a] = 1;
    else out.erase(out.begin() + static_cast<ptrdiff_t>(a));
    TensorData y = TensorData::allocate(DataType::Int64, out);
    if (y.numElements() > 0 && n == 0) return kernelError(ctx, "cannot take the arg{} of an empty axis", kMax ? "max" : "min");
    const bool ok = dispatch<ComputeNumericTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      argTyped<kMax, T>(x.data<T>(), y.data<int64_t>(), outer, n, inner, last, ctx.threads);
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- Softmax / LogSoftmax / Hardmax ------------------------------------------------------

enum class Soft { Softmax, LogSoftmax, Hardmax };

// y over blocks [outer][n][inner], normalizing along n.
template <Soft K, typename T>
void softmaxTyped(const T* px, T* py, int64_t outer, int64_t n, int64_t inner, int threads) {
  using C = Calc<T>;
  const int64_t block = n * inner;
  parallelFor(outer, threads, [&](int64_t s, int64_t e) {
    std::vector<C> buf(K == Soft::Softmax ? static_cast<size_t>(block) : 0);
    std::vector<C> mx(inner > 1 ? static_cast<size_t>(inner) : 0), sum(mx.size());
    std::vector<int64_t> arg(K == Soft::Hardmax ? mx.size() : 0);
    for (int64_t o = s; o < e; ++o) {
      const T* x = px + o * block;
      T* y = py + o * block;
      if (inner == 1) {
        C m = static_cast<C>(x[0]);
        int64_t am = 0;
        for (int64_t i = 1; i < n; ++i) {
          const C v = static_cast<C>(x[i]);
          if (v > m) {
            m = v;
            am = i;
          }
        }
        if constexpr (K == Soft::Hardmax) {
          for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(i == am ? C(1) : C(0));
        } else {
          C total = 0;
          for (int64_t i = 0; i < n; ++i) {
            const C ev = std::exp(static_cast<C>(x[i]) - m);
            if constexpr (K == Soft::Softmax) buf[static_cast<size_t>(i)] = ev;
            total += ev;
          }
          if constexpr (K == Soft::Softmax) {
            const C inv = C(1) / total;
            for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(buf[static_cast<size_t>(i)] * inv);
          } else {
            const C ls = std::log(total);
            for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(static_cast<C>(x[i]) - m - ls);
          }
        }
        continue;
      }
      // Strided: columns j of [n][inner] in parallel, contiguous in j.
      for (int64_t j = 0; j < inner; ++j) {
        mx[static_cast<size_t>(j)] = static_cast<C>(x[j]);
        sum[static_cast<size_t>(j)] = 0;
        if constexpr (K == Soft::Hardmax) arg[static_cast<size_t>(j)] = 0;
      }
      for (int64_t k = 1; k < n; ++k)
        for (int64_t j = 0; j < inner; ++j) {
          const C v = static_cast<C>(x[k * inner + j]);
          if (v > mx[static_cast<size_t>(j)]) {
            mx[static_cast<size_t>(j)] = v;
            if constexpr (K == Soft::Hardmax) arg[static_cast<size_t>(j)] = k;
          }
        }
      if constexpr (K == Soft::Hardmax) {
        for (int64_t k = 0; k < n; ++k)
          for (int64_t j = 0; j < inner; ++j)
            y[k * inner + j] = static_cast<T>(arg[static_cast<size_t>(j)] == k ? C(1) : C(0));
        continue;
      } else {
        for (int64_t k = 0; k < n; ++k)
          for (int64_t j = 0; j < inner; ++j) {
            const C ev = std::exp(static_cast<C>(x[k * inner + j]) - mx[static_cast<size_t>(j)]);
            if constexpr (K == Soft::Softmax) buf[static_cast<size_t>(k * inner + j)] = ev;
            sum[static_cast<size_t>(j)] += ev;
          }
        if constexpr (K == Soft::Softmax) {
          for (int64_t j = 0; j < inner; ++j) sum[static_cast<size_t>(j)] = C(1) / sum[static_cast<size_t>(j)];
          for (int64_t k = 0; k < n; ++k)
            for (int64_t j = 0; j < inner; ++j)
              y[k * inner + j] = static_cast<T>(buf[static_cast<size_t>(k * inner + j)] * sum[static_cast<size_t>(j)]);
        } else {
          for (int64_t j = 0; j < inner; ++j)
            sum[static_cast<size_t>(j)] = mx[static_cast<size_t>(j)] + std::log(sum[static_cast<size_t>(j)]);
          for (int64_t k = 0; k < n; ++k)
            for (int64_t j = 0; j < inner; ++j)
              y[k * inner + j] = static_cast<T>(static_cast<C>(x[k * inner + j]) - sum[static_cast<size_t>(j)]);
        }
      }
    }
  }, std::max<int64_t>(1, 16384 / std::max<int64_t>(block, 1)));
}

template <Soft K>
Expected<KernelFn> makeSoftmax(const KernelBuildContext& b) {
  const bool legacy = b.opset < 13;  // coerce to 2-D at axis
  const int64_t axis = b.node.intAttr("axis", legacy ? 1 : -1);
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const Shape& s = x.shape();
    if (x.rank() == 0) return kernelError(ctx, "input must have rank >= 1");
    // Legacy axis may equal rank ([N, 1] coercion).
    int64_t ax = axis < 0 ? axis + x.rank() : axis;
    if (ax < 0 || ax > x.rank() || (!legacy && ax == x.rank()))
      return kernelError(ctx, "axis {} out of range for rank {}", axis, x.rank());
    const size_t a = static_cast<size_t>(ax);
    const int64_t outer = elementCount(s, 0, a);
    const int64_t n = legacy ? elementCount(s, a, s.size()) : s[a];
    const int64_t inner = legacy ? 1 : elementCount(s, a + 1, s.size());
    TensorData y = TensorData::allocate(x.dtype(), s);
    if (y.numElements() > 0) {
      const bool ok = dispatch<ComputeFloatTypes>(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        softmaxTyped<K, T>(x.data<T>(), y.data<T>(), outer, n, inner, ctx.threads);
      });
      if (!ok) return unsupportedType(ctx, x.dtype());
    }
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- TopK --------------------------------------------------------------------------------

template <typename T>
void topkTyped(const T* px, T* pv, int64_t* pi, int64_t outer, int64_t n, int64_t inner, int64_t k, bool largest,
               int threads) {
  using C = Calc<T>;
  struct Item {
    C v;
    int64_t i;
  };
  // NaN ranks above every number (first when largest, last when smallest); ties by lower index.
  auto gt = [](C a, C b) {
    if constexpr (std::is_floating_point_v<C>)
      if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && !std::isnan(b);
    return a > b;
  };
  auto byLargest = [&](const Item& a, const Item& b) {
    if (gt(a.v, b.v)) return true;
    if (gt(b.v, a.v)) return false;
    return a.i < b.i;
  };
  auto bySmallest = [&](const Item& a, const Item& b) {
    if (gt(b.v, a.v)) return true;
    if (gt(a.v, b.v)) return false;
    return a.i < b.i;
  };
  parallelFor(outer * inner, threads, [&](int64_t s, int64_t e) {
    std::vector<Item> items(static_cast<size_t>(n));
    for (int64_t t = s; t < e; ++t) {
      const int64_t o = t / inner, j = t % inner;
      const T* base = px + o * n * inner + j;
      for (int64_t i = 0; i < n; ++i) items[static_cast<size_t>(i)] = {static_cast<C>(base[i * inner]), i};
      if (largest) std::partial_sort(items.begin(), items.begin() + k, items.end(), byLargest);
      else std::partial_sort(items.begin(), items.begin() + k, items.end(), bySmallest);
      T* vo = pv + o * k * inner + j;
      int64_t* io = pi + o * k * inner + j;
      for (int64_t r = 0; r < k; ++r) {
        const int64_t src = items[static_cast<size_t>(r)].i;
        vo[r * inner] = base[src * inner];
        io[r * inner] = src;
      }
    }
  }, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)));
}

Expected<KernelFn> makeTopK(const KernelBuildContext& b) {
  const bool kFromInput = b.opset >= 10;
  const int64_t kAttr = b.node.intAttr("k", -1);
  if (!kFromInput && kAttr < 0) return buildError(b, "TopK needs a non-negative k attribute");
  const int64_t axis = b.node.intAttr("axis", -1);
  const bool largest = b.node.intAttr("largest", 1) != 0;  // "sorted": we always sort
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    int64_t k = kAttr;
    if (kFromInput) {
      if (!ctx.hasInput(1) || ctx.input(1).numElements() != 1) return kernelError(ctx, "K must be a 1-element tensor");
      k = ctx.input(1).intAt(0);
    }
    if (x.rank() == 0) return kernelError(ctx, "input must have rank >= 1");
    ASSIGN_OR_RETURN(const int64_t ax, normalizeAxis(axis, x.rank(), ctx.where()));
    const Shape& s = x.shape();
    const size_t a = static_cast<size_t>(ax);
    const int64_t n = s[a];
    if (k < 0 || k > n) return kernelError(ctx, "k = {} out of range for axis of size {}", k, n);
    Shape out = s;
    out[a] = k;
    TensorData values = TensorData::allocate(x.dtype(), out);
    TensorData indices = TensorData::allocate(DataType::Int64, out);
    const int64_t outer = elementCount(s, 0, a), inner = elementCount(s, a + 1, s.size());
    bool ok = true;
    if (values.numElements() > 0)
      ok = dispatch<ComputeNumericTypes>(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        topkTyped<T>(x.data<T>(), values.data<T>(), indices.data<int64_t>(), outer, n, inner, k, largest, ctx.threads);
      });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(values);
    if (ctx.outputs.size() > 1) ctx.outputs[1] = std::move(indices);
    return Status::ok();
  });
}

// ---- CumSum ------------------------------------------------------------------------------

template <typename T>
void cumsumTyped(const T* px, T* py, int64_t outer, int64_t n, int64_t inner, bool exclusive, bool reverse,
                 int threads) {
  using A = std::conditional_t<kFloatLike<T>, Calc<T>, std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;
  parallelFor(outer, threads, [&](int64_t s, int64_t e) {
    std::vector<A> acc(static_cast<size_t>(inner));
    for (int64_t o = s; o < e; ++o) {
      std::fill(acc.begin(), acc.end(), A(0));
      for (int64_t step = 0; step < n; ++step) {
        const int64_t k = reverse ? n - 1 - step : step;
        const T* xr = px + (o * n + k) * inner;
        T* yr = py + (o * n + k) * inner;
        for (int64_t j = 0; j < inner; ++j) {
          A& a = acc[static_cast<size_t>(j)];
          if (exclusive) {
            yr[j] = static_cast<T>(a);
            a += static_cast<A>(static_cast<Calc<T>>(xr[j]));
          } else {
            a += static_cast<A>(static_cast<Calc<T>>(xr[j]));
            yr[j] = static_cast<T>(a);
          }
        }
      }
    }
  }, std::max<int64_t>(1, 16384 / std::max<int64_t>(n * inner, 1)));
}

Expected<KernelFn> makeCumSum(const KernelBuildContext& b) {
  const bool exclusive = b.node.intAttr("exclusive", 0) != 0;
  const bool reverse = b.node.intAttr("reverse", 0) != 0;
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (!ctx.hasInput(1) || ctx.input(1).numElements() != 1) return kernelError(ctx, "axis must be a scalar");
    if (x.rank() == 0) return kernelError(ctx, "input must have rank >= 1");
    ASSIGN_OR_RETURN(const int64_t ax, normalizeAxis(ctx.input(1).intAt(0), x.rank(), ctx.where()));
    const Shape& s = x.shape();
    const size_t a = static_cast<size_t>(ax);
    TensorData y = TensorData::allocate(x.dtype(), s);
    const bool ok = dispatch<ComputeNumericTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      cumsumTyped<T>(x.data<T>(), y.data<T>(), elementCount(s, 0, a), s[a], elementCount(s, a + 1, s.size()), exclusive, reverse,
                     ctx.threads);
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> reduceKernels() {
  return {
      {"", "ReduceSum", makeReduce<Op::Sum>},
      {"", "ReduceMean", makeReduce<Op::Mean>},
      {"", "ReduceMax", makeReduce<Op::Max>},
      {"", "ReduceMin", makeReduce<Op::Min>},
      {"", "ReduceProd", makeReduce<Op::Prod>},
      {"", "ReduceL1", makeReduce<Op::L1>},
      {"", "ReduceL2", makeReduce<Op::L2>},
      {"", "ReduceLogSum", makeReduce<Op::LogSum>},
      {"", "ReduceLogSumExp", makeReduce<Op::LogSumExp>},
      {"", "ReduceSumSquare", makeReduce<Op::SumSquare>},
      {"", "ArgMax", makeArg<true>},
      {"", "ArgMin", makeArg<false>},
      {"", "Softmax", makeSoftmax<Soft::Softmax>},
      {"", "LogSoftmax", makeSoftmax<Soft::LogSoftmax>},
      {"", "Hardmax", makeSoftmax<Soft::Hardmax>},
      {"", "TopK", makeTopK},
      {"", "CumSum", makeCumSum},
  };
}

}  // namespace onnxpress::runtime
