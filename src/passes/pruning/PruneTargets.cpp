#include "onnxpress/passes/pruning/PruneTargets.h"

#include <fmt/ranges.h>

#include <algorithm>

#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/pruning/PruneParse.h"

namespace onnxpress {
namespace {


// A Conv/Gemm/MatMul of op-types reading a constant float weight (input 1) with elements.
bool prunable(const Node& n, const PruneOptions& options) {
  if (!isDefaultDomain(n) || n.numInputs() < 2) return false;
  if (std::find(options.opTypes.begin(), options.opTypes.end(), n.opType()) == options.opTypes.end()) return false;
  const Tensor* w = constantTensor(n.input(1));
  return w && isFloatType(w->dtype()) && w->numElements() > 0;
}

bool names(const Node& n, const std::string& name) {
  return n.name() == name || (n.input(1) && n.input(1)->name() == name);
}

}  // namespace

Expected<std::vector<PruneTarget>> selectPruneTargets(Model& model, const PruneOptions& options) {
  ASSIGN_OR_RETURN(std::vector<LayerSparsity> overrides, parsePerLayer(options.perLayer));
  ASSIGN_OR_RETURN(std::optional<std::regex> exclude, parseExcludeNodes(options.excludeNodes));

  std::vector<PruneTarget> targets;
  std::vector<bool> matched(overrides.size(), false);
  std::vector<const Node*> namedNode(overrides.size(), nullptr);  // a non-prunable node an entry names
  model.graph().forEachGraph([&](Graph& g) {
    for (Node* n : g.nodes()) {
      const bool wanted = prunable(*n, options) && !isExcluded(*n, exclude);
      PruneTarget target{n, 1, options.sparsity};
      for (size_t i = 0; i < overrides.size(); ++i) {
        if (!names(*n, overrides[i].name)) continue;
        if (!wanted) {
          if (!namedNode[i]) namedNode[i] = n;
          continue;
        }
        matched[i] = true;
        target.sparsity = overrides[i].sparsity;  // the last matching entry wins
      }
      if (wanted) targets.push_back(target);
    }
  });
  for (size_t i = 0; i < overrides.size(); ++i) {
    if (matched[i]) continue;
    if (namedNode[i])
      return usageError("option 'per-layer': '{}' names {}, which is not pruned (op-types {}, a constant float "
                        "weight, not matched by exclude-nodes)",
                        overrides[i].name, namedNode[i]->describe(), fmt::join(options.opTypes, ","));
    return usageError("option 'per-layer': '{}' matches no node or weight name", overrides[i].name);
  }
  return targets;
}

}  // namespace onnxpress
