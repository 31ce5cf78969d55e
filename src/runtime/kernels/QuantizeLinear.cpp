// QuantizeLinear, DequantizeLinear (opsets 10, 13, 19, 21: per-tensor, per-axis,
// blocked; int8/uint8/int16/uint16/int32 (DQ only)/int4/uint4/float8 codes), also
// registered for com.microsoft (same semantics), and DynamicQuantizeLinear (11).
// Rounding is half to even (std::nearbyint in the default rounding mode).
#include <array>
#include <cmath>
#include <cstring>

#include "Families.h"
#include "QuantUtil.h"

namespace onnxpress::runtime {
namespace {

using namespace quant;

// ---- element codes -----------------------------------------------------------------------

bool isFloat8(DataType dt) {
  return dt == DataType::Float8E4M3FN || dt == DataType::Float8E4M3FNUZ || dt == DataType::Float8E5M2 ||
         dt == DataType::Float8E5M2FNUZ;
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

}  // namespace

std::vector<KernelEntry> quantizeLinearKernels() {
  return {
      {"", "QuantizeLinear", makeQuantizeLinear},
      {"", "DequantizeLinear", makeDequantizeLinear},
      {"com.microsoft", "QuantizeLinear", makeQuantizeLinear},
      {"com.microsoft", "DequantizeLinear", makeDequantizeLinear},
      {"", "DynamicQuantizeLinear", makeDynamicQuantizeLinear},
  };
}

}  // namespace onnxpress::runtime
