// quantize{mode=fp16|bf16}: float32 tensors stored and computed in 16 bits, with
// float32 kept where the op is blocked or cannot take the 16-bit type.
//
// Before (float32 everywhere):
//   X ─ Conv(W, b) ─ Relu ─ Resize(roi, scales) ─ Y
// After (mode=fp16; Resize is on the default blocklist):
//   X16 ─ Conv(W16, b16) ─ Relu ─ Cast(to=FLOAT) ─ Resize(roi, scales) ─ Cast(to=FLOAT16) ─ Y16
//   (roi and scales are read by the float32 Resize only, so they stay float32)
// keep-io-types=1:
//   X ─ Cast(to=FLOAT16) ─ ... ─ Cast(to=FLOAT) ─ Y   (X and Y stay float32 and keep their names)
//
// What changes, in every graph and subgraph (If/Loop/Scan bodies):
//   - float32 initializers, sparse initializers and Constant values (value, value_float(s),
//     sparse_value) become 16-bit when a 16-bit reader needs them; read only by float32
//     readers they stay float32 (no Cast, no rounding).
//   - Types of graph inputs/outputs, value_info and node outputs follow; subgraph inputs and
//     outputs follow their If/Loop/Scan node so outer and inner types agree.
//   - Attributes that make float32: Cast(to=FLOAT) (only when a 16-bit reader needs it; a
//     Cast feeding float32 readers only stays as it is), ConstantOfShape value (added when
//     absent), dtype of RandomNormal(Like)/RandomUniform(Like)/EyeLike/Bernoulli/SequenceEmpty,
//     output_datatype of Hann/Hamming/BlackmanWindow and MelWeightMatrix.
//   - A node is "kept in float32" when:
//       the op is in the default blocklist (ONNX Runtime's float16 tool: NonMaxSuppression,
//         TopK, RoiAlign, Resize, Range, CumSum, Min, Max, Upsample, RandomUniformLike) and is
//         not named in op-types; or any ai.onnx.ml op (tree ensembles, SVMs, scalers, ...);
//       it is outside Scope: op-types given and the op not listed, exclude-op-types,
//         exclude-nodes (ECMAScript regex searched in node names). Scope only knows
//         ai.onnx ops, so for other domains the same three options are checked locally;
//       it calls a model-local function (its body is not retyped);
//       it sits in the body of a kept If/Loop/Scan (the whole body stays float32), or it is
//         an If/Loop/Scan whose opset has no 16-bit variant.
//     Constant and Cast nodes are never blocked: their output type follows their readers.
//     A kept node's 16-bit inputs get Cast(to=FLOAT); readers of its float outputs that
//     need 16 bits get Cast(to=FLOAT16/BFLOAT16). One Cast per value, type and graph is
//     shared; a Cast before a main-graph output takes the output's name.
//   - Per-input types come from the op's ONNX schema at the model's opset: an input whose
//     type constraint has no 16-bit type stays float32 (Resize scales, Upsample scales); an
//     output becomes 16-bit only when its type variable is shared with an input (so
//     LayerNormalization's Mean/InvStdDev stay float32 as stash_type says) or set by an
//     attribute edited above. A node whose float inputs all lack the 16-bit type (bf16 on
//     Conv before opset 22, ...) stays float32 with Casts. Ops without a schema (custom
//     domains) take 16 bits on every float input and output.
//
// Preconditions:
//   - the model holds no 16-bit weights and is not quantized (the dispatcher checks);
//   - ai.onnx opset >= 6 (Cast with an integer `to`); bf16 needs opset >= 13 (Cast to
//     bfloat16), otherwise a usage error (run convert-opset first);
//   - element types are known: shape inference runs first; a value whose type stays unknown
//     is left as produced (it gets no Cast).
//
// Math (round to nearest even, as Eigen's half/bfloat16 conversions):
//   fp16: finite x with |x| > 65504 becomes ±65504 ("values clamped to fp16 range"); nonzero x
//         that rounds to 0 (|x| <= 2^-25) is counted ("values flushed to zero").
//   bf16: float32's exponent range, so only the mantissa rounds; |x| above the largest
//         bfloat16 (3.3895e38, which would round to inf) becomes ±3.3895e38 ("values clamped
//         to bf16 range"); float32 denormals below 2^-133 flush to 0 (counted).
//   Infinities and NaN are kept as they are (-inf masks keep working) and counted
//   ("non-finite values kept").
//
// Statistics: "tensors converted", the three value counts above, "nodes in 16-bit", "nodes
// kept in float32", "nodes kept in float32: no 16-bit type in opset", "Casts inserted",
// "skipped: <reason>". result.quantized gets one entry per converted tensor of more than
// one element (role "weight", dtype "float16"/"bfloat16", count = elements, SQNR of the
// rounding).
//
// ONNX Runtime: a float16 model loads on the CPU EP, which inserts float Casts around ops
// it has no float16 kernel for. bfloat16 support on the CPU EP is thin: it may refuse a
// bf16 model ("Could not find an implementation for ...(bfloat16)"); that is ORT's
// limitation, bf16 targets GPUs/NPUs. The built-in runtime runs both through
// runtime/HalfPrecisionFallback.h.
#pragma once

#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/Pass.h"
#include "onnxpress/passes/quantization/QuantizationRecord.h"
#include "onnxpress/passes/quantization/Quantize.h"

namespace onnxpress::quant {

/// Runs the fp16/bf16 mode over `model` (options.mode is "fp16" or "bf16").
Expected<QuantizationResult> convertFloat(Model& model, const QuantizeOptions& options);

}  // namespace onnxpress::quant
