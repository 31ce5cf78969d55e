#include "onnxpress/passes/substitution/ResidualBlocks.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"

namespace onnxpress::substitution {
namespace {

using Positions = std::unordered_map<const Node*, size_t>;

bool isResidualAdd(const Node& n) {
  if (!isDefaultDomain(n)) return false;
  return (n.opType() == "Add" || n.opType() == "Sum") && n.numInputs() == 2 && n.numOutputs() == 1;
}

// Same element type and the same rank, every dim equal and known (fixed or symbolic).
bool sameShape(const Value* a, const Value* b) {
  const Type& x = a->type();
  const Type& y = b->type();
  if (!x.isTensor() || !y.isTensor() || !x.hasShape || !y.hasShape) return false;
  if (x.elemType != y.elemType || x.dims.size() != y.dims.size()) return false;
  for (size_t i = 0; i < x.dims.size(); ++i) {
    const Dim& p = x.dims[i];
    const Dim& q = y.dims[i];
    if (p.kind == Dim::Kind::Unknown || p.kind != q.kind) return false;
    if (p.isFixed() ? p.value != q.value : p.param != q.param) return false;
  }
  return true;
}

// Nodes of `g` before position `limit` that depend on `skip`.
std::unordered_set<const Node*> descendants(const Graph& g, Value* skip, size_t limit, const Positions& positions) {
  std::unordered_set<const Node*> found;
  std::vector<const Value*> stack{skip};
  while (!stack.empty()) {
    const Value* v = stack.back();
    stack.pop_back();
    for (const Use& use : v->uses()) {
      if (!use.node || use.node->graph() != &g) continue;
      auto it = positions.find(use.node);
      if (it == positions.end() || it->second >= limit || !found.insert(use.node).second) continue;
      for (const Value* out : use.node->outputs())
        if (out) stack.push_back(out);
    }
  }
  return found;
}

std::optional<ResidualBlock> asBlock(const Graph& g, Node* add, Value* skip, Value* branchOut,
                                     const Positions& positions) {
  if (!skip || !branchOut || skip == branchOut || skip->graph() != &g) return std::nullopt;
  Node* last = branchOut->producer();
  if (!last || last->graph() != &g || isConstant(skip) || isConstant(branchOut)) return std::nullopt;
  if (branchOut->uses().size() != 1 || branchOut->uses()[0].node != add) return std::nullopt;
  if (!sameShape(skip, branchOut)) return std::nullopt;

  const std::unordered_set<const Node*> dependent = descendants(g, skip, positions.at(add), positions);
  if (!dependent.count(last)) return std::nullopt;

  // The branch: ancestors of branchOut that depend on the skip.
  ResidualBlock block{add, skip, {}};
  std::unordered_set<const Node*> inBranch{last};
  std::vector<Node*> stack{last};
  bool readsSkipValues = false;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    block.branch.push_back(n);
    if (!n->subgraphs().empty()) return std::nullopt;  // its body may read values the walk cannot see
    for (Value* in : n->inputs()) {
      if (!in) continue;
      if (in == skip) {
        readsSkipValues |= n->opType() != "Shape" && n->opType() != "Size";
        continue;
      }
      Node* p = in->producer();
      if (p && dependent.count(p) && inBranch.insert(p).second) stack.push_back(p);
    }
  }
  if (!readsSkipValues) return std::nullopt;
  for (const Node* n : block.branch)
    for (const Value* v : n->outputs()) {
      if (!v || v == branchOut) continue;
      for (const Use& use : v->uses())
        if (!use.node || !inBranch.count(use.node)) return std::nullopt;  // read outside the branch
    }
  std::sort(block.branch.begin(), block.branch.end(),
            [&](const Node* a, const Node* b) { return positions.at(a) < positions.at(b); });
  return block;
}

std::vector<ResidualBlock> findBlocks(const Graph& g) {
  std::vector<ResidualBlock> blocks;
  Expected<std::vector<Node*>> order = g.topologicalOrder();
  if (!order) return blocks;  // a cyclic graph has no well-defined blocks
  Positions positions;
  for (size_t i = 0; i < order->size(); ++i) positions[(*order)[i]] = i;
  for (Node* n : *order) {
    if (!isResidualAdd(*n)) continue;
    for (size_t slot = 0; slot < 2; ++slot)
      if (auto block = asBlock(g, n, n->input(slot), n->input(1 - slot), positions)) {
        blocks.push_back(std::move(*block));
        break;
      }
  }
  return blocks;
}

}  // namespace

std::vector<ResidualBlock> findResidualBlocks(Model& model) {
  (void)inferShapes(model);  // blocks need the shapes of skip and branch
  std::vector<ResidualBlock> blocks;
  model.graph().forEachGraph([&](const Graph& g) {
    std::vector<ResidualBlock> found = findBlocks(g);
    std::move(found.begin(), found.end(), std::back_inserter(blocks));
  });
  return blocks;
}

}  // namespace onnxpress::substitution
