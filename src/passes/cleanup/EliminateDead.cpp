#include "onnxpress/passes/cleanup/EliminateDead.h"

#include <set>

namespace onnxpress {
namespace {

bool isDead(const Node* node) {
  if (node->numOutputs() == 0) return false;  // no outputs: kept, it may be an opaque side effect
  for (Value* out : node->outputs())
    if (out && out->hasUses()) return false;
  return true;
}

// One reverse sweep over `g`; returns the number of nodes removed.
int64_t removeDeadNodes(Graph& g) {
  int64_t removed = 0;
  std::vector<Node*> nodes = g.nodeList();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it)
    if (isDead(*it)) {
      g.destroyNode(*it);
      ++removed;
    }
  return removed;
}

void removeUnusedConstants(Graph& g, PassResult& result) {
  for (Value* v : std::vector<Value*>(g.initializers()))
    if (!v->hasUses() && !v->isGraphInput()) {
      g.removeInitializer(v);
      result.bump("initializers removed");
    }
  for (Value* v : std::vector<Value*>(g.sparseInitializers()))
    if (!v->hasUses() && !v->isGraphInput()) {
      g.removeSparseInitializer(v);
      result.bump("initializers removed");
    }
  for (Value* v : std::vector<Value*>(g.valueInfos()))
    if (!v->producer() && !v->isGraphInput() && !v->initializer() && !v->sparseInitializer()) {
      g.removeValueInfo(v);
      if (!v->hasUses()) g.destroyValue(v);
      result.bump("value_info entries removed");
    }
}

void collectDomainsAndCalls(const Graph& g, std::set<std::string>& domains,
                            std::set<std::pair<std::string, std::string>>& calls) {
  g.forEachGraph([&](const Graph& sub) {
    for (Node* n : sub.nodes()) {
      domains.insert(n->domain());
      calls.emplace(n->domain(), n->opType());
    }
  });
}

}  // namespace

Expected<PassResult> EliminateDeadPass::run(Model& model, PassContext&) {
  PassResult result;
  for (;;) {
    int64_t removed = 0;
    model.graph().forEachGraph([&](Graph& g) { removed += removeDeadNodes(g); });
    if (removed == 0) break;
    result.bump("nodes removed", removed);
  }
  model.graph().forEachGraph([&](Graph& g) { removeUnusedConstants(g, result); });

  std::set<std::string> domains;
  std::set<std::pair<std::string, std::string>> calls;
  collectDomainsAndCalls(model.graph(), domains, calls);
  if (options_.functions) {
    // Functions may call each other: keep adding callees until nothing new is reached.
    std::vector<bool> kept(model.functions.size(), false);
    for (bool grew = true; grew;) {
      grew = false;
      for (size_t i = 0; i < model.functions.size(); ++i) {
        const Function& f = model.functions[i];
        if (kept[i] || !calls.count({f.domain, f.name})) continue;
        kept[i] = grew = true;
        collectDomainsAndCalls(*f.body, domains, calls);
      }
    }
    std::vector<Function> remaining;
    for (size_t i = 0; i < model.functions.size(); ++i) {
      if (kept[i]) remaining.push_back(std::move(model.functions[i]));
      else result.bump("functions removed");
    }
    model.functions = std::move(remaining);
  } else {
    for (const Function& f : model.functions) collectDomainsAndCalls(*f.body, domains, calls);
  }
  if (options_.opsets) {
    std::vector<OpsetImport> keptImports;
    for (const auto& o : model.opsetImports) {
      bool isDefault = canonicalDomain(o.domain).empty();
      if (isDefault || domains.count(o.domain)) keptImports.push_back(o);
      else result.bump("opset imports removed");
    }
    model.opsetImports = std::move(keptImports);
  }
  return result;
}

}  // namespace onnxpress
