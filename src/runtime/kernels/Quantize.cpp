// Quantization kernels:
//   QuantizeLinear, DequantizeLinear (opsets 10, 13, 19, 21: per-tensor, per-axis,
//     blocked; int8/uint8/int16/uint16/int32 (DQ only)/int4/uint4/float8 codes),
//     also registered for com.microsoft (same semantics);
//   DynamicQuantizeLinear (11), QLinearConv (10), QLinearMatMul (10, 21),
//   MatMulInteger (10), ConvInteger (10), com.microsoft MatMulNBits.
// Rounding is half to even (std::nearbyint in the default rounding mode). Integer
// products accumulate in int32 through Eigen GEMMs; requantization multiplies the
// int32 accumulator by the float scale ratio, as ONNX Runtime does.
#include <Eigen/Core>

#include <array>
#include <cmath>
#include <cstring>

#include "Families.h"
#include "KernelUtil.h"

namespace onnxpress::runtime {
namespace {


// ---- element codes -----------------------------------------------------------------------

bool isFloat8(DataType dt) {
  return dt == DataType::Float8E4M3FN || dt == DataType::Float8E4M3FNUZ || dt == DataType::Float8E5M2 ||
         dt == DataType::Float8E5M2FNUZ;
}
bool is4Bit(DataType dt) { return dt == DataType::Int4 || dt == DataType::UInt4; }

/// Integer range of a quantized integer type; false for other types.
bool intRange(DataType dt, int64_t& lo, int64_t& hi) {
  switch (dt) {
    case DataType::UInt8: lo = 0; hi = 255; return true;
    case DataType::Int8: lo = -128; hi = 127; return true;
    case DataType::UInt16: lo = 0; hi = 65535; return true;
    case DataType::Int16: lo = -32768; hi = 32767; return true;
    case DataType::Int32: lo = std::numeric_limits<int32_t>::min(); hi = std::numeric_limits<int32_t>::max(); return true;
    case DataType::UInt4: lo = 0; hi = 15; return true;
    case DataType::Int4: lo = -8; hi = 7; return true;
    default: return false;
  }
}

int32_t read4Bit(const uint8_t* p, int64_t i, bool isSigned) {
  const int32_t nib = (p[i >> 1] >> ((i & 1) * 4)) & 0xF;
  return isSigned ? (nib ^ 8) - 8 : nib;
}

struct F8Format {
  int ebits, mbits, bias;
  bool fnuz;
  uint8_t maxCode;
};

F8Format f8Format(DataType dt) {
  switch (dt) {
    case DataType::Float8E4M3FN: return {4, 3, 7, false, 0x7E};
    case DataType::Float8E4M3FNUZ: return {4, 3, 8, true, 0x7F};
    case DataType::Float8E5M2: return {5, 2, 15, false, 0x7B};
    default: return {5, 2, 16, true, 0x7F};  // Float8E5M2FNUZ
  }
}

float decodeF8(uint8_t v, const F8Format& f) {
  if (f.fnuz && v == 0x80) return std::numeric_limits<float>::quiet_NaN();
  const bool neg = (v & 0x80) != 0;
  const int e = (v >> f.mbits) & ((1 << f.ebits) - 1);
  const int m = v & ((1 << f.mbits) - 1);
  if (!f.fnuz) {
    if (f.ebits == 4 && e == 15 && m == 7) return std::numeric_limits<float>::quiet_NaN();
    if (f.ebits == 5 && e == 31)
      return m ? std::numeric_limits<float>::quiet_NaN()
               : (neg ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity());
  }
  const float mag = e == 0 ? std::ldexp(static_cast<float>(m), 1 - f.bias - f.mbits)
                           : std::ldexp(static_cast<float>((1 << f.mbits) + m), e - f.bias - f.mbits);
  return neg ? -mag : mag;
}

/// Float8 encoder: round to nearest even, out-of-range values saturate or become inf/NaN (ONNX Cast rules).
struct F8Encoder {
  F8Format f;
  bool saturate;
  std::array<float, 128> values{};  // positive codes 0..maxCode

  F8Encoder(DataType dt, bool sat) : f(f8Format(dt)), saturate(sat) {
    for (int c = 0; c <= f.maxCode; ++c) values[c] = decodeF8(static_cast<uint8_t>(c), f);
  }
  uint8_t operator()(float x) const {
    const uint8_t sign = std::signbit(x) ? 0x80 : 0;
    const uint8_t nan = f.fnuz ? 0x80 : static_cast<uint8_t>(0x7F | sign);
    if (std::isnan(x)) return nan;
    const double a = std::fabs(static_cast<double>(x));
    const double maxVal = values[f.maxCode];
    const uint8_t overflow = saturate ? static_cast<uint8_t>(sign | f.maxCode)
                                      : (!f.fnuz && f.ebits == 5 ? static_cast<uint8_t>(sign | 0x7C) : nan);
    if (std::isinf(a)) return overflow;
    int code;
    if (a >= maxVal) {
      const double half = (maxVal - values[f.maxCode - 1]) / 2;
      const bool down = a < maxVal + half || (a == maxVal + half && (f.maxCode & 1) == 0);
      if (!down) return overflow;
      code = f.maxCode;
    } else {
      // Largest code with value <= a, then round to the nearer neighbour (ties to even).
      int lo = 0, hi = f.maxCode;
      while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        (values[mid] <= a ? lo : hi) = mid;
      }
      const double d1 = a - values[lo], d2 = values[hi] - a;
      code = d1 < d2 ? lo : d2 < d1 ? hi : ((lo & 1) == 0 ? lo : hi);
    }
    if (code == 0 && f.fnuz) return 0;  // no negative zero
    return static_cast<uint8_t>(code | sign);
  }
};

/// Reads a float-like (or integer) tensor as floats.
std::vector<float> readFloats(const TensorData& t) {
  std::vector<float> out(static_cast<size_t>(t.numElements()));
  const bool ok = dispatch<FloatTypes>(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(p[i]);
  });
  if (!ok)
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(t.doubleAt(static_cast<int64_t>(i)));
  return out;
}

