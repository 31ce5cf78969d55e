// eliminate-identity: remove nodes whose output always equals one of their inputs.
//
// Before:                                       After:
//   x ─ Identity ─ a ─ Reshape(a, [N,3]) ─ b      x ─ Relu ─ y
//   b ─ Transpose(perm=[0,1]) ─ c
//   c ─ Mul(c, 1.0) ─ d ─ Relu ─ y
//
// Removed (x is the data input, other inputs must be constant where named):
//   Identity; Dropout in inference (mask output unused; training_mode absent or
//   constant false); Reshape to x's own shape (constant shape whose entries match
//   x's fixed dims, 0 copying a dim unless allowzero, at most one -1; or equal
//   static input/output shapes); Transpose with perm 0..n-1 (or no perm and rank<=1);
//   Cast/CastLike to x's dtype; Pad with all-zero pads (any mode); Slice taking every
//   element of each sliced axis with step 1; Expand whose shape broadcasts into x's
//   shape unchanged; Squeeze without axes when no dim can be 1; Unsqueeze with empty
//   axes; Flatten that keeps a rank-2 shape; single-input Concat/Sum/Mean/Max/Min;
//   Mul/Div by all-ones and Add/Sub of all-zeros constants (Sub/Div: constant second;
//   before opset 7 always) whose broadcast leaves x's shape unchanged.
// Also dropped: an RNN/GRU/LSTM initial_h or initial_c input that is known to be
// all zeros (a zero constant, or ConstantOfShape(0) through shape-only ops, as
// torch exports them), since zeros are the default; its producers then die.
//
// Preconditions: runs shape inference first; a rule whose shapes are unknown keeps
// the node. A main-graph output keeps its name and declared type (the name moves to
// x; impossible when x is itself a graph input, initializer or output: the node
// stays). A subgraph output is only rewired to a value computed in that subgraph.
//
// Math: every rule is an exact identity on values (x + 0 may turn -0 into +0,
// x * 1 and x / 1 are exact in IEEE arithmetic), so outputs are bit-identical up
// to the sign of zero.
#pragma once

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

class EliminateIdentityPass final : public PassBase<EliminateIdentityPass, NoOptions> {
 public:
  static constexpr std::string_view kName = "eliminate-identity";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
