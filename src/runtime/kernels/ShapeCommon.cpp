// The shape kernels' shared helpers (ShapeCommon.h). The strided-copy engine: dims
// are merged where contiguous, and a blocked 2-D transpose runs when the source's
// contiguous dim is not the innermost output dim.
#include "ShapeCommon.h"

#include <cstring>

namespace onnxpress::runtime::shapeops {

Expected<std::vector<int64_t>> readInts(const KernelContext& ctx, size_t i, const char* what) {
  const TensorData& t = ctx.input(i);
  std::vector<int64_t> v(static_cast<size_t>(t.numElements()));
  if (t.dtype() == DataType::Int64) {
    if (!v.empty()) std::memcpy(v.data(), t.raw(), v.size() * sizeof(int64_t));
    return v;
  }
  const bool ok = dispatch<AllTypes>(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    for (size_t k = 0; k < v.size(); ++k) {
      if constexpr (std::is_integral_v<T>) v[k] = static_cast<int64_t>(p[k]);
      else v[k] = static_cast<int64_t>(toDouble(p[k]));
    }
  });
  if (!ok) return kernelError(ctx, "{} input has unsupported dtype {}", what, dataTypeName(t.dtype()));
  return v;
}

Expected<std::vector<double>> readDoubles(const KernelContext& ctx, size_t i, const char* what) {
  const TensorData& t = ctx.input(i);
  std::vector<double> v(static_cast<size_t>(t.numElements()));
  const bool ok = dispatch<AllTypes>(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    for (size_t k = 0; k < v.size(); ++k) v[k] = toDouble(p[k]);
  });
  if (!ok) return kernelError(ctx, "{} input has unsupported dtype {}", what, dataTypeName(t.dtype()));
  return v;
}

Status normalizeAxes(const KernelContext& ctx, std::vector<int64_t>& axes, int64_t rank) {
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (auto& a : axes) {
    if (a < -rank || a >= rank) return kernelError(ctx, "axis {} out of range for rank {}", a, rank);
    if (a < 0) a += rank;
    if (seen[static_cast<size_t>(a)]) return kernelError(ctx, "axis {} repeated", a);
    seen[static_cast<size_t>(a)] = true;
  }
  return Status::ok();
}

namespace {

// ---- strided copy engine -------------------------------------------------------------------

struct CopyDims {
  Shape shape;
  std::vector<int64_t> dst, src;
};

// Drops unit dims and merges neighbours that are contiguous in both dst and src.
CopyDims simplifyDims(const Shape& shape, const std::vector<int64_t>& ds, const std::vector<int64_t>& ss) {
  CopyDims c;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (!c.shape.empty() && c.dst.back() == ds[i] * shape[i] && c.src.back() == ss[i] * shape[i]) {
      c.shape.back() *= shape[i];
      c.dst.back() = ds[i];
      c.src.back() = ss[i];
    } else {
      c.shape.push_back(shape[i]);
      c.dst.push_back(ds[i]);
      c.src.push_back(ss[i]);
    }
  }
  return c;
}

