// fold-constants: evaluate at compile time every node whose inputs are all constant,
// and the shape queries whose answer the static shapes already give.
//
// Before:                                        After:
//   W (initializer) ─ Transpose ─ Wt ─┐              Wt (initializer, = Wᵀ) ─┐
//   x ─────────────────────────────── MatMul ─ y     x ───────────────────── MatMul ─ y
//   x:[N,3,8] ─ Shape ─ Gather(idx=2) ─ d            d (initializer, = 8)
//
// Preconditions: none. Folded outputs that are graph outputs become Constant nodes
// (a graph output keeps its name); every other folded output becomes an initializer
// of the node's graph, named as the value was. Constant inputs left without users
// (initializers, Constant nodes, Shape nodes) are removed.
//
// Skipped: Constant nodes (already constant), nodes outside ai.onnx, nodes with
// subgraphs, random ops (RandomNormal/Uniform(Like), Multinomial, Bernoulli),
// Dropout in training mode, QuantizeLinear/DequantizeLinear (a QDQ model must keep
// them), ops the built-in runtime cannot run or that fail on their inputs, and folds
// that would make the model bigger: the outputs' bytes must fit in the bytes of the
// constant inputs the fold frees (those only this node reads), or in kFreeGrowthBytes
// (shape arithmetic). So a Transpose of a weight that other nodes also read, a Cast or
// DequantizeLinear that widens weights, and ConstantOfShape/Expand/Tile blow-ups stay
// (a real audio model grew 42% when such folds were materialised). allow-growth=true
// restores the old budget: folds whose output is larger than both max-elements and the
// node's inputs are refused.
//
// Math: the node runs through the built-in runtime's own kernel, so a folded value
// is bit-identical to what running the original graph computes. With shapes=true:
// Shape (start/end from opset 15) and Size of a value whose inferred shape is
// static; Gather (axis 0, constant indices) and Slice (constant parameters, axis 0)
// of a Shape output when every dim they select is fixed, even if others are
// symbolic. Shape inference runs before each sweep; sweeps repeat until nothing
// folds (new constants make more shapes static), at most kMaxRounds times.
// With initializers=true, Constant nodes then become initializers of the same
// name (one node fewer each; ORT, TensorRT and onnx treat both alike).
#pragma once

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

inline constexpr int64_t kFreeGrowthBytes = 1024;

struct FoldConstantsOptions {
  bool allowGrowth = false;
  int64_t maxElements = int64_t{1} << 20;
  bool shapes = true;
  bool initializers = true;
  template <class V>
  void visitOptions(V& v) {
    v("allow-growth", allowGrowth, "fold even when the model gets bigger (up to max-elements per output)");
    v("max-elements", maxElements,
      "allow-growth: largest folded output (elements) allowed when the fold makes the data bigger than the node's "
      "inputs");
    v("shapes", shapes, "also fold Shape/Size (and Gather/Slice of Shape) from statically inferred shapes");
    v("initializers", initializers, "turn Constant nodes into initializers (not those that are graph outputs)");
  }
  Status validate() const;
};

class FoldConstantsPass final : public PassBase<FoldConstantsPass, FoldConstantsOptions> {
 public:
  static constexpr std::string_view kName = "fold-constants";
  static constexpr int kMaxRounds = 8;
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
