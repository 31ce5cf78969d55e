#include "onnxpress/passes/substitution/DropLayers.h"

#include <set>
#include <unordered_set>

#include "onnxpress/analysis/Macs.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/substitution/ResidualBlocks.h"
#include "onnxpress/passes/substitution/SubstitutionUtil.h"

namespace onnxpress {

Status DropLayersOptions::validate() const {
  if (every < 0) return usageError("option 'every' must be >= 0, got {}", every);
  if (offset < 0) return usageError("option 'offset' must be >= 0, got {}", offset);
  for (int64_t i : indices)
    if (i < 0) return usageError("option 'indices': block indices are >= 0, got {}", i);
  if ((every > 0) == !indices.empty()) return usageError("set exactly one of the options 'every' and 'indices'");
  if (offset != 0 && every == 0) return usageError("option 'offset' applies only with 'every'");
  return Status::ok();
}

Expected<PassResult> DropLayersPass::run(Model& model, PassContext&) {
  RETURN_IF_ERROR(options_.validate());
  const std::vector<substitution::ResidualBlock> blocks = substitution::findResidualBlocks(model);
  const auto count = static_cast<int64_t>(blocks.size());

  std::set<int64_t> selected;
  for (int64_t i : options_.indices) {
    if (i >= count)
      return usageError("index {} is out of range: found {} droppable residual blocks{}", i, count,
                        count > 0 ? fmt::format(" (0..{})", count - 1) : "");
    selected.insert(i);
  }
  if (options_.every > 0)
    for (int64_t i = options_.offset; i < count; i += options_.every) selected.insert(i);

  // Later blocks first: an earlier block is then either untouched or nested in the
  // dropped one (its Add already gone), never half removed.
  std::unordered_set<const Node*> removedNodes;
  std::vector<Value*> constants;  // read by dropped branches, distinct, removed at the end
  std::unordered_set<const Value*> seenConstants;
  int64_t dropped = 0, nodesRemoved = 0, macsBefore = 0, paramsBefore = 0, paramsAfter = 0;
  for (auto it = selected.rbegin(); it != selected.rend(); ++it) {
    const substitution::ResidualBlock& block = blocks[static_cast<size_t>(*it)];
    if (removedNodes.count(block.add)) continue;  // went with an enclosing dropped block
    Graph& g = *block.add->graph();
    Node* add = block.add;
    for (const Node* n : block.branch) {
      macsBefore += nodeMacs(*n).value_or(0);
      for (Value* in : n->inputs())
        if (in && isConstant(in) && seenConstants.insert(in).second) constants.push_back(in);
    }
    removedNodes.insert(add);
    if (!replaceKeepingInterface(add->output(0), block.skip)) {
      // The skip cannot take a graph output's place itself (a graph input, say): an Identity can.
      Node* identity = g.createNode("Identity", {block.skip}, 1, add);
      copyType(add->output(0), identity->output(0));
      [[maybe_unused]] bool replaced = replaceKeepingInterface(add->output(0), identity->output(0));
      --nodesRemoved;
    }
    for (auto n = block.branch.rbegin(); n != block.branch.rend(); ++n) {
      removedNodes.insert(*n);
      g.destroyNode(*n);
    }
    nodesRemoved += 1 + static_cast<int64_t>(block.branch.size());
    ++dropped;
  }
  for (Value* c : constants) {
    const int64_t elements = substitution::constantElements(c);
    paramsBefore += elements;
    if (c->hasUses()) paramsAfter += elements;
    else if (isOp(c->producer(), "Constant")) ++nodesRemoved;
  }
  releaseIfUnused(constants);

  PassResult result;
  result.bump("blocks found", count);
  result.bump("blocks dropped", dropped);
  result.bump("nodes removed", nodesRemoved);
  result.bump("parameters before", paramsBefore);
  result.bump("parameters after", paramsAfter);
  result.bump("MACs before", macsBefore);
  result.changed = dropped > 0;
  return result;
}

}  // namespace onnxpress
