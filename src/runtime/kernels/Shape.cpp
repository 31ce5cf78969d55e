// Shape and data-movement kernels:
//   Identity, Dropout, Constant, ConstantOfShape, Shape, Size, EyeLike, Range, OneHot, NonZero, Trilu,
//   Reshape, Flatten, Squeeze, Unsqueeze, Expand, Tile, Transpose, Concat, Split, Slice,
//   Gather, GatherElements, GatherND, ScatterND, ScatterElements, Scatter, Pad,
//   DepthToSpace, SpaceToDepth, Resize, Upsample.
// Shape-only ops alias their input (TensorData::reshaped). Ops that only move data dispatch on the
// element size (1/2/4/8/16 bytes) instead of the dtype, and most also accept STRING tensors.
// Copies go through one strided-copy engine (dims merged where contiguous, blocked 2-D transpose
// when the source's contiguous dim is not the innermost output dim).
#include <array>
#include <random>
#include <string>

#include "KernelUtil.h"  // first: brings in Executor.h / Model.h (OpsetImport) for Kernel.h
#include "Families.h"

namespace onnxpress::runtime {
namespace {

// ---- element-size dispatch and typed helpers ----------------------------------------------




template <typename T>
inline T fromDouble(double v) {
  if constexpr (std::is_same_v<T, bool>) return v != 0;
  else if constexpr (kHalfLike<T>) return T(static_cast<float>(v));
  else return static_cast<T>(v);
}

/// Reads a (small) tensor of any numeric/bool dtype as int64 values.
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

/// Reads a (small) numeric tensor as doubles.
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

Status unsupportedDtype(const KernelContext& ctx, DataType dt) {
  return kernelError(ctx, "unsupported dtype {}", dataTypeName(dt));
}

/// Normalizes axes against `rank`, rejecting out-of-range and repeated ones.
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

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < s.size(); ++i) p *= s[i];
  return p;
}

// ---- strided copy engine --------------------------------------------------------------------

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

/// out (contiguous, shape `shape`) = x read with element strides `ss` from element offset `base`.
Status copyView(const KernelContext& ctx, const TensorData& x, TensorData& out, const Shape& shape,
                const std::vector<int64_t>& ss, int64_t base = 0) {
  const auto ds = contiguousStrides(shape);
  const bool ok = dispatchElemOrString(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    stridedCopy<T>(elems<T>(out), elems<T>(x) + base, shape, ds, ss, ctx.threads);
  });
  return ok ? Status::ok() : unsupportedDtype(ctx, x.dtype());
}

// ---- Identity, Dropout, Constant, ConstantOfShape ---------------------------------------------

Expected<KernelFn> makeIdentity(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    if (ctx.hasInput(0)) ctx.outputs[0] = ctx.input(0);  // alias
    return Status::ok();
  });
}

Expected<KernelFn> makeDropout(const KernelBuildContext& b) {
  const int64_t opset = b.opset;
  const float ratioAttr = b.node.floatAttr("ratio", 0.5f);
  const bool maskIsBool = opset >= 10;
  const bool wantMask = b.node.numOutputs() > 1 && b.node.output(1) != nullptr;
  auto rng = std::make_shared<std::mt19937>(b.node.attribute("seed")
                                                ? static_cast<uint32_t>(b.node.intAttr("seed", 0))
                                                : std::random_device{}());
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    double ratio = ratioAttr;
    bool training = false;
    if (opset >= 12) {
      ratio = 0.5;
      if (ctx.hasInput(1)) {
        ASSIGN_OR_RETURN(auto r, readDoubles(ctx, 1, "ratio"));
        if (r.size() != 1) return kernelError(ctx, "ratio must be a scalar");
        ratio = r[0];
      }
      if (ctx.hasInput(2)) {
        ASSIGN_OR_RETURN(auto t, readInts(ctx, 2, "training_mode"));
        training = !t.empty() && t[0] != 0;
      }
    }
    if (!training || ratio == 0) {
      ctx.outputs[0] = x;
      if (wantMask) {
        if (maskIsBool) {
          TensorData m = TensorData::allocate(DataType::Bool, x.shape());
          if (m.numElements()) std::memset(m.raw(), 1, static_cast<size_t>(m.numElements()));
          ctx.outputs[1] = std::move(m);
        } else {
          TensorData m = TensorData::allocate(x.dtype(), x.shape());
          const bool ok = dispatch<AllTypes>(x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            std::fill_n(m.data<T>(), m.numElements(), fromDouble<T>(1.0));
          });
          if (!ok) return unsupportedDtype(ctx, x.dtype());
          ctx.outputs[1] = std::move(m);
        }
      }
      return Status::ok();
    }
    if (ratio < 0 || ratio >= 1) return kernelError(ctx, "ratio {} must be in [0, 1)", ratio);
    TensorData y = TensorData::allocate(x.dtype(), x.shape());
    TensorData m = TensorData::allocate(DataType::Bool, x.shape());
    const double scale = 1.0 / (1.0 - ratio);
    std::uniform_real_distribution<float> uni(0.f, 1.f);
    const bool ok = dispatch<FloatTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* py = y.data<T>();
      bool* pm = m.data<bool>();
      for (int64_t i = 0; i < x.numElements(); ++i) {
        const bool keep = uni(*rng) >= ratio;
        pm[i] = keep;
        py[i] = keep ? fromDouble<T>(toDouble(px[i]) * scale) : fromDouble<T>(0.0);
      }
    });
    if (!ok) return unsupportedDtype(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    if (wantMask) ctx.outputs[1] = std::move(m);
    return Status::ok();
  });
}

/// Expands a sparse tensor (values at linear or [NNZ, rank] indices) into a dense one.
Expected<TensorData> densifySparse(const KernelBuildContext& b, const SparseTensor& s) {
  if (s.values.dtype() == DataType::String || dataTypeBits(s.values.dtype()) % 8 != 0)
    return buildError(b, "sparse_value dtype {} is not supported", dataTypeName(s.values.dtype()));
  TensorData out = TensorData::zeros(s.values.dtype(), s.dims);
  const int64_t nnz = s.values.numElements();
  const size_t elem = static_cast<size_t>(dataTypeBits(s.values.dtype()) / 8);
  const TensorData idx = TensorData::view(s.indices);
  const int64_t rank = static_cast<int64_t>(s.dims.size());
  const bool linear = s.indices.dims().size() == 1;
  const auto strides = contiguousStrides(s.dims);
  for (int64_t k = 0; k < nnz; ++k) {
    int64_t offset = 0;
    if (linear) offset = idx.intAt(k);
    else
      for (int64_t d = 0; d < rank; ++d) offset += idx.intAt(k * rank + d) * strides[static_cast<size_t>(d)];
    if (offset < 0 || offset >= out.numElements()) return buildError(b, "sparse_value index {} out of range", offset);
    std::memcpy(static_cast<uint8_t*>(out.raw()) + static_cast<size_t>(offset) * elem,
                s.values.bytes().data() + static_cast<size_t>(k) * elem, elem);
  }
  return out;
}

Expected<KernelFn> makeConstant(const KernelBuildContext& b) {
  TensorData value;
  for (const Attribute& a : b.node.attributes()) {
    if (a.name == "value" && !a.tensors.empty()) {
      value = TensorData::copyOf(a.tensors[0]);
    } else if (a.name == "sparse_value" && !a.sparseTensors.empty()) {
      ASSIGN_OR_RETURN(value, densifySparse(b, a.sparseTensors[0]));
    } else if (a.name == "value_float") {
      value = TensorData::fromVector(DataType::Float, {}, std::vector<float>{a.f});
    } else if (a.name == "value_floats") {
      value = TensorData::fromVector(DataType::Float, {static_cast<int64_t>(a.floats.size())}, a.floats);
    } else if (a.name == "value_int") {
      value = TensorData::fromVector(DataType::Int64, {}, std::vector<int64_t>{a.i});
    } else if (a.name == "value_ints") {
      value = TensorData::fromVector(DataType::Int64, {static_cast<int64_t>(a.ints.size())}, a.ints);
    } else if (a.name == "value_string") {
      value = TensorData::allocate(DataType::String, {});
      (*value.strings)[0] = a.s;
    } else if (a.name == "value_strings") {
      value = TensorData::allocate(DataType::String, {static_cast<int64_t>(a.strings.size())});
      *value.strings = a.strings;
    }
  }
  if (value.empty()) return buildError(b, "Constant has no value attribute");
  return KernelFn([value](KernelContext& ctx) -> Status {
    ctx.outputs[0] = value;  // shared, never written
    return Status::ok();
  });
}

