#include "onnxpress/train/Backprop.h"

#include <unordered_set>

namespace onnxpress::train {

Expected<Backprop> Backprop::create(const Graph& graph, const std::vector<OpsetImport>& opsets,
                                    const std::vector<const Value*>& trainable, const std::vector<const Value*>& lossInputs) {
  Backprop bp;
  bp.trainable_ = trainable;
  for (const OpsetImport& o : opsets)
    if (o.domain.empty() || o.domain == "ai.onnx") bp.opset_ = o.version;
  ASSIGN_OR_RETURN(std::vector<Node*> order, graph.topologicalOrder());

  // Forward: which values depend on a trainable weight. Through a node with a
  // backward function only its differentiable inputs count; through one without,
  // any input does (so that the check below can name it).
  std::unordered_set<const Value*> dependsOnWeight(trainable.begin(), trainable.end());
  for (const Node* node : order) {
    const GradientEntry* entry = findGradient(*node);
    bool depends = false;
    for (size_t i = 0; i < node->numInputs(); ++i)
      if (node->input(i) && dependsOnWeight.count(node->input(i)) && (!entry || isDifferentiableInput(*entry, i)))
        depends = true;
    if (!depends) {
      // A subgraph reading a weight from the enclosing scope also depends on it.
      for (const Graph* body : node->subgraphs())
        for (const Value* w : trainable)
          if (body->lookup(w->name()) == w) depends = true;
    }
    if (depends)
      for (const Value* out : node->outputs())
        if (out) dependsOnWeight.insert(out);
  }

  // Backward: the values whose gradient the loss needs, from its inputs back.
  std::unordered_set<const Value*> needed;
  for (const Value* v : lossInputs)
    if (dependsOnWeight.count(v)) needed.insert(v);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node* node = *it;
    bool active = false;
    for (const Value* out : node->outputs())
      if (out && needed.count(out)) active = true;
    if (!active) continue;
    const GradientEntry* entry = findGradient(*node);
    if (!entry)
      return invalidInput("{} ({}{}) is on the path from a trained weight to the loss and has no gradient", node->describe(),
                          node->domain().empty() ? "" : node->domain() + ".", node->opType());
    Step step{node, entry, std::vector<bool>(node->numInputs(), false)};
    for (size_t i = 0; i < node->numInputs(); ++i) {
      const Value* in = node->input(i);
      if (in && dependsOnWeight.count(in) && isDifferentiableInput(*entry, i)) {
        step.wanted[i] = true;
        needed.insert(in);
      }
    }
    bp.steps_.push_back(std::move(step));
    bp.plan_.push_back(node);
  }
  return bp;
}

std::unordered_set<const Value*> Backprop::forwardValuesRead() const {
  std::unordered_set<const Value*> values;
  for (const Step& step : steps_) {
    for (const Value* v : step.node->inputs())
      if (v) values.insert(v);
    for (const Value* v : step.node->outputs())
      if (v) values.insert(v);
  }
  return values;
}

namespace {

// a += b, cloning a first when its storage is shared (it may alias a forward value).
void accumulate(TensorData& a, const TensorData& b) {
  if (a.empty()) {
    a = b;
    return;
  }
  if (!a.uniquelyOwned()) a = a.clone();
  float* p = a.data<float>();
  const float* q = b.data<float>();
  const int64_t n = a.numElements();
  for (int64_t i = 0; i < n; ++i) p[i] += q[i];
}

}  // namespace

Expected<std::unordered_map<const Value*, TensorData>> Backprop::run(
    const std::map<std::string, TensorData>& forward, const std::unordered_map<const Value*, TensorData>& seeds,
    int threads) const {
  std::unordered_map<const Value*, TensorData> grads;
  for (const auto& [v, g] : seeds) grads[v] = g;
  auto value = [&](const Value* v) -> const TensorData* {
    if (!v) return nullptr;
    auto it = forward.find(v->name());
    return it == forward.end() ? nullptr : &it->second;
  };
  for (const Step& step : steps_) {
    const Node& node = *step.node;
    GradientContext ctx(node, opset_);
    ctx.threads = threads;
    ctx.wanted = step.wanted;
    for (const Value* in : node.inputs()) ctx.inputs.push_back(value(in));
    for (size_t i = 0; i < node.numInputs(); ++i)
      if (step.wanted[i] && !ctx.inputs[i])
        return internalError("{}: the forward value of input '{}' was not kept", node.describe(), node.input(i)->name());
    std::vector<TensorData> outputGrads(node.numOutputs());
    for (size_t j = 0; j < node.numOutputs(); ++j) {
      const Value* out = node.output(j);
      ctx.outputs.push_back(value(out));
      auto it = out ? grads.find(out) : grads.end();
      if (it != grads.end()) {
        outputGrads[j] = std::move(it->second);
        grads.erase(it);
      }
      ctx.outputGrads.push_back(outputGrads[j].empty() ? nullptr : &outputGrads[j]);
      if (!ctx.outputs.back() && !outputGrads[j].empty())
        return internalError("{}: the forward value of output {} was not kept", node.describe(), j);
    }
    ctx.inputGrads.resize(node.numInputs());
    try {
      RETURN_IF_ERROR(step.entry->fn(ctx));
    } catch (const std::bad_alloc&) {
      return internalError("{}: out of memory in the backward pass", node.describe());
    }
    for (size_t i = 0; i < node.numInputs(); ++i) {
      if (!step.wanted[i]) continue;
      if (ctx.inputGrads[i].empty())
        return internalError("{}: backward produced no gradient for input {}", node.describe(), i);
      if (ctx.inputGrads[i].shape() != ctx.inputs[i]->shape())
        return internalError("{}: gradient of input {} has shape {}, the input {}", node.describe(), i,
                             runtime::shapeToString(ctx.inputGrads[i].shape()), runtime::shapeToString(ctx.inputs[i]->shape()));
      accumulate(grads[node.input(i)], ctx.inputGrads[i]);
    }
  }
  std::unordered_map<const Value*, TensorData> out;
  for (const Value* w : trainable_) {
    auto it = grads.find(w);
    if (it != grads.end()) out.emplace(w, std::move(it->second));
  }
  return out;
}

}  // namespace onnxpress::train