/// Reads a quantized tensor's elements (integer, 4-bit or float8 codes) as floats; for zero points.
Expected<std::vector<float>> readCodes(const TensorData& t, const std::string& where) {
  const int64_t n = t.numElements();
  std::vector<float> out(static_cast<size_t>(n));
  if (is4Bit(t.dtype())) {
    for (int64_t i = 0; i < n; ++i)
      out[i] = static_cast<float>(read4Bit(t.data<uint8_t>(), i, t.dtype() == DataType::Int4));
  } else if (isFloat8(t.dtype())) {
    const F8Format f = f8Format(t.dtype());
    for (int64_t i = 0; i < n; ++i) out[i] = decodeF8(t.data<uint8_t>()[i], f);
  } else {
    int64_t lo, hi;
    if (!intRange(t.dtype(), lo, hi) && !dispatch<FloatTypes>(t.dtype(), [](auto) {}))
      return invalidInput("node {}: unsupported zero point type {}", where, dataTypeName(t.dtype()));
    return readFloats(t);
  }
  return out;
}

// ---- Q/DQ layout -------------------------------------------------------------------------

/// x seen as [pre, D, post] around the quantization axis; which scale each element uses.
struct QLayout {
  enum Mode { PerTensor, PerAxis, Blocked } mode = PerTensor;
  int64_t pre = 1, D = 1, post = 1, block = 0, numBlocks = 1;
  int64_t scaleIndex(int64_t p, int64_t d, int64_t q) const {
    switch (mode) {
      case PerTensor: return 0;
      case PerAxis: return d;
      default: return (p * numBlocks + d / block) * post + q;
    }
  }
};

Expected<QLayout> makeLayout(const KernelContext& ctx, const TensorData& x, const TensorData& scale, int64_t axisAttr,
                             int64_t blockSize) {
  QLayout L;
  L.pre = 1;
  L.D = x.numElements();
  L.post = 1;
  if (blockSize <= 0 && scale.numElements() == 1) return L;
  ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(axisAttr, x.rank(), ctx.where()));
  if (x.rank() == 0) return kernelError(ctx, "per-axis scale needs a non-scalar input");
  L.pre = 1;
  L.post = 1;
  for (int64_t i = 0; i < x.rank(); ++i) {
    if (i < axis) L.pre *= x.dim(i);
    if (i > axis) L.post *= x.dim(i);
  }
  L.D = x.dim(axis);
  if (blockSize > 0) {
    L.mode = QLayout::Blocked;
    L.block = blockSize;
    L.numBlocks = (L.D + blockSize - 1) / blockSize;
    bool ok = scale.rank() == x.rank();
    for (int64_t i = 0; ok && i < x.rank(); ++i) ok = scale.dim(i) == (i == axis ? L.numBlocks : x.dim(i));
    if (!ok)
      return kernelError(ctx, "blocked scale has shape {}, expected input shape {} with axis {} of size {}",
                         shapeToString(scale.shape()), shapeToString(x.shape()), axis, L.numBlocks);
    return L;
  }
  L.mode = QLayout::PerAxis;
  if (scale.rank() != 1 || scale.dim(0) != L.D)
    return kernelError(ctx, "per-axis scale has shape {}, expected [{}] (axis {} of {})", shapeToString(scale.shape()),
                       L.D, axis, shapeToString(x.shape()));
  return L;
}

/// Runs fn(i, scaleIndex) over every element, in parallel over [pre, D] rows.
template <typename Fn>
void forEachQuantElement(const QLayout& L, int threads, Fn fn) {
  parallelFor(L.pre * L.D, threads, [&](int64_t s, int64_t e) {
    for (int64_t row = s; row < e; ++row) {
      const int64_t p = row / L.D, d = row % L.D;
      const int64_t base = row * L.post;
      if (L.mode == QLayout::Blocked) {
        const int64_t sb = (p * L.numBlocks + d / L.block) * L.post;
        for (int64_t q = 0; q < L.post; ++q) fn(base + q, sb + q);
      } else {
        const int64_t si = L.scaleIndex(p, d, 0);
        for (int64_t q = 0; q < L.post; ++q) fn(base + q, si);
      }
    }
  }, std::max<int64_t>(1, 16384 / std::max<int64_t>(L.post, 1)));
}

// ---- QuantizeLinear ----------------------------------------------------------------------

struct QuantAttrs {
  int64_t axis = 1;
  int64_t blockSize = 0;
  DataType outputDtype = DataType::Undefined;
  bool saturate = true;
};

float clampRound(float v, float lo, float hi) {
  v = std::nearbyint(v);
  if (!(v >= lo)) return lo;  // NaN -> lo
  return v > hi ? hi : v;
}

Status quantize(const QuantAttrs& a, KernelContext& ctx, const TensorData& x, const std::vector<float>& scales,
                const std::vector<float>& zps, const QLayout& L, DataType outType, Shape outShape, size_t slot) {
  TensorData y = TensorData::allocate(outType, std::move(outShape));
  const int64_t n = x.numElements();
  bool ok = true;
  int64_t lo = 0, hi = 0;
  const bool isInt = intRange(outType, lo, hi) && outType != DataType::Int32;
  if (!isInt && !isFloat8(outType)) return kernelError(ctx, "unsupported output type {}", dataTypeName(outType));
  const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
  const bool hasZp = !zps.empty();
  ok = dispatch<TypeList<float, double, half, bfloat16, int32_t>>(x.dtype(), [&](auto tag) {
    using TX = decltype(tag);
    const TX* px = x.data<TX>();
    auto value = [&](int64_t i, int64_t si) {
      return static_cast<float>(px[i]) / scales[si];
    };
    if (isFloat8(outType)) {
      const F8Encoder enc(outType, a.saturate);
      uint8_t* py = y.data<uint8_t>();
      forEachQuantElement(L, ctx.threads, [&](int64_t i, int64_t si) {
        py[i] = enc(value(i, si) + (hasZp ? zps[si] : 0.f));
      });
    } else if (is4Bit(outType)) {
      std::vector<int8_t> tmp(static_cast<size_t>(n));
      forEachQuantElement(L, ctx.threads, [&](int64_t i, int64_t si) {
        tmp[i] = static_cast<int8_t>(clampRound(value(i, si), flo - (hasZp ? zps[si] : 0.f),
                                                fhi - (hasZp ? zps[si] : 0.f)) + (hasZp ? zps[si] : 0.f));
      });
      uint8_t* py = y.data<uint8_t>();
      std::memset(py, 0, y.byteSize());
      for (int64_t i = 0; i < n; ++i) py[i >> 1] |= static_cast<uint8_t>((tmp[i] & 0xF) << ((i & 1) * 4));
    } else {
      dispatch<TypeList<uint8_t, int8_t, uint16_t, int16_t>>(outType, [&](auto otag) {
        using TY = decltype(otag);
        TY* py = y.data<TY>();
        forEachQuantElement(L, ctx.threads, [&](int64_t i, int64_t si) {
          const float z = hasZp ? zps[si] : 0.f;
          float v = std::nearbyint(value(i, si)) + z;
          if (!(v >= flo)) v = flo;
          if (v > fhi) v = fhi;
          py[i] = static_cast<TY>(v);
        });
      });
    }
  });
  if (!ok) return kernelError(ctx, "unsupported input type {}", dataTypeName(x.dtype()));
  ctx.outputs[slot] = std::move(y);
  return Status::ok();
}

