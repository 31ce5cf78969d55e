// com.microsoft quantized kernels of ONNX Runtime's QOperator format:
//   QLinearAdd, QLinearMul            numpy broadcasting, uint8 or int8
//   QLinearAveragePool                AveragePool attributes, plus channels_last
//   QLinearGlobalAveragePool          channels_last
//   QGemm                             alpha, transA, transB; int32 C; 8-bit or (no y_scale) float output
// Each is defined as its float op between a dequantization and a quantization, and
// computed that way: inputs become float32 ((q - zero_point) * scale), the ai.onnx
// kernel of the float op (built from the same node's attributes) runs, and the result
// is quantized: saturate(round_half_even(y / y_scale) + y_zero_point). Missing zero
// points are 0 of the input type. QGemm's C (int32, zero point 0) enters the float Gemm
// as C * alpha * a_scale * b_scale[n], so y = alpha * a_scale * b_scale[n] * (A·B + C).
#include <cmath>
#include <limits>

#include "Families.h"
#include "KernelUtil.h"

namespace onnxpress::runtime {
namespace {

// ---- building blocks -----------------------------------------------------------------------

/// The ai.onnx kernel `opType`, built from the attributes of the contrib node.
Expected<KernelFn> floatKernel(const KernelBuildContext& b, const char* opType) {
  const KernelEntry* entry = findKernel("", opType);
  if (!entry) return buildError(b, "the {} kernel it wraps is missing", opType);
  int64_t opset = 0;
  for (const OpsetImport& o : *b.opsets)
    if (canonicalDomain(o.domain).empty()) opset = o.version;
  KernelBuildContext inner{b.node, opset, b.opsets, b.options};
  return entry->factory(inner);
}

/// Runs a float kernel on `inputs` within the contrib node's context; returns output 0.
Expected<TensorData> runFloat(const KernelFn& fn, const KernelContext& ctx, std::vector<const TensorData*> inputs) {
  KernelContext inner{ctx.node, std::move(inputs), std::vector<TensorData>(1), ctx.frame, ctx.threads};
  RETURN_IF_ERROR(fn(inner));
  return std::move(inner.outputs[0]);
}

/// Scales and zero points of one quantized tensor: one for the tensor, or one per channel.
struct QuantParams {
  std::vector<float> scales, zeroPoints;
  int64_t inner = 1;  // consecutive elements that share a channel
  size_t channelOf(int64_t i) const {
    return scales.size() == 1 ? 0 : static_cast<size_t>((i / inner) % static_cast<int64_t>(scales.size()));
  }
};

/// Reads input `scaleIndex` (float) and the optional `zeroPointIndex` (of type `codes`):
/// 1 element, or `channels` elements of a 1-D tensor.
Expected<QuantParams> readParams(const KernelContext& ctx, size_t scaleIndex, size_t zeroPointIndex, DataType codes,
                                 int64_t channels = 1, int64_t inner = 1) {
  if (!ctx.hasInput(scaleIndex)) return kernelError(ctx, "input {} (scale) is required", scaleIndex);
  const TensorData& s = ctx.input(scaleIndex);
  if (s.dtype() != DataType::Float) return kernelError(ctx, "input {} (scale) must be float32", scaleIndex);
  const int64_t n = s.numElements();
  if (n != 1 && (n != channels || s.rank() != 1))
    return kernelError(ctx, "input {} (scale) has shape {}, expected a scalar{}", scaleIndex, shapeToString(s.shape()),
                       channels > 1 ? fmt::format(" or [{}]", channels) : std::string());
  QuantParams p;
  p.inner = inner;
  p.scales.assign(s.data<float>(), s.data<float>() + n);
  p.zeroPoints.assign(static_cast<size_t>(n), 0.f);
  if (ctx.hasInput(zeroPointIndex)) {
    const TensorData& z = ctx.input(zeroPointIndex);
    if (z.dtype() != codes)
      return kernelError(ctx, "input {} (zero point) is {}, expected {}", zeroPointIndex, dataTypeName(z.dtype()),
                         dataTypeName(codes));
    if (z.numElements() != n)
      return kernelError(ctx, "input {} (zero point) has {} elements, its scale {}", zeroPointIndex, z.numElements(), n);
    for (int64_t i = 0; i < n; ++i) p.zeroPoints[i] = static_cast<float>(z.intAt(i));
  }
  return p;
}

/// (q - zero point) * scale as float32, per element's channel.
Expected<TensorData> dequantize(const KernelContext& ctx, const TensorData& q, const QuantParams& p) {
  TensorData out = TensorData::allocate(DataType::Float, q.shape());
  float* dst = out.data<float>();
  const bool ok = dispatch<TypeList<uint8_t, int8_t>>(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = q.data<T>();
    parallelFor(q.numElements(), ctx.threads, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        const size_t c = p.channelOf(i);
        dst[i] = (static_cast<float>(src[i]) - p.zeroPoints[c]) * p.scales[c];
      }
    });
  });
  if (!ok) return kernelError(ctx, "unsupported quantized type {}", dataTypeName(q.dtype()));
  return out;
}

