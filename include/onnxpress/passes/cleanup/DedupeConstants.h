// dedupe-constants: merge identical constant tensors so each is stored once.
//
// Before:                                   After:
//   W1 = {1,2,3} (initializer) ─ Mul ─ a      W1 = {1,2,3} ─ Mul ─ a
//   W2 = {1,2,3} (initializer) ─ Add ─ b           └──────── Add ─ b
//   k  = Constant{1,2,3}       ─ Sub ─ c           └──────── Sub ─ c
//
// Preconditions: none. Works in every graph separately (If/Loop/Scan bodies too);
// a constant is merged only with one of the same graph.
//
// Candidates are the graph's initializers that no graph input overrides, then its
// Constant nodes, in that order; the first of each set of identical tensors is
// kept and the others' readers are redirected to it. Kept apart: a constant that
// is a graph output (its name is interface) and one named in a quantization
// annotation (the annotation refers to it by name).
//
// Math: identical means Tensor::sameContents (same dtype, dims and bytes, so -0.0
// and 0.0 differ and NaN payloads count). Tensors are grouped by dtype and dims
// first; only groups with several members hash their bytes, and only equal hashes
// are compared byte for byte. "bytes saved" sums the removed tensors' sizes.
#pragma once

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

class DedupeConstantsPass final : public PassBase<DedupeConstantsPass, NoOptions> {
 public:
  static constexpr std::string_view kName = "dedupe-constants";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