Expected<KernelFn> makeQuantizeLinear(const KernelBuildContext& b) {
  QuantAttrs a;
  a.axis = b.node.intAttr("axis", 1);
  a.blockSize = b.node.intAttr("block_size", 0);
  a.saturate = b.node.intAttr("saturate", 1) != 0;
  if (a.blockSize < 0) return buildError(b, "block_size {} is negative", a.blockSize);
  if (const int64_t od = b.node.intAttr("output_dtype", 0); od != 0) {
    if (!isKnownDataType(static_cast<int32_t>(od))) return buildError(b, "output_dtype {} is unknown", od);
    a.outputDtype = static_cast<DataType>(od);
  }
  return KernelFn([a](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& scale = ctx.input(1);
    const TensorData* zp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
    DataType outType = zp ? zp->dtype() : (a.outputDtype != DataType::Undefined ? a.outputDtype : DataType::UInt8);
    if (zp && a.outputDtype != DataType::Undefined && a.outputDtype != zp->dtype())
      return kernelError(ctx, "output_dtype {} differs from the zero point type {}", dataTypeName(a.outputDtype),
                         dataTypeName(zp->dtype()));
    ASSIGN_OR_RETURN(QLayout L, makeLayout(ctx, x, scale, a.axis, a.blockSize));
    const std::vector<float> scales = readFloats(scale);
    std::vector<float> zps;
    if (zp) {
      if (zp->numElements() != scale.numElements())
        return kernelError(ctx, "zero point shape {} differs from scale shape {}", shapeToString(zp->shape()),
                           shapeToString(scale.shape()));
      ASSIGN_OR_RETURN(zps, readCodes(*zp, ctx.where()));
    }
    return quantize(a, ctx, x, scales, zps, L, outType, x.shape(), 0);
  });
}

// ---- DequantizeLinear --------------------------------------------------------------------

Expected<KernelFn> makeDequantizeLinear(const KernelBuildContext& b) {
  const int64_t axisAttr = b.node.intAttr("axis", 1);
  const int64_t blockSize = b.node.intAttr("block_size", 0);
  if (blockSize < 0) return buildError(b, "block_size {} is negative", blockSize);
  return KernelFn([axisAttr, blockSize](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& scale = ctx.input(1);
    const TensorData* zp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
    ASSIGN_OR_RETURN(QLayout L, makeLayout(ctx, x, scale, axisAttr, blockSize));
    const std::vector<float> scales = readFloats(scale);
    std::vector<float> zps;
    if (zp) {
      if (zp->dtype() != x.dtype())
        return kernelError(ctx, "zero point type {} differs from input type {}", dataTypeName(zp->dtype()),
                           dataTypeName(x.dtype()));
      if (zp->numElements() != scale.numElements())
        return kernelError(ctx, "zero point shape {} differs from scale shape {}", shapeToString(zp->shape()),
                           shapeToString(scale.shape()));
      ASSIGN_OR_RETURN(zps, readCodes(*zp, ctx.where()));
    }
    const bool hasZp = !zps.empty();
    DataType outType = scale.dtype();
    if (!dispatch<FloatTypes>(outType, [](auto) {})) outType = DataType::Float;
    TensorData y = TensorData::allocate(outType, x.shape());
    const DataType xt = x.dtype();
    bool ok = true;
    dispatch<TypeList<float, half, bfloat16, double>>(outType, [&](auto otag) {
      using TY = decltype(otag);
      TY* py = y.data<TY>();
      auto run = [&](auto get) {
        forEachQuantElement(L, ctx.threads, [&](int64_t i, int64_t si) {
          py[i] = static_cast<TY>((get(i) - (hasZp ? zps[si] : 0.f)) * scales[si]);
        });
      };
      if (is4Bit(xt)) {
        const uint8_t* p = x.data<uint8_t>();
        const bool s = xt == DataType::Int4;
        run([p, s](int64_t i) { return static_cast<float>(read4Bit(p, i, s)); });
      } else if (isFloat8(xt)) {
        const F8Format f = f8Format(xt);
        std::array<float, 256> table;
        for (int c = 0; c < 256; ++c) table[c] = decodeF8(static_cast<uint8_t>(c), f);
        const uint8_t* p = x.data<uint8_t>();
        run([p, &table](int64_t i) { return table[p[i]]; });
      } else if (xt == DataType::Int32) {
        // (x - zp) in integers first, as ONNX Runtime does, then to float.
        const int32_t* p = x.data<int32_t>();
        forEachQuantElement(L, ctx.threads, [&](int64_t i, int64_t si) {
          const int64_t z = hasZp ? static_cast<int64_t>(zps[si]) : 0;
          py[i] = static_cast<TY>(static_cast<float>(p[i] - z) * scales[si]);
        });
      } else {
        ok = dispatch<TypeList<uint8_t, int8_t, uint16_t, int16_t>>(xt, [&](auto xtag) {
          using TX = decltype(xtag);
          const TX* p = x.data<TX>();
          run([p](int64_t i) { return static_cast<float>(p[i]); });
        });
      }
    });
    if (!ok) return kernelError(ctx, "unsupported input type {}", dataTypeName(xt));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- DynamicQuantizeLinear ---------------------------------------------------------------

Expected<KernelFn> makeDynamicQuantizeLinear(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (x.dtype() != DataType::Float) return kernelError(ctx, "input must be float, got {}", dataTypeName(x.dtype()));
    const float* px = x.data<float>();
    const int64_t n = x.numElements();
    float mn = 0.f, mx = 0.f;  // the range always includes zero
    for (int64_t i = 0; i < n; ++i) {
      mn = std::min(mn, px[i]);
      mx = std::max(mx, px[i]);
    }
    const float scale = mx == mn ? 1.f : (mx - mn) / 255.f;
    const float zpf = clampRound(0.f - mn / scale, 0.f, 255.f);
    TensorData y = TensorData::allocate(DataType::UInt8, x.shape());
    uint8_t* py = y.data<uint8_t>();
    parallelFor(n, ctx.threads, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        float v = std::nearbyint(px[i] / scale) + zpf;
        py[i] = static_cast<uint8_t>(!(v >= 0.f) ? 0.f : v > 255.f ? 255.f : v);
      }
    });
    ctx.outputs[0] = std::move(y);
    if (ctx.outputs.size() > 1) ctx.outputs[1] = TensorData::fromVector<float>(DataType::Float, {}, {scale});
    if (ctx.outputs.size() > 2)
      ctx.outputs[2] = TensorData::fromVector<uint8_t>(DataType::UInt8, {}, {static_cast<uint8_t>(zpf)});
    return Status::ok();
  });
}