/// Dequantizes input `data` with the per-tensor scale and zero point at the next two inputs.
Expected<TensorData> dequantizeInput(const KernelContext& ctx, size_t data) {
  if (!ctx.hasInput(data)) return kernelError(ctx, "input {} is required", data);
  ASSIGN_OR_RETURN(QuantParams p, readParams(ctx, data + 1, data + 2, ctx.input(data).dtype()));
  return dequantize(ctx, ctx.input(data), p);
}

/// Quantizes float `y` into output 0 with the scale and zero point at inputs
/// `scaleIndex` and `scaleIndex + 1`; the type is the zero point's, else `fallback`.
Status writeQuantized(KernelContext& ctx, const TensorData& y, size_t scaleIndex, DataType fallback) {
  const DataType type = ctx.hasInput(scaleIndex + 1) ? ctx.input(scaleIndex + 1).dtype() : fallback;
  ASSIGN_OR_RETURN(QuantParams p, readParams(ctx, scaleIndex, scaleIndex + 1, type));
  if (y.dtype() != DataType::Float) return kernelError(ctx, "internal: float result is {}", dataTypeName(y.dtype()));
  TensorData out = TensorData::allocate(type, y.shape());
  const float* src = y.data<float>();
  const float scale = p.scales[0], zeroPoint = p.zeroPoints[0];
  const bool ok = dispatch<TypeList<uint8_t, int8_t>>(type, [&](auto tag) {
    using T = decltype(tag);
    constexpr float lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
    T* dst = out.data<T>();
    parallelFor(y.numElements(), ctx.threads, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        float v = std::nearbyint(src[i] / scale) + zeroPoint;
        if (!(v >= lo)) v = lo;  // NaN too
        if (v > hi) v = hi;
        dst[i] = static_cast<T>(v);
      }
    });
  });
  if (!ok) return kernelError(ctx, "unsupported output type {}", dataTypeName(type));
  ctx.outputs[0] = std::move(out);
  return Status::ok();
}

/// [N, D1.., C] <-> [N, C, D1..] for float tensors of rank >= 3 (others are returned as is).
TensorData moveChannelAxis(const TensorData& x, bool toChannelsFirst) {
  if (x.rank() < 3) return x;
  const Shape& in = x.shape();
  const int64_t n = in[0], c = toChannelsFirst ? in.back() : in[1];
  const int64_t spatial = n * c != 0 ? x.numElements() / (n * c) : 0;
  Shape out{n};
  if (toChannelsFirst) {
    out.push_back(c);
    out.insert(out.end(), in.begin() + 1, in.end() - 1);
  } else {
    out.insert(out.end(), in.begin() + 2, in.end());
    out.push_back(c);
  }
  TensorData y = TensorData::allocate(DataType::Float, out);
  const float* src = x.data<float>();
  float* dst = y.data<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t s = 0; s < spatial; ++s)
      for (int64_t k = 0; k < c; ++k) {
        const int64_t first = (b * c + k) * spatial + s, last = (b * spatial + s) * c + k;
        if (toChannelsFirst) dst[first] = src[last];
        else dst[last] = src[first];
      }
  return y;
}

// ---- QLinearAdd, QLinearMul: A, A_scale, A_zero_point?, B, B_scale, B_zero_point?, C_scale, C_zero_point? ----

Expected<KernelFn> makeQLinearBinary(const KernelBuildContext& b, const char* floatOp) {
  ASSIGN_OR_RETURN(KernelFn op, floatKernel(b, floatOp));
  return KernelFn([op](KernelContext& ctx) -> Status {
    ASSIGN_OR_RETURN(TensorData a, dequantizeInput(ctx, 0));
    ASSIGN_OR_RETURN(TensorData bf, dequantizeInput(ctx, 3));
    if (ctx.input(0).dtype() != ctx.input(3).dtype())
      return kernelError(ctx, "A is {} and B is {}", dataTypeName(ctx.input(0).dtype()), dataTypeName(ctx.input(3).dtype()));
    ASSIGN_OR_RETURN(TensorData c, runFloat(op, ctx, {&a, &bf}));
    return writeQuantized(ctx, c, 6, ctx.input(0).dtype());
  });
}

Expected<KernelFn> makeQLinearAdd(const KernelBuildContext& b) { return makeQLinearBinary(b, "Add"); }
Expected<KernelFn> makeQLinearMul(const KernelBuildContext& b) { return makeQLinearBinary(b, "Mul"); }

// ---- pools: X, x_scale, x_zero_point?, y_scale, y_zero_point? ------------------------------