/// dst[sum i_d*ds_d] = src[sum i_d*ss_d] over every index of `shape` (strides may be 0 or negative).
template <typename T>
void stridedCopy(T* dst, const T* src, const Shape& shape, const std::vector<int64_t>& ds,
                 const std::vector<int64_t>& ss, int threads) {
  if (elementCount(shape) == 0) return;
  const CopyDims c = simplifyDims(shape, ds, ss);
  const size_t r = c.shape.size();
  if (r == 0) {
    dst[0] = src[0];
    return;
  }
  const int64_t total = elementCount(c.shape);
  const int64_t inner = c.shape[r - 1], di = c.dst[r - 1], si = c.src[r - 1];

  // Transpose-like: the source's unit-stride dim k is not the innermost output dim. Copy in
  // 32x32 tiles over (k, innermost) so both sides stay in cache.
  if (r >= 2 && di == 1 && si != 1 && si != 0 && inner >= 8) {
    size_t k = r;
    for (size_t d = 0; d + 1 < r; ++d)
      if (c.src[d] == 1 && c.shape[d] >= 8) k = d;
    if (k < r) {
      constexpr int64_t B = 32;
      const int64_t nk = c.shape[k], dk = c.dst[k];
      const int64_t tilesK = (nk + B - 1) / B, tilesJ = (inner + B - 1) / B;
      std::vector<size_t> outerDims;
      for (size_t d = 0; d + 1 < r; ++d)
        if (d != k) outerDims.push_back(d);
      const int64_t outer = total / (nk * inner);
      parallelFor(outer * tilesK * tilesJ, threads, [&](int64_t b, int64_t e) {
        for (int64_t u = b; u < e; ++u) {
          const int64_t tj = u % tilesJ, tk = (u / tilesJ) % tilesK;
          int64_t rem = u / tilesJ / tilesK, dOff = 0, sOff = 0;
          for (size_t q = outerDims.size(); q-- > 0;) {
            const size_t d = outerDims[q];
            const int64_t coord = rem % c.shape[d];
            rem /= c.shape[d];
            dOff += coord * c.dst[d];
            sOff += coord * c.src[d];
          }
          const int64_t i1 = std::min(nk, (tk + 1) * B), j0 = tj * B, j1 = std::min(inner, j0 + B);
          for (int64_t i = tk * B; i < i1; ++i) {
            T* o = dst + dOff + i * dk;
            const T* s = src + sOff + i;
            for (int64_t j = j0; j < j1; ++j) o[j] = s[j * si];
          }
        }
      }, 16);
      return;
    }
  }

  // Row-wise: the innermost dim is a memcpy, a fill (broadcast) or a strided loop.
  const int64_t rows = total / inner;
  parallelFor(rows, threads, [&](int64_t b, int64_t e) {
    std::vector<int64_t> idx(r - 1, 0);
    int64_t dOff = 0, sOff = 0, rem = b;
    for (size_t d = r - 1; d-- > 0;) {
      idx[d] = rem % c.shape[d];
      rem /= c.shape[d];
      dOff += idx[d] * c.dst[d];
      sOff += idx[d] * c.src[d];
    }
    for (int64_t row = b; row < e; ++row) {
      T* o = dst + dOff;
      const T* s = src + sOff;
      if (di == 1 && si == 1) copyRun(o, s, inner);
      else if (di == 1 && si == 0) std::fill_n(o, inner, *s);
      else
        for (int64_t j = 0; j < inner; ++j) o[j * di] = s[j * si];
      for (size_t d = r - 1; d-- > 0;) {
        ++idx[d];
        dOff += c.dst[d];
        sOff += c.src[d];
        if (idx[d] < c.shape[d]) break;
        dOff -= c.dst[d] * c.shape[d];
        sOff -= c.src[d] * c.shape[d];
        idx[d] = 0;
      }
    }
  }, std::max<int64_t>(1, 16384 / inner));
}

}  // namespace

Status copyView(const KernelContext& ctx, const TensorData& x, TensorData& out, const Shape& shape,
                const std::vector<int64_t>& ss, int64_t base) {
  const auto ds = contiguousStrides(shape);
  const bool ok = dispatchElemOrString(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    stridedCopy<T>(elems<T>(out), elems<T>(x) + base, shape, ds, ss, ctx.threads);
  });
  return ok ? Status::ok() : unsupportedType(ctx, x.dtype());
}

Status copyInto(const KernelContext& ctx, const TensorData& x, TensorData& out, const std::vector<int64_t>& ds,
                int64_t base) {
  const bool ok = dispatchElemOrString(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    stridedCopy<T>(elems<T>(out) + base, elems<T>(x), x.shape(), ds, contiguousStrides(x.shape()), ctx.threads);
  });
  return ok ? Status::ok() : unsupportedType(ctx, x.dtype());
}

}  // namespace onnxpress::runtime::shapeops