// ---- integer matmul ----------------------------------------------------------------------

/// numpy.matmul shapes: batch broadcasting, 1-D operands promoted and their axis dropped.
struct MatMulPlan {
  Shape outShape, aShape, bShape;  // a/b promoted to rank >= 2
  int64_t M = 0, K = 0, N = 0, batch = 1, aBatches = 1, bBatches = 1;
  std::vector<int64_t> aIdx, bIdx;  // per output batch: matrix index in a / b
};

Expected<MatMulPlan> planMatMul(const Shape& a, const Shape& b, const std::string& where) {
  if (a.empty() || b.empty()) return invalidInput("node {}: matmul operands must not be scalars", where);
  MatMulPlan p;
  p.aShape = a.size() == 1 ? Shape{1, a[0]} : a;
  p.bShape = b.size() == 1 ? Shape{b[0], 1} : b;
  p.M = p.aShape[p.aShape.size() - 2];
  p.K = p.aShape.back();
  p.N = p.bShape.back();
  if (p.bShape[p.bShape.size() - 2] != p.K)
    return invalidInput("node {}: matmul shapes {} and {} do not match", where, shapeToString(a), shapeToString(b));
  const Shape ab(p.aShape.begin(), p.aShape.end() - 2), bb(p.bShape.begin(), p.bShape.end() - 2);
  ASSIGN_OR_RETURN(Shape ob, broadcastShapes(ab, bb, where));
  p.batch = elementCount(ob);
  p.aBatches = elementCount(ab);
  p.bBatches = elementCount(bb);
  const auto sa = broadcastStrides(ab, ob), sb = broadcastStrides(bb, ob);
  p.aIdx.resize(static_cast<size_t>(p.batch));
  p.bIdx.resize(static_cast<size_t>(p.batch));
  for (int64_t i = 0; i < p.batch; ++i) {
    int64_t rem = i, ia = 0, ib = 0;
    for (size_t d = ob.size(); d-- > 0;) {
      const int64_t c = rem % ob[d];
      rem /= ob[d];
      ia += c * sa[d];
      ib += c * sb[d];
    }
    p.aIdx[i] = ia;
    p.bIdx[i] = ib;
  }
  p.outShape = ob;
  if (a.size() > 1) p.outShape.push_back(p.M);
  if (b.size() > 1) p.outShape.push_back(p.N);
  return p;
}

/// Broadcasts a per-row (a) or per-column (b) parameter (zero point or scale) to one value
/// per row/column of every matrix: `target` is the operand's shape with the reduced axis set to 1.
/// An empty result means "absent"; one element means per-tensor.
Expected<std::vector<double>> expandParam(const TensorData* t, Shape target, bool perRow, const std::string& where,
                                          const char* what) {
  if (!t) return std::vector<double>{};
  if (t->numElements() == 1) return std::vector<double>{t->doubleAt(0)};
  Shape ts = t->shape();
  if (ts.size() == 1 && perRow) ts = {ts[0], 1};
  auto bs = broadcastShapes(ts, target, where);
  if (!bs || *bs != target || ts.size() > target.size())
    return invalidInput("node {}: {} of shape {} does not fit operand shape {}", where, what, shapeToString(t->shape()),
                        shapeToString(target));
  const auto strides = broadcastStrides(ts, target);
  const int64_t n = elementCount(target);
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, off = 0;
    for (size_t d = target.size(); d-- > 0;) {
      off += (rem % target[d]) * strides[d];
      rem /= target[d];
    }
    out[i] = t->doubleAt(off);
  }
  return out;
}

double paramAt(const std::vector<double>& v, int64_t i, double fallback) {
  return v.empty() ? fallback : v.size() == 1 ? v[0] : v[static_cast<size_t>(i)];
}

/// Integer matrix product of (a - azp) and (b - bzp), int32 accumulation: [batch, M, N].
Expected<std::vector<int32_t>> intMatMul(const MatMulPlan& p, const TensorData& a, const TensorData& b,
                                         const std::vector<double>& azp, const std::vector<double>& bzp,
                                         const std::string& where) {
  std::vector<int32_t> ai(static_cast<size_t>(p.aBatches * p.M * p.K)), bi(static_cast<size_t>(p.bBatches * p.K * p.N));
  bool ok = dispatch<TypeList<uint8_t, int8_t, uint16_t, int16_t>>(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    for (int64_t r = 0; r < p.aBatches * p.M; ++r) {
      const int32_t z = static_cast<int32_t>(paramAt(azp, r, 0));
      for (int64_t k = 0; k < p.K; ++k) ai[r * p.K + k] = static_cast<int32_t>(pa[r * p.K + k]) - z;
    }
  });
  ok = ok && dispatch<TypeList<uint8_t, int8_t, uint16_t, int16_t>>(b.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pb = b.data<T>();
    for (int64_t m = 0; m < p.bBatches; ++m)
      for (int64_t k = 0; k < p.K; ++k) {
        const int64_t row = (m * p.K + k) * p.N;
        for (int64_t n = 0; n < p.N; ++n)
          bi[row + n] = static_cast<int32_t>(pb[row + n]) - static_cast<int32_t>(paramAt(bzp, m * p.N + n, 0));
      }
  });
  if (!ok)
    return invalidInput("node {}: unsupported operand types {} and {}", where, dataTypeName(a.dtype()),
                        dataTypeName(b.dtype()));
  std::vector<int32_t> acc(static_cast<size_t>(p.batch * p.M * p.N));
  for (int64_t i = 0; i < p.batch; ++i) {
    MatrixMap<int32_t> C(acc.data() + i * p.M * p.N, p.M, p.N);
    if (p.K == 0) {
      C.setZero();
      continue;
    }
    C.noalias() = ConstMatrixMap<int32_t>(ai.data() + p.aIdx[i] * p.M * p.K, p.M, p.K) *
                  ConstMatrixMap<int32_t>(bi.data() + p.bIdx[i] * p.K * p.N, p.K, p.N);
  }
  return acc;
}

