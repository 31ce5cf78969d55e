// Static quantization: activation ranges calibrated on DATA, written as QDQ.
//
// Before:  x -> Conv(W, b) -> Relu -> MaxPool -> Gemm(W2, b2) -> y
// After:   x -> Q -> DQ -> Conv(DQ(W_q), DQ(b_q)) -> Q -> DQ -> MaxPool -> Q' -> DQ' -> Gemm(DQ(W2_q), DQ(b2_q)) -> y
//   - every float activation read or written by a quantized node (Conv, Gemm,
//     MatMul, Add, Mul, AveragePool, GlobalAveragePool) gets one Q/DQ pair, shared
//     by all its quantized readers; graph outputs stay float;
//   - Relu, and Clip with min 0, whose input has no other reader are folded into
//     the producer's Q: the Q's range is the activation's output range, and with an
//     asymmetric type its zero point sits at qmin, so Q itself clamps at 0 (exact);
//   - MaxPool, Reshape, Transpose, Flatten, Squeeze, Unsqueeze reuse their input's
//     scale and zero point (Q' = the same initializers), so ONNX Runtime drops the
//     pair and runs them on integers instead of requantizing;
//   - weights: int8 (or the weight type), symmetric for signed types, per tensor or
//     per output channel (Conv axis 0, Gemm transB=1 axis 0 / transB=0 axis 1,
//     MatMul axis 1); biases of Conv/Gemm int32 with scale s_x * s_w[c], zero point 0;
//     a weight shared by several nodes is quantized once; Gather tables (embeddings)
//     become int8 DequantizeLinear too (per row with per-channel);
//   - SmoothQuant's Mul(x, 1/s) nodes stay float (quantizing x would undo them).
// Nodes inside If/Loop/Scan bodies get their weights quantized (DQ in the body) but
// keep float activations: the executor's observer sees only the main graph.
//
// Preconditions: a float model (see requireUnquantized), ai.onnx opset >= 10
// (13 for per-channel, 21 for 4-bit weights: upgraded, see OpsetUpgrade.h), and
// calibration DATA already checked against the model's inputs.
//
// Math: see QuantizeCommon.h for scale and zero point, Calibration.h for ranges.
// Repairs: equalize and smoothquant transform the float model before calibration;
// bias-correction adjusts the int32 biases of the QDQ model afterwards.
#pragma once

#include <map>
#include <string>

#include "onnxpress/pass/Pass.h"
#include "onnxpress/passes/quantization/Calibration.h"
#include "onnxpress/passes/quantization/QuantizationRecord.h"
#include "onnxpress/passes/quantization/Quantize.h"

namespace onnxpress::quant {

/// `rangeCache`, when given, keeps the calibrated ranges by tensor name: a later call on
/// the same float model with fewer layers (min-fidelity's tries) calibrates nothing.
/// Not used with equalize or smoothquant, which change the model before calibration.
Expected<QuantizationResult> quantizeStatic(Model& model, const QuantizeOptions& options, PassContext& context,
                                            std::map<std::string, TensorRange>* rangeCache = nullptr);

}  // namespace onnxpress::quant
