// QOperator format: rewrites the QDQ graph that static quantization writes into the
// integer operators ONNX Runtime's quantizer writes with QuantFormat.QOperator.
//
// Before (QDQ):
//   x ─ Q ─ DQ ─┐
//   Wq ─── DQ ──┼─ Conv ─ y ─ Q(ys, yz) ─ yq ─ DQ ─ MaxPool ─ Q(ys, yz) ─ DQ ─ MatMul ─ Q ─ DQ ─ out
//   bq ─── DQ ──┘                                                        Bq ─ DQ ─┘
// After (QOperator):
//   x ─ Q ─ QLinearConv(xs, xz, Wq, ws, wz, ys, yz, bq) ─ yq ─ MaxPool ─ QLinearMatMul(.., Bq, ..) ─ DQ ─ out
//
// Rewrites, each anchored at the QuantizeLinear that closes the pattern:
//   DQ → Conv(DQ W, DQ b) → Q          ⇒ QLinearConv                        (ai.onnx, opset >= 10)
//   DQ → MatMul(DQ b) → Q              ⇒ QLinearMatMul                      (ai.onnx, opset >= 10)
//   DQ → Gemm(DQ B, DQ C) → Q          ⇒ com.microsoft QGemm (8-bit output)
//   DQ → Gemm(DQ B, DQ C), output not (only) quantized ⇒ QGemm without y_scale (float output)
//   DQ, DQ → Add / Mul → Q             ⇒ com.microsoft QLinearAdd / QLinearMul
//   DQ → AveragePool → Q               ⇒ com.microsoft QLinearAveragePool
//   DQ → GlobalAveragePool → Q         ⇒ com.microsoft QLinearGlobalAveragePool (channels_last = 0)
//   DQ → MaxPool / Reshape / Transpose / Flatten / Squeeze / Unsqueeze → Q, same scale and
//     zero point on both sides         ⇒ the op reads the integer tensor directly
//   DQ → Q with the same scale and zero point ⇒ removed (the integer tensor is read directly)
// The new node takes the float node's name; its output takes the name of the Q output it
// replaces. Q/DQ nodes left without readers are removed; a DQ whose float output is a
// graph output (or read by a float op) stays, so float output names survive. The
// com.microsoft opset import (version 1) is added when one of its ops is written.
//
// Preconditions (anything else is left in QDQ form and counted "skipped <op>: <reason>"):
//   - activations: per-tensor scale, uint8 or int8 zero point present, DQ in the node's graph;
//   - weights: int8/uint8 codes, scale per tensor or per output channel: Conv axis 0,
//     MatMul axis 1 of a 2-D [K, N] weight (QLinearMatMul b_scale is per column only),
//     Gemm axis 0 with transB = 1 or axis 1 with transB = 0; no blocked scales;
//   - Add/Mul/pools: every input and the output use the same 8-bit type;
//   - AveragePool without dilations; MaxPool on 8-bit tensors needs opset >= 12, Flatten >= 9.
//
// Math. DQ: x = (q - z) * s. QLinearConv / QLinearMatMul / QGemm accumulate
// acc = sum (x_q - x_z)(w_q - w_z[c]) + bias_q in int32 and output
// y_q = saturate(round_half_even(acc * x_s * w_s[c] / y_s) + y_z), which is the QDQ graph's
// Q(op(DQ x, DQ w) + DQ b) up to float rounding when bias_q is at scale x_s * w_s[c].
// A bias (Conv B, Gemm C) whose DequantizeLinear has exactly that scale (zero point 0,
// int32) keeps its codes; any other constant bias is requantized:
//   Conv  bias_q[c] = round(b[c] / (x_s * w_s[c]))
//   Gemm  C_q[m, n] = round(beta * C[m, n] / (alpha * a_s * b_s[n]))   (QGemm has no beta)
// QLinearAdd/Mul and the pools are defined as Q(op(DQ a, DQ b)) on scalar parameters.
#pragma once

#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/Pass.h"
#include "onnxpress/support/Status.h"

namespace onnxpress::quant {

/// Rewrites `model` (every graph, subgraphs included) from QDQ to QOperator form as
/// described above, bumping "<op> written", "<op> on integers", "Q/DQ pairs removed",
/// "biases requantized" and "skipped <op>: <reason>" in `result`.
Status convertToQOperator(Model& model, PassResult& result);

}  // namespace onnxpress::quant
