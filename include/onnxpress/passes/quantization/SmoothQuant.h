// SmoothQuant (quantize{smoothquant=true}): move activation outliers of MatMul inputs
// into the weights, where per-channel ranges cost nothing, so that per-tensor
// activation quantization loses less. Runs on the FLOAT model before calibration.
// Xiao et al. 2022, "SmoothQuant: Accurate and Efficient Post-Training Quantization
// for Large Language Models".
//
// Before:                                         After:
//   h ─ LayerNormalization(γ, β) ─ x ┬ MatMul(Wq)    h ─ LayerNormalization(γ/s, β/s) ─ x' ┬ MatMul(diag(s) Wq)
//                                    ├ MatMul(Wk)                                         ├ MatMul(diag(s) Wk)
//                                    └ MatMul(Wv)                                         └ MatMul(diag(s) Wv)
//   x ─ MatMul(W) ─ y   (x not from a foldable LayerNormalization)
//                                                  x ─ Mul(1/s) ─ x' ─ MatMul(diag(s) W) ─ y
//
// Preconditions (per target):
//   - MatMul, or Gemm with transA = 0 (transB = 1 handled: B is [N, K]), in `scope`,
//     in the main graph (subgraphs are left alone: the calibration statistics cover the
//     main graph only), reading a non-constant activation x at input 0 and a constant
//     2-D float32 weight at input 1 that no other node reads (else statistic
//     "skipped MatMuls with shared weights"). x's last dim, when known, is K.
//   - Targets reading the same x form one group with one s.
//   - Folding into LayerNormalization: x is its output 0, every reader of x is a target
//     of the group, γ (and β if present) are float32 constants whose last dim is K
//     (a γ/β shared with other nodes gets a private copy). Otherwise one Mul(x, 1/s) is inserted before the group's
//     first target and every target of the group reads its output instead of x.
//
// Math, per input channel k (the last axis of x, row k of W [K, N]):
//   a_k = max |x_k| over options.calibSamples samples of `data` (channelAbsMax),
//   w_k = max over the group's weights of max_n |W[k, n]|,
//   s_k = a_k^alpha / w_k^(1 - alpha) with alpha = options.smoothQuantAlpha,
//   clamped to [1e-5, 1e5]; s_k = 1 when a_k or w_k is 0.
//   W'[k, :] = s_k W[k, :], x' = x / s, so x' W' = x W exactly (in real arithmetic).
//   LayerNormalization: y = n γ + β, so γ_k / s_k and β_k / s_k give y_k / s_k.
// Weights and LayerNormalization parameters are rewritten in place (initializer or
// Constant node), keeping names and types.
#pragma once

#include <cstdint>
#include <set>

#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/Pass.h"
#include "onnxpress/passes/quantization/Quantize.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"

namespace onnxpress::quant {

/// Smooths every MatMul/Gemm group in scope; returns the number of MatMuls (and
/// Gemms) smoothed. Statistics: "MatMuls smoothed", "scales folded into
/// LayerNormalization", "Mul nodes inserted". The Mul(x, 1/s) nodes inserted are
/// added to `insertedMuls` when given: the static quantizer leaves them (and so x)
/// in float, since quantizing x would undo the smoothing.
Expected<int64_t> applySmoothQuant(Model& model, Dataset& data, const QuantizeOptions& options, const Scope& scope,
                                   int threads, PassResult& result, std::set<const Node*>* insertedMuls = nullptr);

}  // namespace onnxpress::quant
