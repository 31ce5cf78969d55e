#include "onnxpress/passes/fusion/FusionUtil.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "onnxpress/passes/PassUtil.h"

namespace onnxpress::fusion {

bool isOp(const Node* n, std::string_view op) {
  return n && n->opType() == op && (n->domain().empty() || n->domain() == "ai.onnx");
}

Node* producerOp(const Value* v, std::string_view op) {
  if (!v) return nullptr;
  Node* p = v->producer();
  return p && p->graph() == v->graph() && isOp(p, op) ? p : nullptr;
}

Node* onlyUser(const Value* v) {
  if (!v || v->uses().size() != 1) return nullptr;
  Node* n = v->uses().front().node;
  return n && n->graph() == v->graph() ? n : nullptr;
}

std::optional<ScalarConstant> scalarConstant(const Value* v) {
  if (!v) return std::nullopt;
  std::optional<std::vector<int64_t>> dims = constantDims(v);
  if (!dims || elementCount(*dims) != 1) return std::nullopt;
  std::optional<Tensor> t = constantValue(v);
  if (!t) return std::nullopt;
  ScalarConstant s{0, t->dtype(), dims->size()};
  if (auto f = floatValues(*t)) {
    if (t->dtype() == DataType::Double) s.value = t->data<double>()[0];
    else s.value = (*f)[0];
  } else if (auto i = intValues(*t)) {
    s.value = static_cast<double>((*i)[0]);
  } else {
    return std::nullopt;
  }
  return s;
}

bool approxEqual(double actual, double expected, DataType dtype) {
  double rtol = 1e-4;
  if (dtype == DataType::Float16) rtol = 1e-3;       // 11-bit mantissa: steps of 2^-11 relative
  else if (dtype == DataType::BFloat16) rtol = 8e-3; // 8-bit mantissa: steps of 2^-8
  return std::abs(actual - expected) <= rtol * std::max(std::abs(actual), std::abs(expected)) + 1e-12;
}

bool isFloatType(DataType t) {
  return t == DataType::Float || t == DataType::Double || t == DataType::Float16 || t == DataType::BFloat16;
}

std::optional<int64_t> knownRank(const Value* v) {
  if (!v) return std::nullopt;
  if (v->type().isTensor() && v->type().hasShape) return static_cast<int64_t>(v->type().dims.size());
  if (auto dims = constantDims(v)) return static_cast<int64_t>(dims->size());
  return std::nullopt;
}

std::optional<std::vector<int64_t>> constantDims(const Value* v) {
  if (const Tensor* t = constantTensor(v)) return t->dims();
  if (std::optional<Tensor> t = constantValue(v)) return t->dims();
  return std::nullopt;
}

std::optional<std::vector<double>> doubleValues(const Tensor& t) {
  if (t.dtype() == DataType::Double) {
    auto d = t.data<double>();
    return std::vector<double>(d.begin(), d.end());
  }
  std::optional<std::vector<float>> f = floatValues(t);
  if (!f) return std::nullopt;
  return std::vector<double>(f->begin(), f->end());
}

Tensor makeTensorFromDoubles(DataType dtype, std::vector<int64_t> dims, const std::vector<double>& values) {
  if (dtype == DataType::Double) return Tensor::fromValues(dtype, std::move(dims), values);
  std::vector<float> f(values.begin(), values.end());
  return makeFloatTensor(dtype, std::move(dims), f);
}

void releaseIfUnused(const std::vector<Value*>& values) {
  // Destroying a value (or its Constant producer) must not leave a later entry dangling.
  std::vector<Value*> unique;
  for (Value* v : values)
    if (v && std::find(unique.begin(), unique.end(), v) == unique.end()) unique.push_back(v);
  std::vector<Node*> constantNodes;
  for (Value* v : unique) {
    if (v->hasUses()) continue;
    if (v->initializer() && !v->isGraphInput() && !v->producer()) {
      v->graph()->removeInitializer(v);
    } else if (Node* p = v->producer(); isOp(p, "Constant") &&
               std::find(constantNodes.begin(), constantNodes.end(), p) == constantNodes.end()) {
      constantNodes.push_back(p);
    }
  }
  for (Node* p : constantNodes) {
    bool used = std::any_of(p->outputs().begin(), p->outputs().end(), [](Value* o) { return o && o->hasUses(); });
    if (!used) p->graph()->destroyNode(p);
  }
}

void eraseIfDead(const std::vector<Node*>& nodes) {
  std::unordered_set<Node*> listed;
  std::vector<Node*> pending;
  for (Node* n : nodes)
    if (n && listed.insert(n).second) pending.push_back(n);
  std::vector<Value*> constants;
  // Repeat until nothing more dies, so the order of `nodes` does not matter.
  for (bool erased = true; erased;) {
    erased = false;
    for (Node*& n : pending) {
      if (!n) continue;
      bool used = std::any_of(n->outputs().begin(), n->outputs().end(), [](Value* o) { return o && o->hasUses(); });
      if (used) continue;
      for (Value* in : n->inputs()) {
        // Listed nodes are the loop's business; releasing them here could free one it has yet to visit.
        Node* p = in ? in->producer() : nullptr;
        if (in && (!p || (isOp(p, "Constant") && !listed.count(p)))) constants.push_back(in);
      }
      n->graph()->destroyNode(n);
      n = nullptr;
      erased = true;
    }
  }
  releaseIfUnused(constants);
}

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