/// Fills `out` with the element whose raw bytes are `bytes` (packed 4-bit types included).
bool fillWithBytes(TensorData& out, const uint8_t* bytes, int threads) {
  const int bits = dataTypeBits(out.dtype());
  if (bits == 4) {
    const uint8_t v = bytes[0] & 0xF;
    if (out.byteSize()) std::memset(out.raw(), v | (v << 4), out.byteSize());
    return true;
  }
  return dispatchElem(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, bytes, sizeof(T));
    T* p = out.data<T>();
    parallelFor(out.numElements(), threads, [&](int64_t s, int64_t e) { std::fill(p + s, p + e, v); });
  });
}

Expected<KernelFn> makeConstantOfShape(const KernelBuildContext& b) {
  DataType dt = DataType::Float;
  std::array<uint8_t, 16> bytes{};
  if (const Attribute* a = b.node.attribute("value")) {
    if (a->tensors.empty()) return buildError(b, "value must be a tensor");
    const Tensor& t = a->tensors[0];
    if (t.numElements() != 1) return buildError(b, "value must hold one element");
    if (t.dtype() == DataType::String) return buildError(b, "value of type string is not supported");
    dt = t.dtype();
    const auto raw = t.bytes();
    std::memcpy(bytes.data(), raw.data(), std::min(raw.size(), bytes.size()));
  }
  return KernelFn([dt, bytes](KernelContext& ctx) -> Status {
    ASSIGN_OR_RETURN(auto shape, readInts(ctx, 0, "shape"));
    for (int64_t d : shape)
      if (d < 0) return kernelError(ctx, "negative dim in shape {}", shapeToString(shape));
    TensorData out = TensorData::allocate(dt, shape);
    if (!fillWithBytes(out, bytes.data(), ctx.threads)) return unsupportedDtype(ctx, dt);
    ctx.outputs[0] = std::move(out);
    return Status::ok();
  });
}

// ---- Shape, Size, EyeLike, Range, OneHot, NonZero, Trilu ------------------------------------

Expected<KernelFn> makeShape(const KernelBuildContext& b) {
  const int64_t start = b.opset >= 15 ? b.node.intAttr("start", 0) : 0;
  const bool hasEnd = b.opset >= 15 && b.node.attribute("end") != nullptr;
  const int64_t end = b.node.intAttr("end", 0);
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const int64_t r = x.rank();
    const int64_t s = std::clamp<int64_t>(start < 0 ? start + r : start, 0, r);
    const int64_t e = hasEnd ? std::clamp<int64_t>(end < 0 ? end + r : end, 0, r) : r;
    const int64_t n = std::max<int64_t>(0, e - s);
    std::vector<int64_t> dims(x.shape().begin() + s, x.shape().begin() + s + n);
    ctx.outputs[0] = TensorData::fromVector(DataType::Int64, {n}, dims);
    return Status::ok();
  });
}

Expected<KernelFn> makeSize(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    ctx.outputs[0] = TensorData::fromVector(DataType::Int64, {}, std::vector<int64_t>{ctx.input(0).numElements()});
    return Status::ok();
  });
}