Shape withDim(Shape s, size_t fromEnd, int64_t v) {
  s[s.size() - fromEnd] = v;
  return s;
}

Expected<KernelFn> makeMatMulInteger(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& a = ctx.input(0);
    const TensorData& b = ctx.input(1);
    ASSIGN_OR_RETURN(MatMulPlan p, planMatMul(a.shape(), b.shape(), ctx.where()));
    ASSIGN_OR_RETURN(std::vector<double> azp, expandParam(ctx.hasInput(2) ? &ctx.input(2) : nullptr,
                                                          withDim(p.aShape, 1, 1), true, ctx.where(), "a_zero_point"));
    ASSIGN_OR_RETURN(std::vector<double> bzp, expandParam(ctx.hasInput(3) ? &ctx.input(3) : nullptr,
                                                          withDim(p.bShape, 2, 1), false, ctx.where(), "b_zero_point"));
    ASSIGN_OR_RETURN(std::vector<int32_t> acc, intMatMul(p, a, b, azp, bzp, ctx.where()));
    ctx.outputs[0] = TensorData::fromVector(DataType::Int32, p.outShape, acc);
    return Status::ok();
  });
}

/// Requantizes int32 accumulators to the type of `yzp`: nearbyint(acc * multiplier) + zp, saturated.
template <typename MulFn>
Status requantize(KernelContext& ctx, const std::vector<int32_t>& acc, const TensorData& yzpT, Shape shape,
                  MulFn multiplierAt) {
  int64_t lo, hi;
  const DataType yt = yzpT.dtype();
  if (!intRange(yt, lo, hi) || is4Bit(yt) || yt == DataType::Int32)
    return kernelError(ctx, "unsupported output type {}", dataTypeName(yt));
  const float zp = static_cast<float>(yzpT.doubleAt(0));
  const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
  TensorData y = TensorData::allocate(yt, std::move(shape));
  dispatch<TypeList<uint8_t, int8_t, uint16_t, int16_t>>(yt, [&](auto tag) {
    using TY = decltype(tag);
    TY* py = y.data<TY>();
    parallelFor(static_cast<int64_t>(acc.size()), ctx.threads, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        float v = std::nearbyint(static_cast<float>(acc[i]) * multiplierAt(i)) + zp;
        if (!(v >= flo)) v = flo;
        if (v > fhi) v = fhi;
        py[i] = static_cast<TY>(v);
      }
    });
  });
  ctx.outputs[0] = std::move(y);
  return Status::ok();
}

Expected<KernelFn> makeQLinearMatMul(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    for (size_t i = 0; i < 8; ++i)
      if (!ctx.hasInput(i)) return kernelError(ctx, "input {} is required", i);
    const TensorData& a = ctx.input(0);
    const TensorData& b = ctx.input(3);
    ASSIGN_OR_RETURN(MatMulPlan p, planMatMul(a.shape(), b.shape(), ctx.where()));
    const Shape aRows = withDim(p.aShape, 1, 1), bCols = withDim(p.bShape, 2, 1);
    ASSIGN_OR_RETURN(std::vector<double> as, expandParam(&ctx.input(1), aRows, true, ctx.where(), "a_scale"));
    ASSIGN_OR_RETURN(std::vector<double> azp, expandParam(&ctx.input(2), aRows, true, ctx.where(), "a_zero_point"));
    ASSIGN_OR_RETURN(std::vector<double> bs, expandParam(&ctx.input(4), bCols, false, ctx.where(), "b_scale"));
    ASSIGN_OR_RETURN(std::vector<double> bzp, expandParam(&ctx.input(5), bCols, false, ctx.where(), "b_zero_point"));
    if (ctx.input(6).numElements() != 1 || ctx.input(7).numElements() != 1)
      return kernelError(ctx, "y_scale and y_zero_point must be scalars");
    const float ys = static_cast<float>(ctx.input(6).doubleAt(0));
    ASSIGN_OR_RETURN(std::vector<int32_t> acc, intMatMul(p, a, ctx.input(3), azp, bzp, ctx.where()));
    // Multiplier per element: a_scale[row] * b_scale[col] / y_scale, in float.
    const int64_t M = p.M, N = p.N;
    return requantize(ctx, acc, ctx.input(7), p.outShape, [&](int64_t i) {
      const int64_t n = i % N, m = (i / N) % M, bt = i / (M * N);
      const float sa = static_cast<float>(paramAt(as, p.aIdx[bt] * M + m, 1));
      const float sb = static_cast<float>(paramAt(bs, p.bIdx[bt] * N + n, 1));
      return sa * sb / ys;
    });
  });
}

// ---- integer convolution -----------------------------------------------------------------

struct ConvAttrs {
  std::string autoPad = "NOTSET";
  std::vector<int64_t> kernelShape, strides, dilations, pads;
  int64_t group = 1;
};

Expected<ConvAttrs> parseConvAttrs(const KernelBuildContext& b) {
  ConvAttrs c;
  c.autoPad = b.node.stringAttr("auto_pad", "NOTSET");
  if (c.autoPad != "NOTSET" && c.autoPad != "VALID" && c.autoPad != "SAME_UPPER" && c.autoPad != "SAME_LOWER")
    return buildError(b, "auto_pad '{}' is not supported", c.autoPad);
  c.kernelShape = b.node.intsAttr("kernel_shape");
  c.strides = b.node.intsAttr("strides");
  c.dilations = b.node.intsAttr("dilations");
  c.pads = b.node.intsAttr("pads");
  c.group = b.node.intAttr("group", 1);
  if (c.group < 1) return buildError(b, "group {} must be positive", c.group);
  return c;
}

struct ConvGeom {
  int64_t N = 0, C = 0, M = 0, G = 1, Cg = 0, Mg = 0, kProd = 1, inProd = 1, outProd = 1;
  std::vector<int64_t> inSp, kSp, outSp, stride, dil, padB;
};

