#include "onnxpress/passes/cleanup/CommonSubexpressions.h"

#include <functional>
#include <unordered_map>

#include "onnxpress/ir/GraphUtil.h"

namespace onnxpress {
namespace {

bool mayMerge(const Node& node) {
  static const char* kNondeterministic[] = {"RandomNormal",     "RandomUniform", "RandomNormalLike",
                                            "RandomUniformLike", "Multinomial",   "Bernoulli",
                                            "Dropout",          "Constant"};
  if (!isDefaultDomain(node) || node.inputs().empty() || !node.subgraphs().empty()) return false;
  for (const char* op : kNondeterministic)
    if (node.opType() == op) return false;
  return true;
}

// A key equal for nodes that compute the same outputs; tensor attributes contribute
// their bytes, so equal keys mean equal attributes.
std::string nodeKey(const Node& node) {
  std::string key = node.opType() + "|" + std::to_string(node.numOutputs()) + "|";
  for (const Value* in : node.inputs()) key += std::to_string(reinterpret_cast<uintptr_t>(in)) + ",";
  for (const Attribute& a : node.attributes()) {
    key += "|" + a.name + ":" + std::to_string(static_cast<int>(a.kind)) + ":" + a.refAttrName + ":";
    key += std::to_string(a.i) + ":" + std::to_string(a.f) + ":" + a.s;
    for (int64_t v : a.ints) key += "," + std::to_string(v);
    for (float v : a.floats) key += "," + std::to_string(v);
    for (const std::string& s : a.strings) key += "," + s;
    for (const Tensor& t : a.tensors) {
      key += "#" + std::to_string(static_cast<int>(t.dtype()));
      for (int64_t d : t.dims()) key += "x" + std::to_string(d);
      auto bytes = t.bytes();
      key.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      for (const std::string& s : t.strings()) key += "\x1f" + s;
    }
    if (!a.sparseTensors.empty() || !a.types.empty()) key += "#unique" + std::to_string(reinterpret_cast<uintptr_t>(&a));
  }
  return key;
}

// Rewires every output of `duplicate` to `kept`'s; false (graph unchanged) if any cannot move.
bool mergeInto(Node* duplicate, Node* kept) {
  for (size_t i = 0; i < duplicate->numOutputs(); ++i) {
    Value* from = duplicate->output(i);
    Value* to = kept->output(i);
    if (from && from->hasUses() && (!to || from->isGraphOutput())) return false;
  }
  for (size_t i = 0; i < duplicate->numOutputs(); ++i) {
    Value* from = duplicate->output(i);
    if (from && from->hasUses()) duplicate->graph()->replaceAllUsesWith(from, kept->output(i));
  }
  duplicate->graph()->destroyNode(duplicate);
  return true;
}

}  // namespace

Expected<PassResult> CommonSubexpressionsPass::run(Model& model, PassContext&) {
  PassResult result;
  model.graph().forEachGraph([&](Graph& g) {
    auto order = g.topologicalOrder();
    if (!order) return;
    std::unordered_map<std::string, Node*> seen;
    for (Node* node : *order) {
      if (!mayMerge(*node)) continue;
      auto [it, inserted] = seen.emplace(nodeKey(*node), node);
      if (!inserted && mergeInto(node, it->second)) result.bump("nodes merged");
    }
  });
  return result;
}

}  // namespace onnxpress