Expected<KernelFn> makeEyeLike(const KernelBuildContext& b) {
  const int64_t k = b.node.intAttr("k", 0);
  const bool hasDtype = b.node.attribute("dtype") != nullptr;
  const int64_t rawDtype = b.node.intAttr("dtype", 0);
  if (hasDtype && !isKnownDataType(static_cast<int32_t>(rawDtype))) return buildError(b, "bad dtype {}", rawDtype);
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (x.rank() != 2) return kernelError(ctx, "input must be 2-D, got {}", shapeToString(x.shape()));
    const DataType dt = hasDtype ? static_cast<DataType>(rawDtype) : x.dtype();
    TensorData y = TensorData::zeros(dt, x.shape());
    const int64_t rows = x.dim(0), cols = x.dim(1);
    const bool ok = dispatch<AllTypes>(dt, [&](auto tag) {
      using T = decltype(tag);
      T* p = y.data<T>();
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t j = i + k;
        if (j >= 0 && j < cols) p[i * cols + j] = fromDouble<T>(1.0);
      }
    });
    if (!ok) return unsupportedDtype(ctx, dt);
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makeRange(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& s = ctx.input(0);
    const TensorData& l = ctx.input(1);
    const TensorData& d = ctx.input(2);
    if (s.numElements() != 1 || l.numElements() != 1 || d.numElements() != 1)
      return kernelError(ctx, "start, limit and delta must be scalars");
    if (s.dtype() != l.dtype() || s.dtype() != d.dtype()) return kernelError(ctx, "input types differ");
    TensorData y;
    bool zeroDelta = false;
    const bool ok = dispatch<NumericTypes>(s.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_integral_v<T>) {
        const int64_t start = static_cast<int64_t>(s.data<T>()[0]), limit = static_cast<int64_t>(l.data<T>()[0]),
                      delta = static_cast<int64_t>(d.data<T>()[0]);
        if (delta == 0) { zeroDelta = true; return; }
        int64_t n = 0;
        if (delta > 0 && limit > start) n = (limit - start + delta - 1) / delta;
        if (delta < 0 && limit < start) n = (start - limit - delta - 1) / -delta;
        y = TensorData::allocate(s.dtype(), {n});
        T* p = y.data<T>();
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + i * delta);
      } else {
        const double start = toDouble(s.data<T>()[0]), limit = toDouble(l.data<T>()[0]),
                     delta = toDouble(d.data<T>()[0]);
        if (delta == 0) { zeroDelta = true; return; }
        const int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
        y = TensorData::allocate(s.dtype(), {n});
        T* p = y.data<T>();
        for (int64_t i = 0; i < n; ++i) p[i] = fromDouble<T>(start + static_cast<double>(i) * delta);
      }
    });
    if (!ok) return unsupportedDtype(ctx, s.dtype());
    if (zeroDelta) return kernelError(ctx, "delta must not be zero");
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makeOneHot(const KernelBuildContext& b) {
  const int64_t axis = b.node.intAttr("axis", -1);
  return KernelFn([axis](KernelContext& ctx) -> Status {
    const TensorData& ind = ctx.input(0);
    const TensorData& values = ctx.input(2);
    ASSIGN_OR_RETURN(auto depthV, readDoubles(ctx, 1, "depth"));
    if (depthV.size() != 1) return kernelError(ctx, "depth must hold one element");
    const int64_t depth = static_cast<int64_t>(depthV[0]);
    if (depth <= 0) return kernelError(ctx, "depth {} must be positive", depth);
    if (values.numElements() != 2) return kernelError(ctx, "values must hold [off, on]");
    const int64_t outRank = ind.rank() + 1;
    if (axis < -outRank || axis >= outRank) return kernelError(ctx, "axis {} out of range", axis);
    const int64_t a = axis < 0 ? axis + outRank : axis;
    Shape shape = ind.shape();
    shape.insert(shape.begin() + a, depth);
    ASSIGN_OR_RETURN(auto idx, readInts(ctx, 0, "indices"));
    const int64_t outer = product(ind.shape(), 0, static_cast<size_t>(a));
    const int64_t inner = product(ind.shape(), static_cast<size_t>(a), ind.shape().size());
    TensorData y = TensorData::allocate(values.dtype(), shape);
    const bool ok = dispatchElemOrString(values.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* v = elems<T>(values);
      T* p = elems<T>(y);
      std::fill_n(p, y.numElements(), v[0]);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t k = idx[static_cast<size_t>(o * inner + i)];
          if (k < 0) k += depth;
          if (k >= 0 && k < depth) p[(o * depth + k) * inner + i] = v[1];
        }
    });
    if (!ok) return unsupportedDtype(ctx, values.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

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
    if (!ok) return unsupportedDtype(ctx, x.dtype());
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

Expected<KernelFn> makeTrilu(const KernelBuildContext& b) {
  const bool upper = b.node.intAttr("upper", 1) != 0;
  return KernelFn([upper](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (x.rank() < 2) return kernelError(ctx, "input must have rank >= 2");
    int64_t k = 0;
    if (ctx.hasInput(1)) {
      ASSIGN_OR_RETURN(auto kv, readInts(ctx, 1, "k"));
      if (kv.size() != 1) return kernelError(ctx, "k must be a scalar");
      k = kv[0];
    }
    const int64_t rows = x.dim(-2), cols = x.dim(-1);
    const int64_t mats = rows * cols != 0 ? x.numElements() / (rows * cols) : 0;
    TensorData y = TensorData::allocate(x.dtype(), x.shape());
    const bool ok = dispatchElem(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* py = y.data<T>();
      parallelFor(mats * rows, ctx.threads, [&](int64_t s, int64_t e) {
        for (int64_t row = s; row < e; ++row) {
          const int64_t i = row % rows;
          const T* src = px + row * cols;
          T* dst = py + row * cols;
          // Kept columns: j - i >= k (upper) or j - i <= k (lower).
          const int64_t split = std::clamp<int64_t>(upper ? i + k : i + k + 1, 0, cols);
          if (upper) {
            std::fill_n(dst, split, T{});
            copyRun(dst + split, src + split, cols - split);
          } else {
            copyRun(dst, src, split);
            std::fill_n(dst + split, cols - split, T{});
          }
        }
      }, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)));
    });
    if (!ok) return unsupportedDtype(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- Reshape, Flatten, Squeeze, Unsqueeze (aliasing) ---------------------------------------

Expected<KernelFn> makeReshape(const KernelBuildContext& b) {
  const bool allowZero = b.opset >= 14 && b.node.intAttr("allowzero", 0) != 0;
  const bool shapeAttr = b.opset < 5;
  const std::vector<int64_t> attrShape = b.node.intsAttr("shape");
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    std::vector<int64_t> req = attrShape;
    if (!shapeAttr) {
      ASSIGN_OR_RETURN(req, readInts(ctx, 1, "shape"));
    }
    Shape out(req.size());
    int64_t infer = -1, known = 1;
    for (size_t i = 0; i < req.size(); ++i) {
      int64_t d = req[i];
      if (d == 0 && !allowZero) {
        if (static_cast<int64_t>(i) >= x.rank()) return kernelError(ctx, "shape dim {} copies a missing input dim", i);
        d = x.shape()[i];
      } else if (d == -1) {
        if (infer >= 0) return kernelError(ctx, "shape {} has more than one -1", shapeToString(req));
        infer = static_cast<int64_t>(i);
        continue;
      } else if (d < -1) {
        return kernelError(ctx, "bad shape {}", shapeToString(req));
      }
      out[i] = d;
      known *= d;
    }
    const int64_t total = x.numElements();
    if (infer >= 0) {
      if (known == 0 || total % known != 0)
        return kernelError(ctx, "cannot reshape {} to {}", shapeToString(x.shape()), shapeToString(req));
      out[static_cast<size_t>(infer)] = total / known;
    } else if (known != total) {
      return kernelError(ctx, "cannot reshape {} to {}", shapeToString(x.shape()), shapeToString(req));
    }
    ctx.outputs[0] = x.reshaped(std::move(out));
    return Status::ok();
  });
}

Expected<KernelFn> makeFlatten(const KernelBuildContext& b) {
  const int64_t axis = b.node.intAttr("axis", 1);
  return KernelFn([axis](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const int64_t r = x.rank();
    if (axis < -r || axis > r) return kernelError(ctx, "axis {} out of range for rank {}", axis, r);
    const size_t a = static_cast<size_t>(axis < 0 ? axis + r : axis);
    ctx.outputs[0] = x.reshaped({product(x.shape(), 0, a), product(x.shape(), a, x.shape().size())});
    return Status::ok();
  });
}

Expected<KernelFn> makeSqueeze(const KernelBuildContext& b) {
  const int64_t opset = b.opset;
  const std::vector<int64_t> attrAxes = b.node.intsAttr("axes");
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    std::vector<int64_t> axes = attrAxes;
    if (opset >= 13) {
      axes.clear();
      if (ctx.hasInput(1)) {
        ASSIGN_OR_RETURN(axes, readInts(ctx, 1, "axes"));
      }
    }
    RETURN_IF_ERROR(normalizeAxes(ctx, axes, x.rank()));
    std::vector<bool> drop(static_cast<size_t>(x.rank()), axes.empty());
    for (int64_t a : axes) {
      if (x.shape()[static_cast<size_t>(a)] != 1)
        return kernelError(ctx, "cannot squeeze axis {} of size {}", a, x.shape()[static_cast<size_t>(a)]);
      drop[static_cast<size_t>(a)] = true;
    }
    Shape out;
    for (size_t i = 0; i < x.shape().size(); ++i)
      if (!(drop[i] && x.shape()[i] == 1)) out.push_back(x.shape()[i]);
    ctx.outputs[0] = x.reshaped(std::move(out));
    return Status::ok();
  });
}

Expected<KernelFn> makeUnsqueeze(const KernelBuildContext& b) {
  const int64_t opset = b.opset;
  const std::vector<int64_t> attrAxes = b.node.intsAttr("axes");
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    std::vector<int64_t> axes = attrAxes;
    if (opset >= 13) {
      if (!ctx.hasInput(1)) return kernelError(ctx, "missing axes input");
      ASSIGN_OR_RETURN(axes, readInts(ctx, 1, "axes"));
    }
    const int64_t outRank = x.rank() + static_cast<int64_t>(axes.size());
    RETURN_IF_ERROR(normalizeAxes(ctx, axes, outRank));
    std::vector<bool> inserted(static_cast<size_t>(outRank), false);
    for (int64_t a : axes) inserted[static_cast<size_t>(a)] = true;
    Shape out(static_cast<size_t>(outRank));
    size_t j = 0;
    for (size_t i = 0; i < out.size(); ++i) out[i] = inserted[i] ? 1 : x.shape()[j++];
    ctx.outputs[0] = x.reshaped(std::move(out));
    return Status::ok();
  });
}

// ---- Expand, Tile, Transpose ---------------------------------------------------------------