Expected<ConvGeom> convGeometry(const ConvAttrs& a, const Shape& x, const Shape& w, const std::string& where) {
  if (x.size() < 3 || w.size() != x.size())
    return invalidInput("node {}: conv input {} and weight {} ranks are invalid", where, shapeToString(x),
                        shapeToString(w));
  ConvGeom g;
  const size_t nsp = x.size() - 2;
  g.N = x[0];
  g.C = x[1];
  g.M = w[0];
  g.G = a.group;
  if (g.C % g.G || g.M % g.G || w[1] * g.G != g.C)
    return invalidInput("node {}: channels {} / weight {} do not fit group {}", where, shapeToString(x),
                        shapeToString(w), g.G);
  g.Cg = g.C / g.G;
  g.Mg = g.M / g.G;
  auto pick = [&](const std::vector<int64_t>& v, size_t i, int64_t def) { return v.size() > i ? v[i] : def; };
  if (!a.kernelShape.empty() && a.kernelShape.size() != nsp)
    return invalidInput("node {}: kernel_shape has {} entries for {} spatial axes", where, a.kernelShape.size(), nsp);
  if (!a.pads.empty() && a.pads.size() != 2 * nsp)
    return invalidInput("node {}: pads has {} entries for {} spatial axes", where, a.pads.size(), nsp);
  for (size_t i = 0; i < nsp; ++i) {
    const int64_t in = x[2 + i], k = w[2 + i];
    if (!a.kernelShape.empty() && a.kernelShape[i] != k)
      return invalidInput("node {}: kernel_shape does not match the weight shape {}", where, shapeToString(w));
    const int64_t s = pick(a.strides, i, 1), d = pick(a.dilations, i, 1);
    if (s < 1 || d < 1) return invalidInput("node {}: strides and dilations must be positive", where);
    const int64_t span = (k - 1) * d + 1;
    int64_t pb = pick(a.pads, i, 0), pe = pick(a.pads, nsp + i, 0);
    if (a.autoPad == "VALID") {
      pb = pe = 0;
    } else if (a.autoPad == "SAME_UPPER" || a.autoPad == "SAME_LOWER") {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + span - in);
      pb = a.autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pb;
    }
    const int64_t out = (in + pb + pe - span) / s + 1;
    if (in + pb + pe < span) return invalidInput("node {}: kernel larger than the padded input", where);
    g.inSp.push_back(in);
    g.kSp.push_back(k);
    g.outSp.push_back(out);
    g.stride.push_back(s);
    g.dil.push_back(d);
    g.padB.push_back(pb);
    g.kProd *= k;
    g.inProd *= in;
    g.outProd *= out;
  }
  return g;
}

/// acc[n, m, out] = sum over (c, k) of (x - xzp) * (w - wzp[m]); padding contributes zero.
template <typename TX, typename TW>
void intConv(const ConvGeom& g, const TX* x, int32_t xzp, const TW* w, const std::vector<int32_t>& wzp, int32_t* acc,
             int threads) {
  const int64_t rows = g.Cg * g.kProd, nsp = static_cast<int64_t>(g.inSp.size());
  const int64_t last = nsp - 1, outLast = g.outSp[last], outer = outLast ? g.outProd / outLast : 0;
  std::vector<int32_t> wi(static_cast<size_t>(g.M * rows));
  for (int64_t m = 0; m < g.M; ++m) {
    const int32_t z = wzp.size() == 1 ? wzp[0] : wzp[m];
    for (int64_t r = 0; r < rows; ++r) wi[m * rows + r] = static_cast<int32_t>(w[m * rows + r]) - z;
  }
  std::vector<int64_t> inStride(static_cast<size_t>(nsp), 1);
  for (int64_t i = nsp - 1; i-- > 0;) inStride[i] = inStride[i + 1] * g.inSp[i + 1];
  std::vector<int32_t> cols(static_cast<size_t>(rows * g.outProd));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const TX* xg = x + (n * g.C + grp * g.Cg) * g.inProd;
      parallelFor(rows, threads, [&](int64_t s, int64_t e) {
        std::vector<int64_t> kidx(static_cast<size_t>(nsp)), o(static_cast<size_t>(nsp), 0);
        for (int64_t r = s; r < e; ++r) {
          const int64_t c = r / g.kProd;
          int64_t kk = r % g.kProd;
          for (int64_t i = nsp; i-- > 0;) {
            kidx[i] = kk % g.kSp[i];
            kk /= g.kSp[i];
          }
          const TX* xc = xg + c * g.inProd;
          int32_t* dst = cols.data() + r * g.outProd;
          std::fill(o.begin(), o.end(), 0);
          const int64_t kOff = kidx[last] * g.dil[last] - g.padB[last];
          for (int64_t oc = 0; oc < outer; ++oc, dst += outLast) {
            int64_t off = 0;
            bool valid = true;
            for (int64_t i = 0; i < last; ++i) {
              const int64_t in = o[i] * g.stride[i] - g.padB[i] + kidx[i] * g.dil[i];
              if (in < 0 || in >= g.inSp[i]) valid = false;
              off += in * inStride[i];
            }
            if (!valid) {
              std::fill_n(dst, outLast, 0);
            } else {
              const TX* xr = xc + off;
              for (int64_t ol = 0; ol < outLast; ++ol) {
                const int64_t in = ol * g.stride[last] + kOff;
                dst[ol] = in >= 0 && in < g.inSp[last] ? static_cast<int32_t>(xr[in]) - xzp : 0;
              }
            }
            for (int64_t i = last; i-- > 0;) {  // next outer output position
              if (++o[i] < g.outSp[i]) break;
              o[i] = 0;
            }
          }
        }
      }, std::max<int64_t>(1, 4096 / std::max<int64_t>(g.outProd, 1)));
      MatrixMap<int32_t> out(acc + (n * g.M + grp * g.Mg) * g.outProd, g.Mg, g.outProd);
      if (rows == 0) {
        out.setZero();
        continue;
      }
      out.noalias() = ConstMatrixMap<int32_t>(wi.data() + grp * g.Mg * rows, g.Mg, rows) *
                      ConstMatrixMap<int32_t>(cols.data(), rows, g.outProd);
    }
}

