// Cross-layer equalization (quantize{equalize=true}): rescale the output channels of
// one layer and the matching input channels of the next so both weights have equal
// per-channel ranges, which per-tensor weight quantization then covers with less
// error. Runs on the FLOAT model before calibration. Nagel et al. 2019, "Data-Free
// Quantization Through Weight Equalization and Bias Absorption", section 4.1.
//
// Before:                                          After (same function):
//   x ─ Conv(W1, b1) ─ Relu ─ Conv(W2, b2) ─ y       x ─ Conv(W1', b1') ─ Relu ─ Conv(W2', b2) ─ y
//
// Pairs (layer1 → optional activation → layer2):
//   layer1      Conv (output channels: axis 0 of W1) or Gemm (the N axis of op(B):
//               columns of B, rows when transB = 1), constant float32 weight and bias.
//   activation  none, Relu or LeakyRelu (positively homogeneous: f(x / s) = f(x) / s for
//               s > 0). Clip/Relu6, Sigmoid, PRelu and everything else end the chain.
//   layer2      Conv (grouped and depthwise too: input channel i is slot i % (C/group)
//               of the output channels of group i / (C/group)), Gemm (transA = 0; rows
//               of B, columns when transB = 1) or MatMul with a constant 2-D weight
//               (rows). The channel axis must be the one layer2 reduces over, so the
//               pairs are Conv → Conv, Gemm → Gemm and Gemm → MatMul.
//   Layer1's output (and the activation's) is read by the next node of the chain only,
//   both layers are in `scope`, and no node but the pair reads W1, b1 or W2: a weight
//   shared with other nodes is never modified (statistic "skipped layer pairs with
//   shared weights"). A Gemm bias that broadcasts one value over the channels is not
//   split per channel ("skipped layer pairs with a broadcast bias").
//   Main graph only: layers inside If/Loop/Scan bodies are left alone.
//
// Math, per channel i of a pair:
//   r1_i = max |W1[i, ...]|,  r2_i = max |W2[:, i, ...]|,  s_i = sqrt(r1_i / r2_i)
//   clamped to [1e-4, 1e4]; s_i = 1 when r1_i or r2_i is 0.
//   W1[i] /= s_i, b1[i] /= s_i, W2[:, i] *= s_i; afterwards r1_i = r2_i = sqrt(r1_i r2_i).
//   Equalizing one pair changes the ranges its neighbours see in a chain
//   (conv1 → conv2 → conv3), so the pairs are equalized in graph order, sweep after
//   sweep, until every s_i of a sweep is within 1e-3 of 1 (at most 8 sweeps).
// Weights are rewritten in place (initializer or Constant node), keeping names and
// types. Bias absorption (section 4.2 of the paper) is not done.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/Pass.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"

namespace onnxpress::quant {

/// Equalizes every pair in scope; returns the number of layer pairs equalized
/// (statistic "layer pairs equalized").
int64_t equalizeCrossLayer(Model& model, const Scope& scope, PassResult& result);

// ---- helpers shared by the accuracy repairs (SmoothQuant, BiasCorrection) ----------------
// Candidates for QuantizeCommon.h / PassUtil.h.

/// The elements of a weight that make up each of its channels, for per-channel ranges
/// and scaling. The weight is viewed as [outer, slots, inner]; channel c is slot
/// c % slots of the `outerPerGroup` outer rows of group c / slots.
///   rows of [R, ...]           outer = 1, slots = R, inner = the rest
///   columns of [R, C]          outer = R, slots = C, inner = 1, outerPerGroup = R
///   Conv input channels of     outer = M, slots = C/group, inner = prod(k...),
///     W[M, C/group, k...]        outerPerGroup = M/group
struct WeightChannels {
  int64_t outer = 1, slots = 1, inner = 1, outerPerGroup = 1;

  static WeightChannels rows(const std::vector<int64_t>& dims);
  static WeightChannels columns(int64_t rows, int64_t cols);
  /// Null layout (count() == 0) when dims[0] is not a multiple of group.
  static WeightChannels convInputs(const std::vector<int64_t>& dims, int64_t group);

  int64_t count() const { return outerPerGroup > 0 ? outer / outerPerGroup * slots : 0; }
  /// max |w| over each channel.
  std::vector<float> absMax(std::span<const float> values) const;
  /// Channel c of `values` multiplied by factors[c].
  void scale(std::span<float> values, std::span<const double> factors) const;
};

/// The tensor behind a constant `v`, writable in place: its initializer (unless it is
/// also a graph input) or the `value` tensor of its Constant node; null otherwise.
Tensor* mutableConstantTensor(Value* v);
/// Whether `v` is read by exactly one node input (no other node, graph output or subgraph).
bool readByOneNode(const Value* v);
/// Replaces the contents of the constant behind `v` with `values` (same count), keeping
/// its name, dtype and dims. False when `v` is not a writable constant.
bool overwriteFloatConstant(Value* v, std::span<const float> values);

}  // namespace onnxpress::quant
