// com.microsoft DynamicQuantizeLSTM (ONNX Runtime contrib op, version 1), run through
// the ai.onnx LSTM kernel:
//   inputs  X, W, R, B, sequence_lens, initial_h, initial_c, P, W_scale, W_zero_point,
//           R_scale, R_zero_point; outputs Y, Y_h, Y_c; LSTM's attributes (no layout).
//   W [D, input_size, 4H] and R [D, H, 4H] are int8/uint8 codes, TRANSPOSED relative to
//   ONNX LSTM's [D, 4H, input_size] / [D, 4H, H]; scales (float) and zero points (the
//   codes' type) are [D] (per direction) or [D, 4H] (per gate row).
// Each run dequantizes W and R, W' = (q - zp) * scale, transposes them back and calls
// the float LSTM kernel with [X, W', R', B, sequence_lens, initial_h, initial_c, P].
//
// Approximation: ONNX Runtime also quantizes X and the hidden state dynamically inside
// the op (uint8, per step) and multiplies in integers; here they stay float, so results
// differ from ORT's by that activation rounding (the weight rounding is identical).
// The weights are dequantized on every run (O(weights), small next to the recurrence).
#include <cstdint>

#include "Families.h"
#include "KernelUtil.h"

namespace onnxpress::runtime {
namespace {

constexpr size_t kW = 1, kR = 2, kFloatLstmInputs = 8;
constexpr size_t kWScale = 8, kWZeroPoint = 9, kRScale = 10, kRZeroPoint = 11;

/// (q - zp) * scale of input `codes` ([D, K, G] int8/uint8), returned as float [D, G, K].
Expected<TensorData> dequantizeTransposed(const KernelContext& ctx, size_t codes, size_t scaleAt, size_t zeroPointAt,
                                          const char* what) {
  if (!ctx.hasInput(codes) || !ctx.hasInput(scaleAt))
    return kernelError(ctx, "{} and {}_scale are required", what, what);
  const TensorData& q = ctx.input(codes);
  const TensorData& scale = ctx.input(scaleAt);
  const TensorData* zeroPoint = ctx.hasInput(zeroPointAt) ? &ctx.input(zeroPointAt) : nullptr;
  if (q.rank() != 3) return kernelError(ctx, "{} must have rank 3, got {}", what, shapeToString(q.shape()));
  const int64_t D = q.dim(0), K = q.dim(1), G = q.dim(2);
  const int64_t params = scale.numElements();
  if (scale.dtype() != DataType::Float || (params != D && params != D * G))
    return kernelError(ctx, "{}_scale must be float [{}] or [{}, {}], got {} {}", what, D, D, G,
                       dataTypeName(scale.dtype()), shapeToString(scale.shape()));
  if (zeroPoint && (zeroPoint->dtype() != q.dtype() || zeroPoint->numElements() != params))
    return kernelError(ctx, "{}_zero_point must be {} with the shape of {}_scale, got {} {}", what,
                       dataTypeName(q.dtype()), what, dataTypeName(zeroPoint->dtype()),
                       shapeToString(zeroPoint->shape()));
  TensorData out = TensorData::allocate(DataType::Float, {D, G, K});
  float* o = out.data<float>();
  const float* s = scale.data<float>();
  const bool ok = dispatch<TypeList<int8_t, uint8_t>>(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pq = q.data<T>();
    const T* pz = zeroPoint ? zeroPoint->data<T>() : nullptr;
    for (int64_t d = 0; d < D; ++d)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t g = 0; g < G; ++g) {
          const int64_t p = params == D ? d : d * G + g;
          const float z = pz ? static_cast<float>(pz[p]) : 0.0f;
          o[(d * G + g) * K + k] = (static_cast<float>(pq[(d * K + k) * G + g]) - z) * s[p];
        }
  });
  if (!ok) return kernelError(ctx, "{} must be int8 or uint8, got {}", what, dataTypeName(q.dtype()));
  return out;
}

Expected<KernelFn> makeDynamicQuantizeLstm(const KernelBuildContext& b) {
  const KernelEntry* lstm = findKernel("", "LSTM");
  if (!lstm) return internalError("node {}: the ai.onnx LSTM kernel is not registered", b.node.describe());
  // The attributes are LSTM's; the contrib opset (1) keeps the float kernel at layout 0.
  ASSIGN_OR_RETURN(KernelFn floatLstm, lstm->factory(b));
  return KernelFn([floatLstm](KernelContext& ctx) -> Status {
    if (!ctx.hasInput(0) || ctx.input(0).dtype() != DataType::Float) return kernelError(ctx, "X must be float");
    ASSIGN_OR_RETURN(TensorData w, dequantizeTransposed(ctx, kW, kWScale, kWZeroPoint, "W"));
    ASSIGN_OR_RETURN(TensorData r, dequantizeTransposed(ctx, kR, kRScale, kRZeroPoint, "R"));
    KernelContext inner{ctx.node, {}, {}};
    inner.frame = ctx.frame;
    inner.threads = ctx.threads;
    inner.inputs.assign(kFloatLstmInputs, nullptr);
    for (size_t i = 0; i < kFloatLstmInputs && i < ctx.numInputs(); ++i) inner.inputs[i] = ctx.inputs[i];
    inner.inputs[kW] = &w;
    inner.inputs[kR] = &r;
    inner.outputs.resize(ctx.outputs.size());
    RETURN_IF_ERROR(floatLstm(inner));
    for (size_t i = 0; i < ctx.outputs.size(); ++i) ctx.outputs[i] = std::move(inner.outputs[i]);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> quantizedRnnKernels() {
  return {
      {"com.microsoft", "DynamicQuantizeLSTM", makeDynamicQuantizeLstm},
  };
}

}  // namespace onnxpress::runtime
