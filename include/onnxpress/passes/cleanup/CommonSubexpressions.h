// cse: merge nodes that compute the same thing from the same inputs.
//
// Before:                                   After:
//   x ─ Shape ─ s1 ─ Gather(0) ─ a            x ─ Shape ─ s1 ─ Gather(0) ─ a
//   x ─ Shape ─ s2 ─ Gather(1) ─ b                         s1 ─ Gather(1) ─ b
//
// Preconditions: none. Two nodes merge when they have the same domain, op type,
// input values (the same Value objects, in order), output count and attributes
// (names, kinds and values; tensor attributes compared bit for bit). Never merged:
// nodes with subgraphs, random ops (RandomNormal/Uniform(Like), Multinomial,
// Bernoulli), Dropout (random in training mode), nodes outside ai.onnx (their
// determinism is unknown), and nodes with no inputs other than Constant (left to
// dedupe-constants). A node whose outputs include a main-graph output keeps its place:
// the later duplicate is the one removed, and only if its outputs can be rewired.
//
// Math: an ONNX node is a pure function of its inputs and attributes, so equal
// keys mean equal outputs. Nodes are visited in topological order, so merging a
// pair can make their readers identical in turn; one sweep catches those chains.
#pragma once

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

class CommonSubexpressionsPass final : public PassBase<CommonSubexpressionsPass, NoOptions> {
 public:
  static constexpr std::string_view kName = "cse";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
