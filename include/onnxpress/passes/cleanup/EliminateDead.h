// eliminate-dead: remove everything the graph outputs do not depend on.
//
// Before:                                   After:
//   x ─ Conv ─ y ─(graph output)              x ─ Conv ─ y ─(graph output)
//   x ─ Relu ─ unused                          (Relu gone)
//   initializer w_old (no users)               (w_old gone)
//   value_info for a name nothing defines      (entry gone)
//   opset_import ai.onnx.ml (no ML node)       (import gone)
//   function F (never called)                  (F gone)
//
// Preconditions: none; works on any graph, including If/Loop/Scan bodies, whose
// outputs count as uses and whose reads of outer values keep those alive.
//
// Math: a node is live iff one of its outputs is used by a live node or is a
// graph output (liveness is the least fixed point of that rule). Dead nodes are
// removed in reverse order until no more die. Initializers are removed when
// unused and not graph inputs (graph inputs are the model's interface and stay).
// The default-domain opset import is always kept; others stay iff a remaining
// node (in any subgraph or kept function) uses their domain.
#pragma once

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct EliminateDeadOptions {
  bool functions = true;
  bool opsets = true;
  template <class V>
  void visitOptions(V& v) {
    v("functions", functions, "also remove model-local functions that no node calls");
    v("opsets", opsets, "also remove opset imports that no node uses");
  }
};

class EliminateDeadPass final : public PassBase<EliminateDeadPass, EliminateDeadOptions> {
 public:
  static constexpr std::string_view kName = "eliminate-dead";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
