// quantize{mode=weight-only}: int8/uint8/int4/uint4 weights in blocks along the
// reduction dim, dequantized in the graph; activations and compute stay float. The
// file shrinks (4-bit: 8x for the weight itself, plus one float scale and one zero
// point per block).
//
// Before:                          After (default):
//   x ─ MatMul(W[K,N]) ─ y           W_q[K,N], scale[K/B,N], zp[K/B,N] ─ DequantizeLinear{axis=0, block_size=B}
//                                     x ─ MatMul ─ y                          ─┘
//   x ─ Gemm(W, C) ─ y               Gemm(x, DequantizeLinear(W_q), C): axis 0 for W [K,N] (transB=0),
//                                     axis 1 for W [N,K] (transB=1)
//   ids ─ Gather(E[V,H]) ─ y         Gather(DequantizeLinear{axis=1}(E_q), ids): role "embedding"
//                                   After (matmul-nbits, MatMul with a 2-D weight only):
//                                     x ─ com.microsoft MatMulNBits(B, scales, zero_points){K, N, bits=4,
//                                         block_size=B} ─ y
// Gemm and Gather keep the DequantizeLinear form under matmul-nbits. A weight read by
// several nodes is quantized once per layout (its DequantizeLinear, or its MatMulNBits
// tensors, are shared); the float constant is removed once nothing reads it.
//
// Preconditions (anything else stays float and is counted as "skipped: <reason>"):
//   - a float model and valid options (the dispatcher checks); weight-type int8, uint8,
//     int4 or uint4; block-size > 0 (validated: a power of two >= 16); matmul-nbits needs
//     int4 or uint4 (usage error otherwise).
//   - nodes in Scope (default op types MatMul, Gemm, Gather), in every graph and subgraph.
//   - the weight is a float32 constant: an initializer that is not a graph input, or a
//     Constant node's value, possibly of an enclosing graph. MatMul: input 1 of rank >= 1
//     (blocks along axis rank-2, axis 0 for rank 1); Gemm: input 1 of rank 2; Gather:
//     input 0 (the table) of rank >= 1, blocks along its last axis.
//   - DequantizeLinear with block_size needs ai.onnx opset 21 and IR version 10: when
//     some weight takes that form the model is upgraded first (upgradeOpset, see
//     OpsetUpgrade.h; its refusal is returned and nothing is quantized). MatMulNBits
//     needs no upgrade; the com.microsoft opset (version 1) is imported when used.
//
// Math (QuantizeCommon.h): one scale (and zero point) per block of B consecutive values
// along the reduction axis and per index of the other axes; the last block may be
// shorter. Signed types are symmetric (s = max|w| / floor((qmax - qmin) / 2), z = 0),
// unsigned ones asymmetric unless symmetric=1. w' = (q - z) * s, |w' - w| <= s / 2.
// MatMulNBits (ONNX Runtime contrib spec, bits = 4, as the built-in runtime reads it):
//   B            uint8 [N, ceil(K/B), B/2]: for column n and block b, the codes of
//                W[b*B .. b*B+B-1, n], two per byte, low nibble first; K padded to whole
//                blocks with the code of 0 (the zero point).
//   scales       float [N * ceil(K/B)], index n * ceil(K/B) + b.
//   zero_points  uint8 [N * ceil(ceil(K/B) / 2)], per column n, two per byte, low nibble
//                first (the last nibble of a row is 0 when ceil(K/B) is odd).
//   Codes are stored unsigned: int4 codes q in [-8, 7] are stored as q + 8 with zero
//   point z + 8 (= 8 for symmetric), so (stored - stored_z) * s = (q - z) * s.
//
// Statistics: "MatMul", "Gemm", "Gather" (nodes whose weight is quantized), "MatMul as
// MatMulNBits", "weights quantized", "skipped: <reason>", and the upgrade's own (see
// OpsetUpgrade.h). Every quantized tensor is recorded once in result.quantized with its
// SQNR. reduce-range (int8/uint8 only) keeps 7-bit codes as in the other modes.
#pragma once

#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/Pass.h"
#include "onnxpress/passes/quantization/QuantizationRecord.h"
#include "onnxpress/passes/quantization/Quantize.h"

namespace onnxpress::quant {

/// Runs the weight-only mode over `model` (options.mode == "weight-only").
Expected<QuantizationResult> quantizeWeightOnly(Model& model, const QuantizeOptions& options);

}  // namespace onnxpress::quant