Expected<KernelFn> makeExpand(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    ASSIGN_OR_RETURN(auto shape, readInts(ctx, 1, "shape"));
    ASSIGN_OR_RETURN(Shape out, broadcastShapes(x.shape(), shape, ctx.where()));
    if (out == x.shape()) {
      ctx.outputs[0] = x;
      return Status::ok();
    }
    TensorData y = TensorData::allocate(x.dtype(), out);
    RETURN_IF_ERROR(copyView(ctx, x, y, out, broadcastStrides(x.shape(), out)));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makeTile(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    ASSIGN_OR_RETURN(auto reps, readInts(ctx, 1, "repeats"));
    const size_t r = x.shape().size();
    if (reps.size() != r) return kernelError(ctx, "repeats has {} values for rank {}", reps.size(), r);
    Shape out(r), view(2 * r);
    std::vector<int64_t> ss(2 * r);
    const auto xs = contiguousStrides(x.shape());
    bool same = true;
    for (size_t d = 0; d < r; ++d) {
      if (reps[d] < 0) return kernelError(ctx, "negative repeat {}", reps[d]);
      out[d] = x.shape()[d] * reps[d];
      same = same && reps[d] == 1;
      view[2 * d] = reps[d];  // [rep_d, dim_d] pairs: out index = rep * dim_d + i
      view[2 * d + 1] = x.shape()[d];
      ss[2 * d] = 0;
      ss[2 * d + 1] = xs[d];
    }
    if (same) {
      ctx.outputs[0] = x;
      return Status::ok();
    }
    TensorData y = TensorData::allocate(x.dtype(), out);
    RETURN_IF_ERROR(copyView(ctx, x, y, view, ss));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makeTranspose(const KernelBuildContext& b) {
  const std::vector<int64_t> permAttr = b.node.intsAttr("perm");
  return KernelFn([permAttr](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const int64_t r = x.rank();
    std::vector<int64_t> perm = permAttr;
    if (perm.empty())
      for (int64_t d = r; d-- > 0;) perm.push_back(d);
    if (static_cast<int64_t>(perm.size()) != r) return kernelError(ctx, "perm size {} != rank {}", perm.size(), r);
    RETURN_IF_ERROR(normalizeAxes(ctx, perm, r));
    Shape out(static_cast<size_t>(r));
    std::vector<int64_t> ss(static_cast<size_t>(r));
    const auto xs = contiguousStrides(x.shape());
    int64_t last = -1;
    bool ordered = true;  // non-unit dims keep their order: a pure reshape
    for (size_t d = 0; d < out.size(); ++d) {
      const size_t p = static_cast<size_t>(perm[d]);
      out[d] = x.shape()[p];
      ss[d] = xs[p];
      if (out[d] != 1) {
        ordered = ordered && perm[d] > last;
        last = perm[d];
      }
    }
    if (ordered) {
      ctx.outputs[0] = x.reshaped(std::move(out));
      return Status::ok();
    }
    TensorData y = TensorData::allocate(x.dtype(), out);
    RETURN_IF_ERROR(copyView(ctx, x, y, out, ss));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- Concat, Split, Slice ------------------------------------------------------------------

Expected<KernelFn> makeConcat(const KernelBuildContext& b) {
  if (!b.node.attribute("axis") && b.opset >= 4) return buildError(b, "missing axis attribute");
  const int64_t axis = b.node.intAttr("axis", 1);
  return KernelFn([axis](KernelContext& ctx) -> Status {
    std::vector<const TensorData*> ins;
    for (size_t i = 0; i < ctx.numInputs(); ++i)
      if (ctx.hasInput(i)) ins.push_back(&ctx.input(i));
    if (ins.empty()) return kernelError(ctx, "no inputs");
    const TensorData& first = *ins[0];
    const int64_t r = first.rank();
    if (axis < -r || axis >= r) return kernelError(ctx, "axis {} out of range for rank {}", axis, r);
    const size_t a = static_cast<size_t>(axis < 0 ? axis + r : axis);
    Shape out = first.shape();
    out[a] = 0;
    for (const TensorData* t : ins) {
      if (t->dtype() != first.dtype()) return kernelError(ctx, "input types differ");
      if (t->rank() != r) return kernelError(ctx, "input ranks differ");
      for (size_t d = 0; d < out.size(); ++d)
        if (d != a && t->shape()[d] != first.shape()[d])
          return kernelError(ctx, "shapes {} and {} differ off axis {}", shapeToString(first.shape()),
                             shapeToString(t->shape()), a);
      out[a] += t->shape()[a];
    }
    if (ins.size() == 1) {
      ctx.outputs[0] = first;
      return Status::ok();
    }
    TensorData y = TensorData::allocate(first.dtype(), out);
    const auto ys = contiguousStrides(out);
    const bool ok = dispatchElemOrString(first.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* py = elems<T>(y);
      int64_t offset = 0;
      for (const TensorData* t : ins) {
        stridedCopy<T>(py + offset * ys[a], elems<T>(*t), t->shape(), ys, contiguousStrides(t->shape()), ctx.threads);
        offset += t->shape()[a];
      }
    });
    if (!ok) return unsupportedDtype(ctx, first.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makeSplit(const KernelBuildContext& b) {
  const int64_t opset = b.opset;
  const int64_t axis = b.node.intAttr("axis", 0);
  const std::vector<int64_t> splitAttr = opset < 13 ? b.node.intsAttr("split") : std::vector<int64_t>{};
  const int64_t numOutputs = opset >= 18 ? b.node.intAttr("num_outputs", 0) : 0;
  if (opset >= 18 && numOutputs && numOutputs != static_cast<int64_t>(b.node.numOutputs()))
    return buildError(b, "num_outputs {} but the node has {} outputs", numOutputs, b.node.numOutputs());
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (x.rank() == 0) return kernelError(ctx, "cannot split a scalar");
    ASSIGN_OR_RETURN(const int64_t a, normalizeAxis(axis, x.rank(), ctx.where()));
    const size_t au = static_cast<size_t>(a);
    const int64_t dim = x.shape()[au];
    const int64_t n = static_cast<int64_t>(ctx.outputs.size());
    std::vector<int64_t> split = splitAttr;
    if (opset >= 13 && ctx.hasInput(1)) {
      ASSIGN_OR_RETURN(split, readInts(ctx, 1, "split"));
    }
    if (split.empty()) {
      if (n == 0) return kernelError(ctx, "no outputs");
      const int64_t chunk = (dim + n - 1) / n;
      if (dim % n != 0 && opset < 18) return kernelError(ctx, "dim {} does not split evenly in {}", dim, n);
      for (int64_t i = 0; i < n; ++i) split.push_back(i + 1 < n ? chunk : dim - chunk * (n - 1));
    }
    if (static_cast<int64_t>(split.size()) != n)
      return kernelError(ctx, "split has {} values for {} outputs", split.size(), n);
    int64_t sum = 0;
    for (int64_t s : split) {
      if (s < 0) return kernelError(ctx, "negative split {}", s);
      sum += s;
    }
    if (sum != dim) return kernelError(ctx, "split sums to {}, axis has {}", sum, dim);
    const auto xs = contiguousStrides(x.shape());
    int64_t offset = 0;
    for (size_t j = 0; j < split.size(); ++j) {
      Shape shape = x.shape();
      shape[au] = split[j];
      if (ctx.node.output(j)) {
        TensorData y = TensorData::allocate(x.dtype(), shape);
        RETURN_IF_ERROR(copyView(ctx, x, y, shape, xs, offset * xs[au]));
        ctx.outputs[j] = std::move(y);
      }
      offset += split[j];
    }
    return Status::ok();
  });
}

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
    const int64_t outer = product(x.shape(), 0, au), inner = product(x.shape(), au + 1, x.shape().size());
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
    if (!ok) return unsupportedDtype(ctx, x.dtype());
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
    if (!ok) return unsupportedDtype(ctx, x.dtype());
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
  slice = product(data.shape(), b + static_cast<size_t>(k), data.shape().size());
  const int64_t batches = product(data.shape(), 0, b);
  const int64_t batchStride = product(data.shape(), b, data.shape().size());
  const int64_t tuples = k ? static_cast<int64_t>(raw.size()) / k : product(ind.shape(), 0, ind.shape().size() - 1);
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
    if (!ok) return unsupportedDtype(ctx, x.dtype());
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
    if (!ok) return unsupportedDtype(ctx, x.dtype());
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
    if (!ok) return unsupportedDtype(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- Pad -----------------------------------------------------------------------------------

enum class PadMode { Constant, Reflect, Edge, Wrap };

Expected<KernelFn> makePad(const KernelBuildContext& b) {
  const int64_t opset = b.opset;
  const std::string m = b.node.stringAttr("mode", "constant");
  PadMode mode;
  if (m == "constant") mode = PadMode::Constant;
  else if (m == "reflect") mode = PadMode::Reflect;
  else if (m == "edge") mode = PadMode::Edge;
  else if (m == "wrap") mode = PadMode::Wrap;
  else return buildError(b, "unknown pad mode '{}'", m);
  const std::vector<int64_t> padsAttr = b.node.attribute("pads") ? b.node.intsAttr("pads") : b.node.intsAttr("paddings");
  const double valueAttr = b.node.floatAttr("value", 0.f);
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const int64_t r = x.rank();
    const size_t ru = static_cast<size_t>(r);
    std::vector<int64_t> pads = padsAttr;
    if (opset >= 11) {
      ASSIGN_OR_RETURN(pads, readInts(ctx, 1, "pads"));
    }
    std::vector<int64_t> axes;
    if (opset >= 18 && ctx.hasInput(3)) {
      ASSIGN_OR_RETURN(axes, readInts(ctx, 3, "axes"));
      RETURN_IF_ERROR(normalizeAxes(ctx, axes, r));
    } else {
      for (int64_t d = 0; d < r; ++d) axes.push_back(d);
    }
    if (pads.size() != 2 * axes.size())
      return kernelError(ctx, "pads has {} values for {} axes", pads.size(), axes.size());
    std::vector<int64_t> begin(ru, 0), end(ru, 0);
    for (size_t i = 0; i < axes.size(); ++i) {
      begin[static_cast<size_t>(axes[i])] = pads[i];
      end[static_cast<size_t>(axes[i])] = pads[i + axes.size()];
    }
    Shape out(ru);
    for (size_t d = 0; d < ru; ++d) {
      out[d] = x.shape()[d] + begin[d] + end[d];
      if (out[d] < 0) return kernelError(ctx, "pads make dim {} negative", d);
      if (mode != PadMode::Constant && x.shape()[d] == 0 && out[d] > 0)
        return kernelError(ctx, "cannot {} pad an empty dim", m);
    }
    // The constant, as raw bytes of x's dtype.
    std::array<uint8_t, 16> cval{};
    if (opset < 11) {
      dispatch<AllTypes>(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T v = fromDouble<T>(valueAttr);
        std::memcpy(cval.data(), &v, sizeof(T));
      });
    } else if (ctx.hasInput(2) && ctx.input(2).numElements() > 0) {
      const TensorData& c = ctx.input(2);
      if (c.dtype() != x.dtype()) return kernelError(ctx, "constant_value type differs from data");
      if (c.dtype() != DataType::String)
        std::memcpy(cval.data(), c.raw(), std::min<size_t>(cval.size(), dataTypeStorageBytes(c.dtype(), 1)));
    }
    // Per dim: output coordinate -> input coordinate, or -1 for the constant.
    std::vector<std::vector<int64_t>> maps(ru);
    for (size_t d = 0; d < ru; ++d) {
      const int64_t n = x.shape()[d];
      maps[d].resize(static_cast<size_t>(out[d]));
      for (int64_t o = 0; o < out[d]; ++o) {
        int64_t i = o - begin[d];
        switch (mode) {
          case PadMode::Constant: if (i < 0 || i >= n) i = -1; break;
          case PadMode::Edge: i = std::clamp<int64_t>(i, 0, n - 1); break;
          case PadMode::Wrap: i = ((i % n) + n) % n; break;
          case PadMode::Reflect:
            if (n == 1) {
              i = 0;
            } else {
              const int64_t p = 2 * (n - 1);
              i = ((i % p) + p) % p;
              if (i >= n) i = p - i;
            }
            break;
        }
        maps[d][static_cast<size_t>(o)] = i;
      }
    }
    TensorData y = TensorData::allocate(x.dtype(), out);
    if (y.numElements() == 0) {
      ctx.outputs[0] = std::move(y);
      return Status::ok();
    }
    const auto xs = contiguousStrides(x.shape());
    const bool ok = dispatchElem(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T c;
      std::memcpy(&c, cval.data(), sizeof(T));
      const T* px = x.data<T>();
      T* py = y.data<T>();
      if (r == 0) {
        py[0] = px[0];
        return;
      }
      const int64_t inner = out[ru - 1], bl = begin[ru - 1];
      const std::vector<int64_t>& mapL = maps[ru - 1];
      // Output columns [mid0, mid1) copy a contiguous run of the input row.
      const int64_t mid0 = std::clamp<int64_t>(bl, 0, inner);
      const int64_t mid1 = std::clamp<int64_t>(bl + x.shape()[ru - 1], mid0, inner);
      parallelFor(y.numElements() / inner, ctx.threads, [&](int64_t s, int64_t e) {
        for (int64_t row = s; row < e; ++row) {
          T* o = py + row * inner;
          int64_t rem = row, off = 0;
          bool constant = false;
          for (size_t d = ru - 1; d-- > 0;) {
            const int64_t i = maps[d][static_cast<size_t>(rem % out[d])];
            rem /= out[d];
            if (i < 0) constant = true;
            off += i * xs[d];
          }
          if (constant) {
            std::fill_n(o, inner, c);
            continue;
          }
          const T* src = px + off;
          for (int64_t j = 0; j < mid0; ++j) o[j] = mapL[static_cast<size_t>(j)] < 0 ? c : src[mapL[static_cast<size_t>(j)]];
          copyRun(o + mid0, src + (mid0 - bl), mid1 - mid0);
          for (int64_t j = mid1; j < inner; ++j) o[j] = mapL[static_cast<size_t>(j)] < 0 ? c : src[mapL[static_cast<size_t>(j)]];
        }
      }, std::max<int64_t>(1, 16384 / inner));
    });
    if (!ok) return unsupportedDtype(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- DepthToSpace, SpaceToDepth ------------------------------------------------------------

Expected<KernelFn> makeDepthToSpace(const KernelBuildContext& b) {
  const int64_t bs = b.node.intAttr("blocksize", 0);
  const std::string mode = b.opset >= 11 ? b.node.stringAttr("mode", "DCR") : "DCR";
  if (bs <= 0) return buildError(b, "blocksize must be positive");
  if (mode != "DCR" && mode != "CRD") return buildError(b, "unknown mode '{}'", mode);
  const bool dcr = mode == "DCR";
  return KernelFn([bs, dcr](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (x.rank() != 4) return kernelError(ctx, "input must be 4-D");
    const int64_t n = x.dim(0), ch = x.dim(1), h = x.dim(2), w = x.dim(3);
    if (ch % (bs * bs) != 0) return kernelError(ctx, "channels {} not divisible by blocksize^2", ch);
    const int64_t c = ch / (bs * bs), hw = h * w;
    // Output viewed as [N, c, H, b1, W, b2].
    const Shape view{n, c, h, bs, w, bs};
    const std::vector<int64_t> ss = dcr ? std::vector<int64_t>{ch * hw, hw, w, bs * c * hw, 1, c * hw}
                                        : std::vector<int64_t>{ch * hw, bs * bs * hw, w, bs * hw, 1, hw};
    TensorData y = TensorData::allocate(x.dtype(), {n, c, h * bs, w * bs});
    RETURN_IF_ERROR(copyView(ctx, x, y, view, ss));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makeSpaceToDepth(const KernelBuildContext& b) {
  const int64_t bs = b.node.intAttr("blocksize", 0);
  if (bs <= 0) return buildError(b, "blocksize must be positive");
  return KernelFn([bs](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (x.rank() != 4) return kernelError(ctx, "input must be 4-D");
    const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    if (h % bs != 0 || w % bs != 0) return kernelError(ctx, "spatial dims not divisible by blocksize {}", bs);
    // Output viewed as [N, b1, b2, C, H/bs, W/bs].
    const Shape view{n, bs, bs, c, h / bs, w / bs};
    const std::vector<int64_t> ss{c * h * w, w, 1, h * w, bs * w, bs};
    TensorData y = TensorData::allocate(x.dtype(), {n, c * bs * bs, h / bs, w / bs});
    RETURN_IF_ERROR(copyView(ctx, x, y, view, ss));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- Resize, Upsample ----------------------------------------------------------------------

struct ResizeConfig {
  enum class Mode { Nearest, Linear, Cubic } mode = Mode::Nearest;
  enum class Coord { HalfPixel, HalfPixelSymmetric, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNn,
                     TfCropAndResize } coord = Coord::HalfPixel;
  // Simple: Upsample and Resize-10 (floor when upsampling, ceil when downsampling).
  enum class Round { PreferFloor, PreferCeil, Floor, Ceil, Simple } round = Round::PreferFloor;
  double cubicA = -0.75;
  bool excludeOutside = false;
  double extrapolation = 0;
  bool antialias = false;
  int aspect = 0;  // 0 stretch, 1 not_larger, 2 not_smaller
  std::vector<int64_t> axes;
  int roiInput = -1, scalesInput = -1, sizesInput = -1;
  bool hasScalesAttr = false;
  std::vector<float> scalesAttr;
};

/// Interpolation taps of one axis: for output index o, k (input offset, weight) pairs.
struct AxisTaps {
  int64_t k = 1;
  std::vector<int64_t> off;
  std::vector<double> w;
  std::vector<uint8_t> outside;  // tf_crop_and_resize: use the extrapolation value
  bool identity = false;
};

AxisTaps buildTaps(const ResizeConfig& cfg, int64_t inLen, int64_t outLen, double scale, double roiStart,
                   double roiEnd, int64_t stride) {
  using C = ResizeConfig::Coord;
  using R = ResizeConfig::Round;
  const double outF = scale * static_cast<double>(inLen);  // the reference's (float) output length
  const double in = static_cast<double>(inLen);
  // Taps per output index before packing: at most maxTaps each.
  const bool aa = cfg.antialias && scale < 1 && cfg.mode != ResizeConfig::Mode::Nearest;
  const int64_t aaStart =
      aa ? static_cast<int64_t>(std::floor((cfg.mode == ResizeConfig::Mode::Cubic ? -2.0 : -1.0) / scale)) + 1 : 0;
  const size_t maxTaps = aa ? static_cast<size_t>(2 - 2 * aaStart)
                            : cfg.mode == ResizeConfig::Mode::Nearest ? 1 : cfg.mode == ResizeConfig::Mode::Linear ? 2 : 4;
  std::vector<std::pair<int64_t, double>> all(static_cast<size_t>(outLen) * maxTaps);
  std::vector<size_t> counts(static_cast<size_t>(outLen), 0);
  AxisTaps t;
  t.outside.assign(static_cast<size_t>(outLen), 0);
  std::vector<std::pair<int64_t, double>> taps;
  for (int64_t x = 0; x < outLen; ++x) {
    const double xr = static_cast<double>(x);
    double xo = 0;
    switch (cfg.coord) {
      case C::HalfPixel: xo = (xr + 0.5) / scale - 0.5; break;
      case C::HalfPixelSymmetric: {
        const double adj = static_cast<double>(outLen) / outF, center = in / 2;
        xo = center * (1 - adj) + (xr + 0.5) / scale - 0.5;
        break;
      }
      case C::PytorchHalfPixel: xo = outF > 1 ? (xr + 0.5) / scale - 0.5 : 0; break;
      case C::AlignCorners: xo = outF == 1 ? 0 : xr * (in - 1) / (outF - 1); break;
      case C::Asymmetric: xo = xr / scale; break;
      case C::TfHalfPixelForNn: xo = (xr + 0.5) / scale; break;
      case C::TfCropAndResize:
        xo = outF == 1 ? (roiEnd - roiStart) * (in - 1) / 2 : xr * (roiEnd - roiStart) * (in - 1) / (outF - 1);
        xo += roiStart * (in - 1);
        if (xo < 0 || xo > in - 1) t.outside[static_cast<size_t>(x)] = 1;
        break;
    }
    taps.clear();
    if (cfg.mode == ResizeConfig::Mode::Nearest) {
      int64_t i;
      if (cfg.round == R::Simple) {
        i = scale < 1 ? static_cast<int64_t>(std::ceil(xo)) : static_cast<int64_t>(xo);
      } else {
        const double fl = std::floor(xo), ratio = xo - fl;
        i = static_cast<int64_t>(fl);
        if (ratio != 0) {
          switch (cfg.round) {
            case R::PreferFloor: i += ratio > 0.5; break;
            case R::PreferCeil: i += ratio >= 0.5; break;
            case R::Ceil: i += 1; break;
            default: break;
          }
        }
      }
      taps.emplace_back(i, 1.0);
    } else {
      // Neighbours x_int + i with ratio in (0, 1], as in the ONNX reference.
      double fl = std::floor(xo), ratio = xo - fl;
      if (ratio == 0) {
        ratio = 1;
        fl -= 1;
      }
      const int64_t base = static_cast<int64_t>(fl);
      const double a = cfg.cubicA;
      if (aa) {
        const bool cubic = cfg.mode == ResizeConfig::Mode::Cubic;
        double sum = 0;
        for (int64_t i = aaStart; i < aaStart + static_cast<int64_t>(maxTaps); ++i) {
          const double d = std::abs(scale * (static_cast<double>(i) - ratio));
          double c;
          if (!cubic) c = std::clamp(1 - d, 0.0, 1.0);
          else if (d <= 1) c = ((a + 2) * d - (a + 3)) * d * d + 1;
          else if (d < 2) c = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
          else c = 0;
          taps.emplace_back(base + i, c);
          sum += c;
        }
        if (sum != 0)
          for (auto& tp : taps) tp.second /= sum;
      } else if (cfg.mode == ResizeConfig::Mode::Linear) {
        taps.emplace_back(base, 1 - ratio);
        taps.emplace_back(base + 1, ratio);
      } else {
        const double r1 = ratio + 1, r2 = 1 - ratio, r3 = 2 - ratio;
        taps.emplace_back(base - 1, ((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a);
        taps.emplace_back(base, ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1);
        taps.emplace_back(base + 1, ((a + 2) * r2 - (a + 3)) * r2 * r2 + 1);
        taps.emplace_back(base + 2, ((a * r3 - 5 * a) * r3 + 8 * a) * r3 - 4 * a);
      }
      if (cfg.excludeOutside) {
        double sum = 0;
        for (auto& tp : taps) {
          if (tp.first < 0 || tp.first >= inLen) tp.second = 0;
          sum += tp.second;
        }
        if (sum != 0)
          for (auto& tp : taps) tp.second /= sum;
      }
    }
    // Keep the non-zero taps, with indices clamped to the input (edge padding).
    auto* dst = all.data() + static_cast<size_t>(x) * maxTaps;
    size_t& cnt = counts[static_cast<size_t>(x)];
    for (const auto& tp : taps)
      if (tp.second != 0 && cnt < maxTaps) dst[cnt++] = {std::clamp<int64_t>(tp.first, 0, inLen - 1), tp.second};
    if (cnt == 0) dst[cnt++] = {std::clamp<int64_t>(taps[0].first, 0, inLen - 1), 0.0};
    t.k = std::max<int64_t>(t.k, static_cast<int64_t>(cnt));
  }
  t.off.assign(static_cast<size_t>(outLen * t.k), 0);
  t.w.assign(static_cast<size_t>(outLen * t.k), 0.0);
  t.identity = outLen == inLen && t.k == 1;
  for (int64_t x = 0; x < outLen; ++x) {
    const auto* src = all.data() + static_cast<size_t>(x) * maxTaps;
    for (size_t j = 0; j < counts[static_cast<size_t>(x)]; ++j) {
      t.off[static_cast<size_t>(x * t.k) + j] = src[j].first * stride;
      t.w[static_cast<size_t>(x * t.k) + j] = src[j].second;
    }
    if (t.k != 1 || src[0].first != x || src[0].second != 1.0 || t.outside[static_cast<size_t>(x)]) t.identity = false;
  }
  return t;
}

template <typename T>
inline T fromAcc(double v) {
  if constexpr (std::is_integral_v<T>) {
    v = std::nearbyint(v);
    v = std::clamp(v, static_cast<double>(std::numeric_limits<T>::lowest()),
                   static_cast<double>(std::numeric_limits<T>::max()));
    return static_cast<T>(v);
  } else {
    return fromDouble<T>(v);
  }
}

/// Nearest: every output element copies one input element (any dtype, by element size).
template <typename T>
void resizeGather(const T* src, T* dst, const Shape& out, const std::vector<AxisTaps>& taps, T extrap, int threads) {
  const size_t r = out.size();
  const int64_t inner = out[r - 1];
  const AxisTaps& last = taps[r - 1];
  parallelFor(elementCount(out) / inner, threads, [&](int64_t s, int64_t e) {
    for (int64_t row = s; row < e; ++row) {
      T* o = dst + row * inner;
      int64_t rem = row, off = 0;
      bool outside = false;
      for (size_t d = r - 1; d-- > 0;) {
        const size_t i = static_cast<size_t>(rem % out[d]);
        rem /= out[d];
        off += taps[d].off[i];
        outside = outside || taps[d].outside[i];
      }
      if (outside) std::fill_n(o, inner, extrap);
      else if (last.identity) copyRun(o, src + off, inner);
      else
        for (int64_t j = 0; j < inner; ++j) o[j] = last.outside[static_cast<size_t>(j)] ? extrap : src[off + last.off[static_cast<size_t>(j)]];
    }
  }, std::max<int64_t>(1, 16384 / inner));
}

/// Linear / cubic: weighted sum over the product of the per-axis taps.
template <typename T, typename Acc>
void resizeWeighted(const T* src, T* dst, const Shape& out, const std::vector<AxisTaps>& taps, double extrap,
                    int threads) {
  const size_t r = out.size();
  const int64_t inner = out[r - 1];
  const AxisTaps& last = taps[r - 1];
  const int64_t kl = last.k;
  std::vector<Acc> wl(last.w.size());
  for (size_t i = 0; i < wl.size(); ++i) wl[i] = static_cast<Acc>(last.w[i]);
  const T ex = fromAcc<T>(extrap);
  parallelFor(elementCount(out) / inner, threads, [&](int64_t s, int64_t e) {
    std::vector<int64_t> cOff, nOff;
    std::vector<Acc> cW, nW;
    for (int64_t row = s; row < e; ++row) {
      T* o = dst + row * inner;
      // Combinations of the outer axes' taps for this row.
      cOff.assign(1, 0);
      cW.assign(1, Acc(1));
      int64_t rem = row;
      bool outside = false;
      for (size_t d = r - 1; d-- > 0;) {
        const int64_t i = rem % out[d];
        rem /= out[d];
        const AxisTaps& t = taps[d];
        outside = outside || t.outside[static_cast<size_t>(i)];
        nOff.clear();
        nW.clear();
        for (int64_t q = 0; q < t.k; ++q) {
          const double w = t.w[static_cast<size_t>(i * t.k + q)];
          if (w == 0 && q > 0) continue;
          for (size_t c = 0; c < cOff.size(); ++c) {
            nOff.push_back(cOff[c] + t.off[static_cast<size_t>(i * t.k + q)]);
            nW.push_back(cW[c] * static_cast<Acc>(w));
          }
        }
        cOff.swap(nOff);
        cW.swap(nW);
      }
      if (outside) {
        std::fill_n(o, inner, ex);
        continue;
      }
      for (int64_t j = 0; j < inner; ++j) {
        if (last.outside[static_cast<size_t>(j)]) {
          o[j] = ex;
          continue;
        }
        Acc acc = 0;
        for (int64_t q = 0; q < kl; ++q) {
          const size_t tq = static_cast<size_t>(j * kl + q);
          if (wl[tq] == 0) continue;
          const T* p = src + last.off[tq];
          Acc part = 0;
          for (size_t c = 0; c < cOff.size(); ++c) part += cW[c] * static_cast<Acc>(toDouble(p[cOff[c]]));
          acc += wl[tq] * part;
        }
        o[j] = fromAcc<T>(static_cast<double>(acc));
      }
    }
  }, std::max<int64_t>(1, 4096 / inner));
}

Status runResize(const ResizeConfig& cfg, KernelContext& ctx) {
  const TensorData& x = ctx.input(0);
  const int64_t r = x.rank();
  const size_t ru = static_cast<size_t>(r);
  if (r == 0) {
    ctx.outputs[0] = x;
    return Status::ok();
  }
  std::vector<int64_t> axes = cfg.axes;
  if (axes.empty())
    for (int64_t d = 0; d < r; ++d) axes.push_back(d);
  else
    RETURN_IF_ERROR(normalizeAxes(ctx, axes, r));
  std::vector<double> scales;
  std::vector<int64_t> sizes;
  if (cfg.hasScalesAttr) {
    scales.assign(cfg.scalesAttr.begin(), cfg.scalesAttr.end());
  } else if (cfg.scalesInput >= 0 && ctx.hasInput(static_cast<size_t>(cfg.scalesInput)) &&
             ctx.input(static_cast<size_t>(cfg.scalesInput)).numElements() > 0) {
    ASSIGN_OR_RETURN(scales, readDoubles(ctx, static_cast<size_t>(cfg.scalesInput), "scales"));
  }
  if (scales.empty() && cfg.sizesInput >= 0 && ctx.hasInput(static_cast<size_t>(cfg.sizesInput))) {
    ASSIGN_OR_RETURN(sizes, readInts(ctx, static_cast<size_t>(cfg.sizesInput), "sizes"));
  }
  std::vector<double> scale(ru, 1.0);
  Shape out = x.shape();
  if (!scales.empty()) {
    if (scales.size() != axes.size()) return kernelError(ctx, "scales has {} values for {} axes", scales.size(), axes.size());
    for (size_t i = 0; i < axes.size(); ++i) {
      if (!(scales[i] > 0)) return kernelError(ctx, "scale {} must be positive", scales[i]);
      const size_t d = static_cast<size_t>(axes[i]);
      scale[d] = scales[i];
      out[d] = static_cast<int64_t>(scales[i] * static_cast<double>(x.shape()[d]));
    }
  } else if (!sizes.empty()) {
    if (sizes.size() != axes.size()) return kernelError(ctx, "sizes has {} values for {} axes", sizes.size(), axes.size());
    for (size_t i = 0; i < axes.size(); ++i) {
      const size_t d = static_cast<size_t>(axes[i]);
      if (sizes[i] < 0) return kernelError(ctx, "negative size {}", sizes[i]);
      out[d] = sizes[i];
      scale[d] = x.shape()[d] ? static_cast<double>(sizes[i]) / static_cast<double>(x.shape()[d]) : 1.0;
    }
    if (cfg.aspect != 0) {
      double s = scale[static_cast<size_t>(axes[0])];
      for (int64_t a : axes)
        s = cfg.aspect == 1 ? std::min(s, scale[static_cast<size_t>(a)]) : std::max(s, scale[static_cast<size_t>(a)]);
      for (int64_t a : axes) {
        const size_t d = static_cast<size_t>(a);
        scale[d] = s;
        out[d] = static_cast<int64_t>(s * static_cast<double>(x.shape()[d]) + 0.5);
      }
    }
  } else {
    return kernelError(ctx, "needs scales or sizes");
  }
  std::vector<double> roiStart(ru, 0.0), roiEnd(ru, 1.0);
  if (cfg.coord == ResizeConfig::Coord::TfCropAndResize && cfg.roiInput >= 0 &&
      ctx.hasInput(static_cast<size_t>(cfg.roiInput))) {
    ASSIGN_OR_RETURN(auto roi, readDoubles(ctx, static_cast<size_t>(cfg.roiInput), "roi"));
    if (!roi.empty() && roi.size() != 2 * axes.size())
      return kernelError(ctx, "roi has {} values for {} axes", roi.size(), axes.size());
    for (size_t i = 0; i < axes.size() && !roi.empty(); ++i) {
      roiStart[static_cast<size_t>(axes[i])] = roi[i];
      roiEnd[static_cast<size_t>(axes[i])] = roi[i + axes.size()];
    }
  }
  if (elementCount(out) == 0) {
    ctx.outputs[0] = TensorData::allocate(x.dtype(), out);
    return Status::ok();
  }
  if (x.numElements() == 0) return kernelError(ctx, "cannot resize an empty tensor to {}", shapeToString(out));
  const auto xs = contiguousStrides(x.shape());
  std::vector<AxisTaps> taps(ru);
  bool identity = true;
  for (size_t d = 0; d < ru; ++d) {
    taps[d] = buildTaps(cfg, x.shape()[d], out[d], scale[d], roiStart[d], roiEnd[d], xs[d]);
    identity = identity && taps[d].identity;
  }
  if (identity) {
    ctx.outputs[0] = x;
    return Status::ok();
  }
  TensorData y = TensorData::allocate(x.dtype(), out);
  bool ok;
  if (cfg.mode == ResizeConfig::Mode::Nearest) {
    std::array<uint8_t, 16> exBytes{};
    dispatch<AllTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T v = fromAcc<T>(cfg.extrapolation);
      std::memcpy(exBytes.data(), &v, sizeof(T));
    });
    ok = dispatchElem(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T ex;
      std::memcpy(&ex, exBytes.data(), sizeof(T));
      resizeGather<T>(x.data<T>(), y.data<T>(), out, taps, ex, ctx.threads);
    });
  } else {
    ok = dispatch<NumericTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using Acc = std::conditional_t<std::is_same_v<T, double> || std::is_same_v<T, int64_t> ||
                                         std::is_same_v<T, uint64_t> || std::is_same_v<T, int32_t> ||
                                         std::is_same_v<T, uint32_t>,
                                     double, float>;
      resizeWeighted<T, Acc>(x.data<T>(), y.data<T>(), out, taps, cfg.extrapolation, ctx.threads);
    });
  }
  if (!ok) return unsupportedDtype(ctx, x.dtype());
  ctx.outputs[0] = std::move(y);
  return Status::ok();
}

Expected<ResizeConfig::Mode> parseResizeMode(const KernelBuildContext& b, bool allowCubic) {
  const std::string m = b.node.stringAttr("mode", "nearest");
  if (m == "nearest") return ResizeConfig::Mode::Nearest;
  if (m == "linear" || m == "bilinear") return ResizeConfig::Mode::Linear;
  if (m == "cubic" && allowCubic) return ResizeConfig::Mode::Cubic;
  return buildError(b, "unsupported mode '{}'", m);
}

Expected<KernelFn> makeResize(const KernelBuildContext& b) {
  ResizeConfig cfg;
  const Node& n = b.node;
  ASSIGN_OR_RETURN(cfg.mode, parseResizeMode(b, b.opset >= 11));
  if (b.opset < 11) {
    cfg.scalesInput = 1;
    cfg.coord = ResizeConfig::Coord::Asymmetric;
    cfg.round = ResizeConfig::Round::Simple;
  } else {
    cfg.roiInput = 1;
    cfg.scalesInput = 2;
    cfg.sizesInput = 3;
    using C = ResizeConfig::Coord;
    const std::string c = n.stringAttr("coordinate_transformation_mode", "half_pixel");
    if (c == "half_pixel") cfg.coord = C::HalfPixel;
    else if (c == "half_pixel_symmetric") cfg.coord = C::HalfPixelSymmetric;
    else if (c == "pytorch_half_pixel") cfg.coord = C::PytorchHalfPixel;
    else if (c == "align_corners") cfg.coord = C::AlignCorners;
    else if (c == "asymmetric") cfg.coord = C::Asymmetric;
    else if (c == "tf_half_pixel_for_nn") cfg.coord = C::TfHalfPixelForNn;
    else if (c == "tf_crop_and_resize") cfg.coord = C::TfCropAndResize;
    else return buildError(b, "unknown coordinate_transformation_mode '{}'", c);
    using R = ResizeConfig::Round;
    const std::string nm = n.stringAttr("nearest_mode", "round_prefer_floor");
    if (nm == "round_prefer_floor") cfg.round = R::PreferFloor;
    else if (nm == "round_prefer_ceil") cfg.round = R::PreferCeil;
    else if (nm == "floor") cfg.round = R::Floor;
    else if (nm == "ceil") cfg.round = R::Ceil;
    else return buildError(b, "unknown nearest_mode '{}'", nm);
    cfg.cubicA = n.floatAttr("cubic_coeff_a", -0.75f);
    cfg.excludeOutside = n.intAttr("exclude_outside", 0) != 0;
    cfg.extrapolation = n.floatAttr("extrapolation_value", 0.f);
    if (b.opset >= 18) {
      cfg.antialias = n.intAttr("antialias", 0) != 0;
      if (cfg.antialias && cfg.mode == ResizeConfig::Mode::Nearest)
        return buildError(b, "antialias is not supported with mode 'nearest'");
      cfg.axes = n.intsAttr("axes");
      const std::string k = n.stringAttr("keep_aspect_ratio_policy", "stretch");
      if (k == "stretch") cfg.aspect = 0;
      else if (k == "not_larger") cfg.aspect = 1;
      else if (k == "not_smaller") cfg.aspect = 2;
      else return buildError(b, "unknown keep_aspect_ratio_policy '{}'", k);
    }
  }
  return KernelFn([cfg](KernelContext& ctx) -> Status { return runResize(cfg, ctx); });
}

Expected<KernelFn> makeUpsample(const KernelBuildContext& b) {
  ResizeConfig cfg;
  ASSIGN_OR_RETURN(cfg.mode, parseResizeMode(b, false));
  cfg.coord = ResizeConfig::Coord::Asymmetric;
  cfg.round = ResizeConfig::Round::Simple;
  if (b.opset < 9) {
    const Attribute* a = b.node.attribute("scales");
    if (!a) return buildError(b, "missing scales attribute");
    cfg.hasScalesAttr = true;
    cfg.scalesAttr = a->floats;
  } else {
    cfg.scalesInput = 1;
  }
  return KernelFn([cfg](KernelContext& ctx) -> Status { return runResize(cfg, ctx); });
}

}  // namespace

std::vector<KernelEntry> shapeKernels() {
  return {
      {"", "Identity", makeIdentity},
      {"", "Dropout", makeDropout},
      {"", "Constant", makeConstant},
      {"", "ConstantOfShape", makeConstantOfShape},
      {"", "Shape", makeShape},
      {"", "Size", makeSize},
      {"", "EyeLike", makeEyeLike},
      {"", "Range", makeRange},
      {"", "OneHot", makeOneHot},
      {"", "NonZero", makeNonZero},
      {"", "Trilu", makeTrilu},
      {"", "Reshape", makeReshape},
      {"", "Flatten", makeFlatten},
      {"", "Squeeze", makeSqueeze},
      {"", "Unsqueeze", makeUnsqueeze},
      {"", "Expand", makeExpand},
      {"", "Tile", makeTile},
      {"", "Transpose", makeTranspose},
      {"", "Concat", makeConcat},
      {"", "Split", makeSplit},
      {"", "Slice", makeSlice},
      {"", "Gather", makeGather},
      {"", "GatherElements", makeGatherElements},
      {"", "GatherND", makeGatherND},
      {"", "ScatterND", makeScatterND},
      {"", "ScatterElements", makeScatterElements},
      {"", "Scatter", makeScatterElements},
      {"", "Pad", makePad},
      {"", "DepthToSpace", makeDepthToSpace},
      {"", "SpaceToDepth", makeSpaceToDepth},
      {"", "Resize", makeResize},
      {"", "Upsample", makeUpsample},
  };
}

}  // namespace onnxpress::runtime
