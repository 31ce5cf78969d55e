#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/fusion/FusionUtil.h"

namespace onnxpress::fusion {

void forEachFusionSweep(Model& model, const std::function<bool(Node*)>& visit, int maxSweeps) {
  model.graph().forEachGraph([&](Graph& g) {
    for (int sweep = 0; sweep < maxSweeps; ++sweep) {
      Expected<std::vector<Node*>> order = g.topologicalOrder();
      if (!order) return;  // a cycle: leave the graph as it is
      bool changed = false;
      for (Node* n : *order) changed |= visit(n);
      if (!changed) return;
    }
  });
}

}  // namespace onnxpress::fusion
