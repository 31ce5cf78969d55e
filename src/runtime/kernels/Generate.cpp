// Kernels that build a tensor from attributes, a shape or scalars: Constant,
// ConstantOfShape, Range, OneHot; and the diagonal / triangle matrix ops EyeLike, Trilu.
#include <array>
#include <cstring>

#include "Families.h"
#include "ShapeCommon.h"

namespace onnxpress::runtime {
namespace {

using namespace shapeops;

// ---- Constant, ConstantOfShape -------------------------------------------------------------

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
    if (!fillWithBytes(out, bytes.data(), ctx.threads)) return unsupportedType(ctx, dt);
    ctx.outputs[0] = std::move(out);
    return Status::ok();
  });
}

// ---- EyeLike, Range, OneHot ----------------------------------------------------------------

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
    if (!ok) return unsupportedType(ctx, dt);
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
    if (!ok) return unsupportedType(ctx, s.dtype());
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
    const int64_t outer = elementCount(ind.shape(), 0, static_cast<size_t>(a));
    const int64_t inner = elementCount(ind.shape(), static_cast<size_t>(a), ind.shape().size());
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
    if (!ok) return unsupportedType(ctx, values.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- Trilu ---------------------------------------------------------------------------------

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
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> generateKernels() {
  return {
      {"", "Constant", makeConstant},
      {"", "ConstantOfShape", makeConstantOfShape},
      {"", "EyeLike", makeEyeLike},
      {"", "Range", makeRange},
      {"", "OneHot", makeOneHot},
      {"", "Trilu", makeTrilu},
  };
}

}  // namespace onnxpress::runtime
