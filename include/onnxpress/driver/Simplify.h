// simplify: run the clean-up and fusion passes until none changes the graph.
// It builds its member passes by name from the registry, so it sits in the driver
// layer beside it rather than in a pass family.
//
// Before:                                          After:
//   x ─ Identity ─ Conv(W) ─ BN ─ Shape ─ Gather      x ─ Conv(W', b') ─ ...
//        ... Reshape(shape computed from Shape) ─ y    ... Reshape(constant shape) ─ y
//
// Preconditions: none beyond those of each member pass.
//
// Math: a fixed point. Each round runs the member passes in order; it stops after
// the first round in which no pass changed anything, or after max-rounds (then
// the statistic "rounds" equals max-rounds, which the report shows). Every member
// preserves outputs (exactly, or within its declared float tolerance), so the
// composition does too. Statistics are the members', prefixed "<pass>: ".
#pragma once

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct SimplifyOptions {
  std::vector<std::string> passes = {"fold-constants",  "eliminate-identity", "fuse-bn",
                                     "fuse-matmul-add", "fuse-transpose",     "fuse-reshape",
                                     "fuse-patterns",   "dedupe-constants",   "cse",
                                     "eliminate-dead"};
  int64_t maxRounds = 10;
  template <class V>
  void visitOptions(V& v) {
    v("passes", passes, "member passes, run in this order each round");
    v("max-rounds", maxRounds, "stop after this many rounds even if passes still change the graph");
  }
  Status validate() const;
};

class SimplifyPass final : public PassBase<SimplifyPass, SimplifyOptions> {
 public:
  static constexpr std::string_view kName = "simplify";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