Expected<KernelFn> makeQLinearPool(const KernelBuildContext& b, const char* floatOp) {
  ASSIGN_OR_RETURN(KernelFn pool, floatKernel(b, floatOp));
  const bool channelsLast = b.node.intAttr("channels_last", 0) != 0;
  return KernelFn([pool, channelsLast](KernelContext& ctx) -> Status {
    ASSIGN_OR_RETURN(TensorData x, dequantizeInput(ctx, 0));
    if (channelsLast) x = moveChannelAxis(x, true);
    ASSIGN_OR_RETURN(TensorData y, runFloat(pool, ctx, {&x}));
    if (channelsLast) y = moveChannelAxis(y, false);
    return writeQuantized(ctx, y, 3, ctx.input(0).dtype());
  });
}

Expected<KernelFn> makeQLinearAveragePool(const KernelBuildContext& b) { return makeQLinearPool(b, "AveragePool"); }
Expected<KernelFn> makeQLinearGlobalAveragePool(const KernelBuildContext& b) {
  return makeQLinearPool(b, "GlobalAveragePool");
}

// ---- QGemm: A, a_scale, a_zero_point, B, b_scale, b_zero_point, C?, y_scale?, y_zero_point? ----

Expected<KernelFn> makeQGemm(const KernelBuildContext& b) {
  if (b.node.attribute("beta")) return buildError(b, "QGemm has no beta attribute");
  ASSIGN_OR_RETURN(KernelFn gemm, floatKernel(b, "Gemm"));  // alpha, transA, transB; beta = 1
  const float alpha = b.node.floatAttr("alpha", 1.0f);
  const bool transA = b.node.intAttr("transA", 0) != 0, transB = b.node.intAttr("transB", 0) != 0;
  return KernelFn([=](KernelContext& ctx) -> Status {
    if (!ctx.hasInput(0) || !ctx.hasInput(3)) return kernelError(ctx, "inputs A and B are required");
    const TensorData& A = ctx.input(0);
    const TensorData& B = ctx.input(3);
    if (A.rank() != 2 || B.rank() != 2) return kernelError(ctx, "A and B must be 2-D");
    const int64_t M = transA ? A.dim(1) : A.dim(0), N = transB ? B.dim(0) : B.dim(1);
    ASSIGN_OR_RETURN(QuantParams ap, readParams(ctx, 1, 2, A.dtype()));
    // b_scale per column n: B is [K, N] (channel = i % N) or, transposed, [N, K] (channel = i / K).
    ASSIGN_OR_RETURN(QuantParams bp, readParams(ctx, 4, 5, B.dtype(), N, transB ? B.dim(1) : 1));
    ASSIGN_OR_RETURN(TensorData af, dequantize(ctx, A, ap));
    ASSIGN_OR_RETURN(TensorData bf, dequantize(ctx, B, bp));
    std::vector<const TensorData*> inputs{&af, &bf};
    TensorData cf;
    if (ctx.hasInput(6)) {
      const TensorData& C = ctx.input(6);
      if (C.dtype() != DataType::Int32) return kernelError(ctx, "C must be int32, got {}", dataTypeName(C.dtype()));
      ASSIGN_OR_RETURN(Shape shape, broadcastShapes(C.shape(), {M, N}, ctx.where()));
      if (shape != Shape{M, N}) return kernelError(ctx, "C {} does not broadcast to [{},{}]", shapeToString(C.shape()), M, N);
      // Full [M, N]: a broadcast C value meets a different b_scale in every column.
      cf = TensorData::allocate(DataType::Float, {M, N});
      const auto strides = broadcastStrides(C.shape(), {M, N});
      const int32_t* pc = C.data<int32_t>();
      float* dst = cf.data<float>();
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          const float scale = alpha * ap.scales[0] * bp.scales[bp.scales.size() == 1 ? 0 : n];
          dst[m * N + n] = static_cast<float>(pc[m * strides[0] + n * strides[1]]) * scale;
        }
      inputs.push_back(&cf);
    }
    ASSIGN_OR_RETURN(TensorData y, runFloat(gemm, ctx, inputs));
    if (!ctx.hasInput(7)) {  // no y_scale: float output
      ctx.outputs[0] = std::move(y);
      return Status::ok();
    }
    return writeQuantized(ctx, y, 7, A.dtype());
  });
}

}  // namespace

std::vector<KernelEntry> quantContribKernels() {
  return {
      {"com.microsoft", "QLinearAdd", makeQLinearAdd},
      {"com.microsoft", "QLinearMul", makeQLinearMul},
      {"com.microsoft", "QLinearAveragePool", makeQLinearAveragePool},
      {"com.microsoft", "QLinearGlobalAveragePool", makeQLinearGlobalAveragePool},
      {"com.microsoft", "QGemm", makeQGemm},
  };
}

}  // namespace onnxpress::runtime
