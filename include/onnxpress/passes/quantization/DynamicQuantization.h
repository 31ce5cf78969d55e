// quantize{mode=dynamic}: int8/uint8 weights, activations quantized at run time, in
// the QOperator form ONNX Runtime's quantize_dynamic writes.
//
// Before:                               After:
//   x ─ MatMul(B) ─ y                     x ─ DynamicQuantizeLinear ─ (x_q, x_scale, x_zp)
//                                         MatMulInteger(x_q, B_q, x_zp, B_zp) ─ Cast(float) ─ Mul ─ y
//                                                                     Mul(x_scale, B_scale) ──┘
//   x ─ Gemm(B, C) ─ y                    the MatMul form on B (transposed when transB = 1) ─ Add(C) ─ y
//   x ─ Conv(W, b) ─ y                    ConvInteger(x_q, W_q, x_zp, W_zp) ─ Cast ─ Mul(x_scale * W_scale')
//                                           ─ Add(b') ─ y      (W_scale', b' shaped [1, M, 1, ...])
//   LSTM(X, W, R, ...) ─ Y, Y_h, Y_c      com.microsoft DynamicQuantizeLSTM(X, W_q^T, R_q^T, ...,
//                                           W_scale, W_zp, R_scale, R_zp) ─ the same Y, Y_h, Y_c
//   GRU(X, W, R, ...)                     GRU(X, DequantizeLinear(W_q), DequantizeLinear(R_q), ...)
//                                           (ORT has no quantized GRU: weight-only, compute stays float)
// The last node of each rewrite takes over the original output Value's name, so graph
// outputs keep their names and per-layer comparisons line up. One DynamicQuantizeLinear
// per tensor and graph is shared by every quantized reader; a weight read by several
// nodes is quantized once per layout.
//
// Preconditions (anything else is left in float and counted as "skipped: <reason>"):
//   - the model is not quantized yet and the options are valid (the dispatcher checks);
//     weight-type int8 or uint8 (int4/uint4: usage error); ai.onnx opset >= 11 for
//     DynamicQuantizeLinear (a lower opset is upgraded first, see OpsetUpgrade.h).
//   - nodes in Scope (op-types, exclude-nodes, exclude-op-types), in every graph and subgraph.
//   - MatMul: input 1 a float32 constant of rank 2 [K, N] (initializer or Constant node,
//     possibly of an enclosing graph).
//   - Gemm: constant B of rank 2, alpha = 1, transA = 0, and beta = 1 when C is present.
//   - Conv: constant weight [M, C/group, k...]; a bias, when present, constant with M values.
//   - LSTM: constant W [D, 4H, I] and R [D, 4H, H], layout = 0, at most 8 inputs.
//   - GRU: constant W and/or R.
//
// Math: weights with the shared QuantizeLinear rounding (QuantizeCommon.h), symmetric
// for signed types (and for uint8 with symmetric=1), 7-bit with reduce-range.
//   x' = (x_q - x_zp) * x_scale, B' = (B_q - B_zp) * B_scale, so
//   x' B' = x_scale * B_scale * sum_k (x_q - x_zp)(B_q - B_zp)   (the int32 MatMulInteger result)
//   per-channel: one B_scale/B_zp per column n of [K, N] (MatMulInteger takes a 1-D
//   b_zero_point of length N), one W_scale per output channel m of Conv; equal Conv zero
//   points (symmetric types) are written as one scalar, which ORT's ConvInteger requires.
//   ORT's CPU ConvInteger also takes uint8 weights only: use weight-type=uint8 for Conv
//   models deployed on it (int8 ConvInteger is valid ONNX and runs in the built-in runtime).
//   LSTM: per direction (W_scale [D]) or per gate row (per-channel, W_scale [D, 4H]),
//   codes stored transposed to [D, I, 4H] / [D, H, 4H] as DynamicQuantizeLSTM expects;
//   per-channel uint8 is always symmetric (ORT's kernel wants one zero point for all
//   gate rows). The report gives the axis in the float [D, 4H, I] layout (0 or 1).
//   GRU: DequantizeLinear per tensor, or per channel along axis 1 (the 3H gate rows,
//   shared by both directions) when per-channel and opset >= 13.
//
// Statistics: "MatMul", "Gemm", "Conv", "LSTM", "GRU" (nodes quantized), "GRU weights
// (weight-only)", "weights quantized", "skipped: <reason>". Every quantized weight is
// recorded in result.quantized with its SQNR. changed is false when nothing was quantized.
#pragma once

#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/Pass.h"
#include "onnxpress/passes/quantization/QuantizationRecord.h"
#include "onnxpress/passes/quantization/Quantize.h"

namespace onnxpress::quant {

/// Runs the dynamic mode over `model` (options.mode == "dynamic").
Expected<QuantizationResult> quantizeDynamic(Model& model, const QuantizeOptions& options);

}  // namespace onnxpress::quant
