// Indexing kernels: Slice, Gather, GatherElements, GatherND, ScatterND,
// ScatterElements (also registered as the older Scatter), NonZero.
// Gathers and plain scatters move elements by size (any whole-byte dtype, and
// STRING); scatters with a reduction dispatch on the dtype.
#include <string>

#include "Families.h"
#include "ShapeCommon.h"

namespace onnxpress::runtime {
namespace {

using namespace shapeops;

// ---- Slice ---------------------------------------------------------------------------------

Expected<KernelFn> makeSlice(const KernelBuildContext& b) {
  const bool attrs = b.opset < 10;
  const std::vector<int64_t> aStarts = b.node.intsAttr("starts"), aEnds = b.node.intsAttr("ends"),
                             aAxes = b.node.intsAttr("axes");
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const int64_t r = x.rank();
    std::vector<int64_t> starts = aStarts, ends = aEnds, axes = aAxes, steps;
    if (!attrs) {
      ASSIGN_OR_RETURN(starts, readInts(ctx, 1, "starts"));
      ASSIGN_OR_RETURN(ends, readInts(ctx, 2, "ends"));
      if (ctx.hasInput(3)) {
        ASSIGN_OR_RETURN(axes, readInts(ctx, 3, "axes"));
      }
      if (ctx.hasInput(4)) {
        ASSIGN_OR_RETURN(steps, readInts(ctx, 4, "steps"));
      }
    }
    if (axes.empty())
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
      return kernelError(ctx, "starts, ends, axes and steps differ in length");
    RETURN_IF_ERROR(normalizeAxes(ctx, axes, r));
    Shape out = x.shape();
    const auto xs = contiguousStrides(x.shape());
    std::vector<int64_t> ss = xs;
    int64_t base = 0;
    bool whole = true;
    for (size_t i = 0; i < axes.size(); ++i) {
      const size_t a = static_cast<size_t>(axes[i]);
      const int64_t dim = x.shape()[a], step = steps[i];
      if (step == 0) return kernelError(ctx, "step must not be zero");
      int64_t s = starts[i], e = ends[i];
      if (s < 0) s += dim;
      if (e < 0) e += dim;
      int64_t count = 0;
      if (step > 0) {
        s = std::clamp<int64_t>(s, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        if (e > s) count = (e - s - 1) / step + 1;
      } else if (dim > 0) {
        s = std::clamp<int64_t>(s, 0, dim - 1);
        e = std::clamp<int64_t>(e, -1, dim - 1);
        if (s > e) count = (s - e - 1) / -step + 1;
      }
      out[a] = count;
      ss[a] = xs[a] * step;
      if (count > 0) base += s * xs[a];
      whole = whole && count == dim && (step == 1 || count <= 1);
    }
    if (whole) {
      ctx.outputs[0] = x;
      return Status::ok();
    }
    TensorData y = TensorData::allocate(x.dtype(), out);
    if (y.numElements() > 0) RETURN_IF_ERROR(copyView(ctx, x, y, out, ss, base));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- Gather, GatherElements, GatherND ------------------------------------------------------

/// Reads indices and wraps negatives against `dim`; fails on out-of-range values.
Expected<std::vector<int64_t>> readIndices(const KernelContext& ctx, size_t i, int64_t dim) {
  ASSIGN_OR_RETURN(auto idx, readInts(ctx, i, "indices"));
  for (auto& v : idx) {
    if (v < -dim || v >= dim) return kernelError(ctx, "index {} out of range for dim {}", v, dim);
    if (v < 0) v += dim;
  }
  return idx;
}

Expected<KernelFn> makeGather(const KernelBuildContext& b) {
  const int64_t axis = b.node.intAttr("axis", 0);
  return KernelFn([axis](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& ind = ctx.input(1);
    if (x.rank() == 0) return kernelError(ctx, "data must have rank >= 1");
    ASSIGN_OR_RETURN(const int64_t a, normalizeAxis(axis, x.rank(), ctx.where()));
    const size_t au = static_cast<size_t>(a);
    const int64_t dim = x.shape()[au];
    ASSIGN_OR_RETURN(auto idx, readIndices(ctx, 1, dim));
    Shape out(x.shape().begin(), x.shape().begin() + a);
    out.insert(out.end(), ind.shape().begin(), ind.shape().end());
    out.insert(out.end(), x.shape().begin() + a + 1, x.shape().end());
    const int64_t outer = elementCount(x.shape(), 0, au), inner = elementCount(x.shape(), au + 1, x.shape().size());
    const int64_t n = static_cast<int64_t>(idx.size());
    TensorData y = TensorData::allocate(x.dtype(), out);
    const bool ok = dispatchElemOrString(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = elems<T>(x);
      T* py = elems<T>(y);
      parallelFor(outer * n, ctx.threads, [&](int64_t s, int64_t e) {
        for (int64_t u = s; u < e; ++u) {
          const int64_t o = u / n, k = u % n;
          const T* src = px + (o * dim + idx[static_cast<size_t>(k)]) * inner;
          if (inner == 1) py[u] = *src;
          else copyRun(py + u * inner, src, inner);
        }
      }, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)));
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

/// Offset in `data` of element `i` of an `indices`-shaped tensor, with the axis coordinate replaced.
struct AxisIndexer {
  Shape idxShape;
  std::vector<int64_t> dataStrides;
  size_t axis;
  int64_t offset(int64_t i, int64_t axisValue) const {
    int64_t off = 0;
    for (size_t d = idxShape.size(); d-- > 0;) {
      const int64_t coord = i % idxShape[d];
      i /= idxShape[d];
      off += (d == axis ? axisValue : coord) * dataStrides[d];
    }
    return off;
  }
};

Status checkElementsShapes(const KernelContext& ctx, const TensorData& data, const TensorData& ind, size_t axis) {
  if (ind.rank() != data.rank()) return kernelError(ctx, "indices rank {} != data rank {}", ind.rank(), data.rank());
  for (size_t d = 0; d < ind.shape().size(); ++d)
    if (d != axis && ind.shape()[d] > data.shape()[d])
      return kernelError(ctx, "indices shape {} exceeds data shape {}", shapeToString(ind.shape()),
                         shapeToString(data.shape()));
  return Status::ok();
}

Expected<KernelFn> makeGatherElements(const KernelBuildContext& b) {
  const int64_t axis = b.node.intAttr("axis", 0);
  return KernelFn([axis](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& ind = ctx.input(1);
    if (x.rank() == 0) return kernelError(ctx, "data must have rank >= 1");
    ASSIGN_OR_RETURN(const int64_t a, normalizeAxis(axis, x.rank(), ctx.where()));
    const size_t au = static_cast<size_t>(a);
    RETURN_IF_ERROR(checkElementsShapes(ctx, x, ind, au));
    ASSIGN_OR_RETURN(auto idx, readIndices(ctx, 1, x.shape()[au]));
    const AxisIndexer ix{ind.shape(), contiguousStrides(x.shape()), au};
    TensorData y = TensorData::allocate(x.dtype(), ind.shape());
    const bool ok = dispatchElemOrString(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = elems<T>(x);
      T* py = elems<T>(y);
      parallelFor(y.numElements(), ctx.threads, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) py[i] = px[ix.offset(i, idx[static_cast<size_t>(i)])];
      });
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

/// Shared index arithmetic of GatherND / ScatterND: `tuples` index tuples of length k, each
/// selecting a slice of `slice` elements; returns element offsets into data.
Expected<std::vector<int64_t>> ndOffsets(const KernelContext& ctx, const TensorData& data, const TensorData& ind,
                                         int64_t batchDims, int64_t& slice) {
  const int64_t r = data.rank(), q = ind.rank();
  if (q < 1) return kernelError(ctx, "indices must have rank >= 1");
  const int64_t k = ind.dim(-1);
  if (r < 1 || batchDims < 0 || batchDims >= std::min(q, r) || k < 0 || k > r - batchDims)
    return kernelError(ctx, "bad indices shape {} for data {} (batch_dims {})", shapeToString(ind.shape()),
                       shapeToString(data.shape()), batchDims);
  for (int64_t d = 0; d < batchDims; ++d)
    if (ind.shape()[static_cast<size_t>(d)] != data.shape()[static_cast<size_t>(d)])
      return kernelError(ctx, "batch dims of indices and data differ");
  ASSIGN_OR_RETURN(auto raw, readInts(ctx, 1, "indices"));
  const auto ds = contiguousStrides(data.shape());
  const size_t b = static_cast<size_t>(batchDims);
  slice = elementCount(data.shape(), b + static_cast<size_t>(k), data.shape().size());
  const int64_t batches = elementCount(data.shape(), 0, b);
  const int64_t batchStride = elementCount(data.shape(), b, data.shape().size());
  const int64_t tuples = k ? static_cast<int64_t>(raw.size()) / k : elementCount(ind.shape(), 0, ind.shape().size() - 1);
  const int64_t perBatch = batches ? tuples / batches : 0;
  std::vector<int64_t> offsets(static_cast<size_t>(tuples));
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = (perBatch ? t / perBatch : 0) * batchStride;
    for (int64_t j = 0; j < k; ++j) {
      const size_t d = b + static_cast<size_t>(j);
      int64_t v = raw[static_cast<size_t>(t * k + j)];
      const int64_t dim = data.shape()[d];
      if (v < -dim || v >= dim) return kernelError(ctx, "index {} out of range for dim {}", v, dim);
      if (v < 0) v += dim;
      off += v * ds[d];
    }
    offsets[static_cast<size_t>(t)] = off;
  }
  return offsets;
}

Expected<KernelFn> makeGatherND(const KernelBuildContext& b) {
  const int64_t batchDims = b.node.intAttr("batch_dims", 0);
  return KernelFn([batchDims](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& ind = ctx.input(1);
    int64_t slice = 0;
    ASSIGN_OR_RETURN(auto offsets, ndOffsets(ctx, x, ind, batchDims, slice));
    Shape out(ind.shape().begin(), ind.shape().end() - 1);
    out.insert(out.end(), x.shape().begin() + batchDims + ind.dim(-1), x.shape().end());
    TensorData y = TensorData::allocate(x.dtype(), out);
    const bool ok = dispatchElemOrString(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = elems<T>(x);
      T* py = elems<T>(y);
      parallelFor(static_cast<int64_t>(offsets.size()), ctx.threads, [&](int64_t s, int64_t e) {
        for (int64_t t = s; t < e; ++t) copyRun(py + t * slice, px + offsets[static_cast<size_t>(t)], slice);
      }, std::max<int64_t>(1, 16384 / std::max<int64_t>(slice, 1)));
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- ScatterND, ScatterElements, Scatter ---------------------------------------------------

enum class Reduction { None, Add, Mul, Max, Min };

Expected<Reduction> parseReduction(const KernelBuildContext& b) {
  const std::string s = b.node.stringAttr("reduction", "none");
  if (s == "none") return Reduction::None;
  if (s == "add") return Reduction::Add;
  if (s == "mul") return Reduction::Mul;
  if (s == "max") return Reduction::Max;
  if (s == "min") return Reduction::Min;
  return buildError(b, "unknown reduction '{}'", s);
}

/// Calls fn(op) with op(current, update) -> new value for the reduction (typed, no per-element switch).
template <typename T, typename F>
void withReducer(Reduction r, F&& fn) {
  if (r == Reduction::None) {
    fn([](const T&, const T& u) { return u; });
    return;
  }
  if constexpr (std::is_arithmetic_v<T> || kHalfLike<T>) {
    switch (r) {
      case Reduction::Add: fn([](const T& a, const T& u) { return static_cast<T>(a + u); }); break;
      case Reduction::Mul: fn([](const T& a, const T& u) { return static_cast<T>(a * u); }); break;
      case Reduction::Max: fn([](const T& a, const T& u) { return a < u ? u : a; }); break;
      case Reduction::Min: fn([](const T& a, const T& u) { return u < a ? u : a; }); break;
      default: break;
    }
  }
}

/// Runs fn(T{}) for the scatter's data dtype: by element size for plain assignment, typed otherwise.
template <typename F>
bool dispatchScatter(DataType dt, Reduction r, F&& fn) {
  if (r == Reduction::None) return dispatchElemOrString(dt, std::forward<F>(fn));
  return dispatch<AllTypes>(dt, std::forward<F>(fn));
}

Expected<KernelFn> makeScatterND(const KernelBuildContext& b) {
  ASSIGN_OR_RETURN(const Reduction red, parseReduction(b));
  return KernelFn([red](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& ind = ctx.input(1);
    const TensorData& upd = ctx.input(2);
    if (upd.dtype() != x.dtype()) return kernelError(ctx, "updates type differs from data");
    int64_t slice = 0;
    ASSIGN_OR_RETURN(auto offsets, ndOffsets(ctx, x, ind, 0, slice));
    Shape expect(ind.shape().begin(), ind.shape().end() - 1);
    expect.insert(expect.end(), x.shape().begin() + ind.dim(-1), x.shape().end());
    if (upd.shape() != expect)
      return kernelError(ctx, "updates shape {} should be {}", shapeToString(upd.shape()), shapeToString(expect));
    TensorData y = x.clone();
    const bool ok = dispatchScatter(x.dtype(), red, [&](auto tag) {
      using T = decltype(tag);
      const T* pu = elems<T>(upd);
      T* py = elems<T>(y);
      withReducer<T>(red, [&](auto op) {
        for (size_t t = 0; t < offsets.size(); ++t) {
          T* dst = py + offsets[t];
          const T* src = pu + static_cast<int64_t>(t) * slice;
          for (int64_t j = 0; j < slice; ++j) dst[j] = op(dst[j], src[j]);
        }
      });
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makeScatterElements(const KernelBuildContext& b) {
  const int64_t axis = b.node.intAttr("axis", 0);
  ASSIGN_OR_RETURN(const Reduction red, parseReduction(b));
  return KernelFn([axis, red](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& ind = ctx.input(1);
    const TensorData& upd = ctx.input(2);
    if (upd.dtype() != x.dtype()) return kernelError(ctx, "updates type differs from data");
    if (upd.shape() != ind.shape()) return kernelError(ctx, "updates and indices shapes differ");
    if (x.rank() == 0) return kernelError(ctx, "data must have rank >= 1");
    ASSIGN_OR_RETURN(const int64_t a, normalizeAxis(axis, x.rank(), ctx.where()));
    const size_t au = static_cast<size_t>(a);
    RETURN_IF_ERROR(checkElementsShapes(ctx, x, ind, au));
    ASSIGN_OR_RETURN(auto idx, readIndices(ctx, 1, x.shape()[au]));
    const AxisIndexer ix{ind.shape(), contiguousStrides(x.shape()), au};
    TensorData y = x.clone();
    const bool ok = dispatchScatter(x.dtype(), red, [&](auto tag) {
      using T = decltype(tag);
      const T* pu = elems<T>(upd);
      T* py = elems<T>(y);
      withReducer<T>(red, [&](auto op) {
        for (size_t i = 0; i < idx.size(); ++i) {
          T& dst = py[ix.offset(static_cast<int64_t>(i), idx[i])];
          dst = op(dst, pu[i]);
        }
      });
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}


// ---- NonZero -------------------------------------------------------------------------------

Expected<KernelFn> makeNonZero(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const Shape shape = x.rank() == 0 ? Shape{1} : x.shape();
    const int64_t r = static_cast<int64_t>(shape.size()), n = x.numElements();
    std::vector<int64_t> hits;
    const bool ok = dispatch<AllTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* p = x.data<T>();
      for (int64_t i = 0; i < n; ++i) {
        bool nz;
        if constexpr (kHalfLike<T>) nz = static_cast<float>(p[i]) != 0.f;
        else nz = p[i] != T{};
        if (nz) hits.push_back(i);
      }
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    const int64_t nnz = static_cast<int64_t>(hits.size());
    TensorData y = TensorData::allocate(DataType::Int64, {r, nnz});
    int64_t* py = y.data<int64_t>();
    for (int64_t k = 0; k < nnz; ++k) {
      int64_t rem = hits[static_cast<size_t>(k)];
      for (int64_t d = r; d-- > 0;) {
        py[d * nnz + k] = rem % shape[static_cast<size_t>(d)];
        rem /= shape[static_cast<size_t>(d)];
      }
    }
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> gatherKernels() {
  return {
      {"", "Slice", makeSlice},
      {"", "Gather", makeGather},
      {"", "GatherElements", makeGatherElements},
      {"", "GatherND", makeGatherND},
      {"", "ScatterND", makeScatterND},
      {"", "ScatterElements", makeScatterElements},
      {"", "Scatter", makeScatterElements},
      {"", "NonZero", makeNonZero},
  };
}

}  // namespace onnxpress::runtime
