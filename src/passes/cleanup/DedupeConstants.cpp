#include "onnxpress/passes/cleanup/DedupeConstants.h"

#include <deque>
#include <map>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "onnxpress/ir/GraphUtil.h"

namespace onnxpress {
namespace {

struct Candidate {
  Value* value;
  const Tensor* tensor;
};

size_t contentHash(const Tensor& t) {
  auto bytes = t.bytes();
  size_t h = std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  for (const std::string& s : t.strings()) h = h * 31 + std::hash<std::string>{}(s);
  return h;
}

int64_t storedBytes(const Tensor& t) {
  int64_t n = static_cast<int64_t>(t.byteSize());
  for (const std::string& s : t.strings()) n += static_cast<int64_t>(s.size());
  return n;
}

std::unordered_set<std::string> annotatedNames(const Graph& g) {
  std::unordered_set<std::string> names;
  for (const TensorAnnotation& a : g.quantizationAnnotations()) {
    names.insert(a.tensorName);
    for (const auto& [key, name] : a.quantParameterTensorNames) names.insert(name);
  }
  return names;
}

// Redirects `duplicate`'s readers to `kept` and deletes it; false when it must stay.
bool merge(Graph& g, Value* duplicate, Value* kept, const std::unordered_set<std::string>& annotated) {
  if (duplicate->isGraphOutput() || annotated.count(duplicate->name())) return false;
  const bool isInitializer = duplicate->initializer() != nullptr;
  Node* constantNode = duplicate->producer();
  if (!g.replaceAllUsesWith(duplicate, kept)) return false;  // the kept tensor keeps its own name
  if (isInitializer) g.removeInitializer(duplicate);
  else if (constantNode) g.destroyNode(constantNode);
  return true;
}

void dedupeGraph(Graph& g, PassResult& result) {
  std::deque<Tensor> materialized;  // Constant forms (value_floats, ...) as tensors
  std::vector<Candidate> candidates;
  for (Value* v : g.initializers())
    if (const Tensor* t = constantTensor(v)) candidates.push_back({v, t});
  for (Node* n : g.nodeList()) {
    if (n->opType() != "Constant" || !isDefaultDomain(*n) || !n->output(0)) continue;
    const Tensor* t = constantTensor(n->output(0));
    if (!t) {
      auto copy = constantValue(n->output(0));
      if (!copy) continue;
      t = &materialized.emplace_back(std::move(*copy));
    }
    candidates.push_back({n->output(0), t});
  }

  // Cheap grouping first: only tensors of equal dtype and dims can be equal.
  std::map<std::pair<DataType, std::vector<int64_t>>, std::vector<size_t>> groups;
  for (size_t i = 0; i < candidates.size(); ++i)
    groups[{candidates[i].tensor->dtype(), candidates[i].tensor->dims()}].push_back(i);

  const auto annotated = annotatedNames(g);
  for (const auto& [key, members] : groups) {
    if (members.size() < 2) continue;
    std::unordered_map<size_t, std::vector<size_t>> keptByHash;
    for (size_t i : members) {
      const Candidate& c = candidates[i];
      std::vector<size_t>& kept = keptByHash[contentHash(*c.tensor)];
      const Candidate* twin = nullptr;
      for (size_t k : kept)
        if (candidates[k].tensor->sameContents(*c.tensor)) {
          twin = &candidates[k];
          break;
        }
      if (!twin) {
        kept.push_back(i);
        continue;
      }
      const int64_t bytes = storedBytes(*c.tensor);  // read before the tensor goes away
      if (merge(g, c.value, twin->value, annotated)) {
        result.bump("tensors merged");
        result.bump("bytes saved", bytes);
      }
    }
  }
}

}  // namespace

Expected<PassResult> DedupeConstantsPass::run(Model& model, PassContext&) {
  PassResult result;
  model.graph().forEachGraph([&](Graph& g) { dedupeGraph(g, result); });
  return result;
}

}  // namespace onnxpress