/// Runs intConv for the 8-bit type pair of x and w.
Status runIntConv(KernelContext& ctx, const ConvGeom& g, const TensorData& x, int32_t xzp, const TensorData& w,
                  const std::vector<int32_t>& wzp, std::vector<int32_t>& acc) {
  acc.assign(static_cast<size_t>(g.N * g.M * g.outProd), 0);
  bool inner = false;
  const bool outer = dispatch<TypeList<uint8_t, int8_t>>(x.dtype(), [&](auto xt) {
    using TX = decltype(xt);
    inner = dispatch<TypeList<uint8_t, int8_t>>(w.dtype(), [&](auto wt) {
      using TW = decltype(wt);
      intConv(g, x.data<TX>(), xzp, w.data<TW>(), wzp, acc.data(), ctx.threads);
    });
  });
  if (!outer || !inner)
    return kernelError(ctx, "unsupported input types {} and {}", dataTypeName(x.dtype()), dataTypeName(w.dtype()));
  return Status::ok();
}

Shape convOutShape(const ConvGeom& g) {
  Shape s{g.N, g.M};
  s.insert(s.end(), g.outSp.begin(), g.outSp.end());
  return s;
}

Expected<std::vector<int32_t>> readWeightZeroPoint(const KernelContext& ctx, const TensorData* t, int64_t M) {
  if (!t) return std::vector<int32_t>{0};
  if (t->numElements() != 1 && t->numElements() != M)
    return kernelError(ctx, "weight zero point has {} elements, expected 1 or {}", t->numElements(), M);
  std::vector<int32_t> v(static_cast<size_t>(t->numElements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(t->intAt(static_cast<int64_t>(i)));
  return v;
}

Expected<KernelFn> makeConvInteger(const KernelBuildContext& b) {
  ASSIGN_OR_RETURN(ConvAttrs attrs, parseConvAttrs(b));
  return KernelFn([attrs](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& w = ctx.input(1);
    ASSIGN_OR_RETURN(ConvGeom g, convGeometry(attrs, x.shape(), w.shape(), ctx.where()));
    int32_t xzp = 0;
    if (ctx.hasInput(2)) {
      if (ctx.input(2).numElements() != 1) return kernelError(ctx, "x_zero_point must be a scalar");
      xzp = static_cast<int32_t>(ctx.input(2).intAt(0));
    }
    ASSIGN_OR_RETURN(std::vector<int32_t> wzp, readWeightZeroPoint(ctx, ctx.hasInput(3) ? &ctx.input(3) : nullptr, g.M));
    std::vector<int32_t> acc;
    RETURN_IF_ERROR(runIntConv(ctx, g, x, xzp, w, wzp, acc));
    ctx.outputs[0] = TensorData::fromVector(DataType::Int32, convOutShape(g), acc);
    return Status::ok();
  });
}

Expected<KernelFn> makeQLinearConv(const KernelBuildContext& b) {
  ASSIGN_OR_RETURN(ConvAttrs attrs, parseConvAttrs(b));
  return KernelFn([attrs](KernelContext& ctx) -> Status {
    for (size_t i = 0; i < 8; ++i)
      if (!ctx.hasInput(i)) return kernelError(ctx, "input {} is required", i);
    const TensorData& x = ctx.input(0);
    const TensorData& w = ctx.input(3);
    ASSIGN_OR_RETURN(ConvGeom g, convGeometry(attrs, x.shape(), w.shape(), ctx.where()));
    if (ctx.input(1).numElements() != 1 || ctx.input(2).numElements() != 1)
      return kernelError(ctx, "x_scale and x_zero_point must be scalars");
    if (ctx.input(6).numElements() != 1 || ctx.input(7).numElements() != 1)
      return kernelError(ctx, "y_scale and y_zero_point must be scalars");
    const float xs = static_cast<float>(ctx.input(1).doubleAt(0));
    const int32_t xzp = static_cast<int32_t>(ctx.input(2).intAt(0));
    const std::vector<float> ws = readFloats(ctx.input(4));
    if (ws.size() != 1 && static_cast<int64_t>(ws.size()) != g.M)
      return kernelError(ctx, "w_scale has {} elements, expected 1 or {}", ws.size(), g.M);
    ASSIGN_OR_RETURN(std::vector<int32_t> wzp, readWeightZeroPoint(ctx, &ctx.input(5), g.M));
    const float ys = static_cast<float>(ctx.input(6).doubleAt(0));
    std::vector<int32_t> acc;
    RETURN_IF_ERROR(runIntConv(ctx, g, x, xzp, w, wzp, acc));
    if (ctx.hasInput(8)) {
      const TensorData& bias = ctx.input(8);
      if (bias.numElements() != g.M) return kernelError(ctx, "B has {} elements, expected {}", bias.numElements(), g.M);
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t m = 0; m < g.M; ++m) {
          const int32_t bv = static_cast<int32_t>(bias.intAt(m));
          int32_t* p = acc.data() + (n * g.M + m) * g.outProd;
          for (int64_t i = 0; i < g.outProd; ++i) p[i] += bv;
        }
    }
    std::vector<float> mul(static_cast<size_t>(g.M));
    for (int64_t m = 0; m < g.M; ++m) mul[m] = xs * ws[ws.size() == 1 ? 0 : m] / ys;
    const int64_t outProd = g.outProd, M = g.M;
    return requantize(ctx, acc, ctx.input(7), convOutShape(g), [&](int64_t i) { return mul[(i / outProd) % M]; });
  });
}

// ---- com.microsoft MatMulNBits -----------------------------------------------------------

struct NBitsAttrs {
  int64_t K = 0, N = 0, bits = 4, blockSize = 0;
};

Expected<KernelFn> makeMatMulNBits(const KernelBuildContext& b) {
  NBitsAttrs a;
  a.K = b.node.intAttr("K", 0);
  a.N = b.node.intAttr("N", 0);
  a.bits = b.node.intAttr("bits", 4);
  a.blockSize = b.node.intAttr("block_size", 0);
  if (a.K <= 0 || a.N <= 0) return buildError(b, "attributes K and N are required and must be positive");
  if (a.bits < 2 || a.bits > 8) return buildError(b, "bits {} is not in [2, 8]", a.bits);
  if (a.blockSize < 1 || (a.blockSize * a.bits) % 8) return buildError(b, "block_size {} is invalid", a.blockSize);
  if (b.node.intAttr("weight_prepacked", 0) != 0) return buildError(b, "prepacked weights are not supported");
  return KernelFn([a](KernelContext& ctx) -> Status {
    const TensorData& A = ctx.input(0);
    const TensorData& B = ctx.input(1);
    const TensorData& S = ctx.input(2);
    const int64_t K = a.K, N = a.N, bits = a.bits, bs = a.blockSize;
    const int64_t nb = (K + bs - 1) / bs, blob = bs * bits / 8;
    if (A.rank() < 1 || A.dim(-1) != K) return kernelError(ctx, "A has shape {}, last axis must be K={}", shapeToString(A.shape()), K);
    if (B.dtype() != DataType::UInt8 || B.numElements() != N * nb * blob)
      return kernelError(ctx, "B has shape {}, expected uint8 [{},{},{}]", shapeToString(B.shape()), N, nb, blob);
    if (S.numElements() != N * nb) return kernelError(ctx, "scales has {} elements, expected {}", S.numElements(), N * nb);
    const std::vector<float> scales = readFloats(S);
    // Zero points, one float per (n, block).
    std::vector<float> zp(static_cast<size_t>(N * nb), static_cast<float>(1 << (bits - 1)));
    if (ctx.hasInput(3)) {
      const TensorData& Z = ctx.input(3);
      if (Z.dtype() == DataType::UInt8) {
        const int64_t rowBytes = (nb * bits + 7) / 8;
        if (Z.numElements() != N * rowBytes)
          return kernelError(ctx, "packed zero_points has {} elements, expected {}", Z.numElements(), N * rowBytes);
        const uint8_t* pz = Z.data<uint8_t>();
        for (int64_t n = 0; n < N; ++n)
          for (int64_t j = 0; j < nb; ++j) {
            const int64_t bit = j * bits;
            const uint8_t* p = pz + n * rowBytes + bit / 8;
            uint32_t v = p[0];
            if (bit % 8 + bits > 8) v |= static_cast<uint32_t>(p[1]) << 8;
            zp[n * nb + j] = static_cast<float>((v >> (bit % 8)) & ((1u << bits) - 1));
          }
      } else {
        if (Z.numElements() != N * nb)
          return kernelError(ctx, "zero_points has {} elements, expected {}", Z.numElements(), N * nb);
        zp = readFloats(Z);
      }
    }
    std::vector<int32_t> gidx;
    if (ctx.hasInput(4)) {
      const TensorData& gi = ctx.input(4);
      if (gi.numElements() != K) return kernelError(ctx, "g_idx has {} elements, expected {}", gi.numElements(), K);
      gidx.resize(static_cast<size_t>(K));
      for (int64_t k = 0; k < K; ++k) {
        gidx[k] = static_cast<int32_t>(gi.intAt(k));
        if (gidx[k] < 0 || gidx[k] >= nb) return kernelError(ctx, "g_idx[{}] = {} out of range", k, gidx[k]);
      }
    }
    std::vector<float> bias;
    if (ctx.hasInput(5)) {
      if (ctx.input(5).numElements() != N) return kernelError(ctx, "bias has {} elements, expected {}", ctx.input(5).numElements(), N);
      bias = readFloats(ctx.input(5));
    }

    const int64_t rows = A.numElements() / K;
    std::vector<float> aConv;
    const float* af = nullptr;
    if (A.dtype() == DataType::Float) {
      af = A.data<float>();
    } else if (dispatch<FloatTypes>(A.dtype(), [](auto) {})) {
      aConv = readFloats(A);
      af = aConv.data();
    } else {
      return kernelError(ctx, "unsupported A type {}", dataTypeName(A.dtype()));
    }
    std::vector<float> yf(static_cast<size_t>(rows * N));
    const uint8_t* pb = B.data<uint8_t>();
    const uint32_t mask = (1u << bits) - 1;
    // Output columns in chunks: dequantize the chunk's weight rows, then one GEMM.
    constexpr int64_t kChunk = 64;
    const int64_t chunks = (N + kChunk - 1) / kChunk;
    parallelFor(chunks, ctx.threads, [&](int64_t cs, int64_t ce) {
      std::vector<float> wbuf(static_cast<size_t>(kChunk * K));
      for (int64_t c = cs; c < ce; ++c) {
        const int64_t n0 = c * kChunk, nc = std::min(kChunk, N - n0);
        for (int64_t r = 0; r < nc; ++r) {
          const int64_t n = n0 + r;
          float* wr = wbuf.data() + r * K;
          const uint8_t* brow = pb + n * nb * blob;
          for (int64_t k = 0; k < K; ++k) {
            const int64_t blk = k / bs, j = k % bs, bit = j * bits;
            const uint8_t* p = brow + blk * blob + bit / 8;
            uint32_t v = p[0];
            if (bit % 8 + bits > 8) v |= static_cast<uint32_t>(p[1]) << 8;
            const float q = static_cast<float>((v >> (bit % 8)) & mask);
            const int64_t si = n * nb + (gidx.empty() ? blk : gidx[k]);
            wr[k] = (q - zp[si]) * scales[si];
          }
        }
        Eigen::Map<RowMatrix<float>, 0, Eigen::OuterStride<>> Y(yf.data() + n0, rows, nc, Eigen::OuterStride<>(N));
        Y.noalias() = ConstMatrixMap<float>(af, rows, K) * ConstMatrixMap<float>(wbuf.data(), nc, K).transpose();
      }
    }, 1);
    if (!bias.empty())
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t n = 0; n < N; ++n) yf[r * N + n] += bias[n];
    Shape outShape = A.shape();
    outShape.back() = N;
    TensorData y = TensorData::allocate(A.dtype(), outShape);
    dispatch<FloatTypes>(A.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* py = y.data<T>();
      for (size_t i = 0; i < yf.size(); ++i) py[i] = static_cast<T>(yf[i]);
    });
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> quantKernels() {
  return {
      {"", "QuantizeLinear", makeQuantizeLinear},
      {"", "DequantizeLinear", makeDequantizeLinear},
      {"com.microsoft", "QuantizeLinear", makeQuantizeLinear},
      {"com.microsoft", "DequantizeLinear", makeDequantizeLinear},
      {"", "DynamicQuantizeLinear", makeDynamicQuantizeLinear},
      {"", "QLinearConv", makeQLinearConv},
      {"", "QLinearMatMul", makeQLinearMatMul},
      {"", "MatMulInteger", makeMatMulInteger},
      {"", "ConvInteger", makeConvInteger},
      {"com.microsoft", "MatMulNBits", makeMatMulNBits},
  };
}

}  // namespace onnxpress::runtime
