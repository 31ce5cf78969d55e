#include "onnxpress/passes/cleanup/FoldConstants.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <thread>
#include <unordered_set>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/cleanup/CleanupUtil.h"
#include "onnxpress/runtime/Executor.h"

namespace onnxpress {

using namespace cleanup;

Status FoldConstantsOptions::validate() const {
  if (maxElements < 0) return usageError("max-elements must be at least 0, got {}", maxElements);
  return Status::ok();
}

namespace {

bool neverFolded(const Node& node) {
  static const std::unordered_set<std::string> kSkipped = {
      "Constant",           // already constant
      "RandomNormal",       "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli",
      "QuantizeLinear",     "DequantizeLinear",  // QDQ models need them in place
  };
  return !isDefaultDomain(node) || !node.subgraphs().empty() || kSkipped.count(node.opType()) > 0;
}

bool hasUsedOutput(const Node& node) {
  return std::any_of(node.outputs().begin(), node.outputs().end(), [](Value* v) { return v && v->hasUses(); });
}

// Dropout with a constant true training_mode is random; without one it is the identity.
bool isTrainingDropout(const Node& node) {
  if (node.opType() != "Dropout" || !node.input(2)) return false;
  auto training = constantInts(node.input(2));
  return !training || std::any_of(training->begin(), training->end(), [](int64_t t) { return t != 0; });
}

// The constant tensors a node reads, by input position (null for an omitted input).
struct ConstantInputs {
  std::vector<const Tensor*> tensors;
  std::deque<Tensor> materialized;  // Constant forms that have no Tensor to point at
  int64_t elements = 0;
};

std::optional<ConstantInputs> constantInputs(const Node& node) {
  ConstantInputs in;
  for (Value* v : node.inputs()) {
    const Tensor* t = nullptr;
    if (v) {
      t = constantTensor(v);
      if (!t) {
        auto copy = constantValue(v);
        if (!copy) return std::nullopt;
        t = &in.materialized.emplace_back(std::move(*copy));
      }
      in.elements += t->numElements();
    }
    in.tensors.push_back(t);
  }
  return in;
}

// Bytes of the constant inputs only `node` reads: what folding it frees.
int64_t freedBytes(const Node& node) {
  int64_t bytes = 0;
  std::vector<const Value*> seen;
  for (const Value* v : node.inputs()) {
    if (!v || std::find(seen.begin(), seen.end(), v) != seen.end()) continue;
    seen.push_back(v);
    const bool exclusive = !v->isGraphOutput() && std::all_of(v->uses().begin(), v->uses().end(),
                                                              [&](const Use& u) { return u.node == &node; });
    if (!exclusive) continue;
    if (const Tensor* t = constantTensor(v)) bytes += static_cast<int64_t>(t->byteSize());
    else if (auto copy = constantValue(v)) bytes += static_cast<int64_t>(copy->byteSize());
  }
  return bytes;
}

// Output elements knowable before running: the ops that exist to grow data
// (ConstantOfShape, Expand, Tile, Range) read their size from constants; anything
// else needs fully static output types.
std::optional<double> predictedOutputElements(const Node& node, const ConstantInputs& in) {
  const std::string& op = node.opType();
  auto intsAt = [&](size_t i) -> std::optional<std::vector<int64_t>> {
    return i < in.tensors.size() && in.tensors[i] ? intValues(*in.tensors[i]) : std::nullopt;
  };
  if (op == "ConstantOfShape") {
    auto shape = intsAt(0);
    if (!shape) return std::nullopt;
    double n = 1;
    for (int64_t d : *shape) n *= static_cast<double>(std::max<int64_t>(d, 0));
    return n;
  }
  if ((op == "Expand" || op == "Tile") && in.tensors.size() >= 2 && in.tensors[0]) {
    auto target = intsAt(1);
    if (!target) return std::nullopt;
    const std::vector<int64_t>& dims = in.tensors[0]->dims();
    double n = 1;
    if (op == "Tile") {
      if (target->size() != dims.size()) return std::nullopt;
      for (size_t i = 0; i < dims.size(); ++i)
        n *= static_cast<double>(dims[i]) * static_cast<double>(std::max<int64_t>((*target)[i], 0));
      return n;
    }
    const size_t rank = std::max(dims.size(), target->size());
    for (size_t i = 0; i < rank; ++i) {
      const int64_t a = i < dims.size() ? dims[dims.size() - 1 - i] : 1;
      const int64_t b = i < target->size() ? (*target)[target->size() - 1 - i] : 1;
      n *= static_cast<double>(a == 1 ? b : a);
    }
    return n;
  }
  if (op == "Range" && in.tensors.size() == 3) {
    std::optional<double> bounds[3];
    for (size_t i = 0; i < 3; ++i) {
      const Tensor* t = in.tensors[i];
      if (!t || t->numElements() != 1) return std::nullopt;
      if (auto f = floatValues(*t)) bounds[i] = (*f)[0];
      else if (auto k = intValues(*t)) bounds[i] = static_cast<double>((*k)[0]);
      else return std::nullopt;
    }
    if (*bounds[2] == 0) return std::nullopt;
    return std::max(std::ceil((*bounds[1] - *bounds[0]) / *bounds[2]), 0.0);
  }
  double n = 0;
  for (Value* out : node.outputs()) {
    if (!out) continue;
    auto count = out->type().staticElementCount();
    if (!count) return std::nullopt;
    n += static_cast<double>(*count);
  }
  return n;
}

// Runs `node` on its constant inputs with the built-in runtime's kernel for it.
std::optional<std::vector<runtime::TensorData>> evaluate(const Node& node, const ConstantInputs& in,
                                                         const Model& model) {
  const runtime::KernelEntry* entry = runtime::findKernel("", node.opType());
  if (!entry) return std::nullopt;
  runtime::ExecutorOptions options;
  options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  runtime::KernelBuildContext build{node, model.opsetVersion(""), &model.opsetImports, &options};
  auto kernel = entry->factory(build);
  if (!kernel) return std::nullopt;
  std::vector<runtime::TensorData> views;
  views.reserve(in.tensors.size());
  for (const Tensor* t : in.tensors) views.push_back(t ? runtime::TensorData::view(*t) : runtime::TensorData());
  runtime::KernelContext ctx{node, {}, {}};
  for (size_t i = 0; i < views.size(); ++i) ctx.inputs.push_back(in.tensors[i] ? &views[i] : nullptr);
  ctx.outputs.resize(node.numOutputs());
  ctx.threads = options.threads;
  try {
    if (!(*kernel)(ctx).isOk()) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  for (size_t i = 0; i < node.numOutputs(); ++i)
    if (node.output(i) && node.output(i)->hasUses() && ctx.outputs[i].empty()) return std::nullopt;
  return std::move(ctx.outputs);
}

// ---- shape queries ---------------------------------------------------------------------------

// The dims a Shape node reports (start/end from opset 15), as far as known.
std::optional<std::vector<Dim>> shapeNodeDims(const Node& shape, int64_t opset) {
  auto dims = knownDims(shape.input(0));
  if (!dims) return std::nullopt;
  const int64_t rank = static_cast<int64_t>(dims->size());
  int64_t start = opset >= 15 ? shape.intAttr("start", 0) : 0;
  int64_t end = opset >= 15 && shape.attribute("end") ? shape.intAttr("end", rank) : rank;
  start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
  end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
  if (end <= start) return std::vector<Dim>{};
  return std::vector<Dim>(dims->begin() + start, dims->begin() + end);
}

// Dims reported by the Shape node producing `v`, if it is one.
std::optional<std::vector<Dim>> shapeValueDims(const Value* v, int64_t opset) {
  const Node* p = v ? v->producer() : nullptr;
  if (!p || p->opType() != "Shape" || !isDefaultDomain(*p)) return std::nullopt;
  return shapeNodeDims(*p, opset);
}

std::optional<Tensor> fixedDimsTensor(const std::vector<Dim>& dims, const std::vector<int64_t>& pick,
                                      std::vector<int64_t> tensorDims) {
  std::vector<int64_t> values;
  for (int64_t i : pick) {
    if (i < 0 || i >= static_cast<int64_t>(dims.size()) || !dims[static_cast<size_t>(i)].isFixed())
      return std::nullopt;
    values.push_back(dims[static_cast<size_t>(i)].value);
  }
  return makeInt64Tensor(std::move(values), std::move(tensorDims));
}

// Shape, Size, and Gather/Slice of a Shape output, from static dims alone.
std::optional<Tensor> foldShapeQuery(const Node& node, int64_t opset) {
  const std::string& op = node.opType();
  if (op == "Shape") {
    auto dims = shapeNodeDims(node, opset);
    if (!dims) return std::nullopt;
    std::vector<int64_t> all(dims->size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    return fixedDimsTensor(*dims, all, {static_cast<int64_t>(all.size())});
  }
  if (op == "Size") {
    auto shape = staticShape(node.input(0));
    if (!shape) return std::nullopt;
    return makeInt64Tensor({elementCount(*shape)}, std::vector<int64_t>{});
  }
  if (op == "Gather") {
    auto dims = shapeValueDims(node.input(0), opset);
    const int64_t axis = node.intAttr("axis", 0);
    auto indices = constantInts(node.input(1));
    auto indicesShape = staticShape(node.input(1));
    if (!dims || (axis != 0 && axis != -1) || !indices || !indicesShape) return std::nullopt;
    for (int64_t& i : *indices)
      if (i < 0) i += static_cast<int64_t>(dims->size());
    return fixedDimsTensor(*dims, *indices, *indicesShape);
  }
  if (op == "Slice") {
    auto dims = shapeValueDims(node.input(0), opset);
    auto spec = sliceSpec(node, opset);
    if (!dims || !spec || spec->axes.size() != 1 || (spec->axes[0] != 0 && spec->axes[0] != -1)) return std::nullopt;
    auto pick = sliceIndices(spec->starts[0], spec->ends[0], spec->steps[0], static_cast<int64_t>(dims->size()));
    const auto count = static_cast<int64_t>(pick.size());
    return fixedDimsTensor(*dims, pick, {count});
  }
  return std::nullopt;
}

// ---- rewriting -------------------------------------------------------------------------------

// Replaces every used output of `node` by its folded value; false if none was replaced.
// A graph output becomes a Constant node (its name must stay a node output); any
// other output becomes an initializer that takes over the value's name.
bool replaceOutputs(Graph& g, Node* node, std::vector<Tensor> values) {
  std::vector<std::pair<Value*, Tensor*>> used;
  for (size_t i = 0; i < node->numOutputs(); ++i)
    if (node->output(i) && node->output(i)->hasUses()) used.emplace_back(node->output(i), &values[i]);
  std::vector<std::pair<Value*, std::string>> renames;
  bool any = false;
  for (auto& [out, tensor] : used) {
    const std::string name = out->name();
    std::vector<Dim> dims;
    for (int64_t d : tensor->dims()) dims.push_back(Dim::fixed(d));
    const Type type = Type::tensor(tensor->dtype(), std::move(dims));
    Node* constant = nullptr;
    Value* replacement = nullptr;
    if (out->isGraphOutput()) {
      constant = g.createNode("Constant", {}, 1, node);
      constant->setAttribute(Attribute::makeTensor("value", std::move(*tensor)));
      replacement = constant->output(0);
    } else {
      replacement = addInitializer(g, name, std::move(*tensor));
      renames.emplace_back(replacement, name);
    }
    replacement->setType(type);  // a main-graph output keeps its declared type instead
    // The last successful replacement may destroy `node`; nothing reads it after that.
    if (replaceKeepingInterface(out, replacement)) {
      any = true;
      if (constant) constant->attribute("value")->tensors[0].setName(replacement->name());
    } else if (constant) {
      g.destroyNode(constant);
    } else {
      renames.pop_back();
      g.removeInitializer(replacement);
    }
  }
  // Once the folded node is gone its output names are free for the initializers.
  for (auto& [value, name] : renames) g.rename(value, name);
  return any;
}

// After a fold: drops the constants (initializers, Constant nodes) and the Shape/Size
// queries it left without readers; the queries' own inputs are left to eliminate-dead.
void releaseUnusedInputs(const std::vector<Value*>& inputs) {
  std::vector<Node*> queries;
  for (Value* v : inputs) {
    Node* p = v->producer();
    if (!v->hasUses() && p && isDefaultDomain(*p) && (p->opType() == "Shape" || p->opType() == "Size") &&
        !hasUsedOutput(*p) && std::find(queries.begin(), queries.end(), p) == queries.end())
      queries.push_back(p);
  }
  releaseIfUnused(inputs);  // may destroy values of `inputs`: read them no more
  for (Node* p : queries) p->graph()->destroyNode(p);
}

class Folder {
 public:
  Folder(Model& model, const FoldConstantsOptions& options, PassResult& result)
      : model_(model), options_(options), result_(result), opset_(model.opsetVersion("")) {}

  // One pass over `g` in topological order; returns the number of nodes folded.
  int64_t sweep(Graph& g) {
    auto order = g.topologicalOrder();
    const std::vector<Node*> nodes = order ? *order : g.nodeList();
    int64_t folded = 0;
    for (Node* node : nodes) {
      if (neverFolded(*node) || !hasUsedOutput(*node) || isTrainingDropout(*node)) continue;
      std::vector<Value*> inputs;
      for (Value* v : node->inputs())
        if (v && std::find(inputs.begin(), inputs.end(), v) == inputs.end()) inputs.push_back(v);
      const char* statistic = nullptr;
      if (auto values = fold(*node, statistic)) {
        if (!replaceOutputs(g, node, std::move(*values))) continue;
        result_.bump(statistic);
        ++folded;
        releaseUnusedInputs(inputs);
      }
    }
    return folded;
  }

 private:
  // The node's output values, or nullopt when it must stay; `statistic` says which kind of fold.
  std::optional<std::vector<Tensor>> fold(const Node& node, const char*& statistic) {
    if (options_.shapes && node.numOutputs() == 1) {
      if (auto t = foldShapeQuery(node, opset_)) {
        statistic = "shape ops folded";
        std::vector<Tensor> out;
        out.push_back(std::move(*t));
        return out;
      }
    }
    auto in = constantInputs(node);
    if (!in) return std::nullopt;
    // A fold may not make the model bigger: its outputs must fit in the bytes of the
    // constant inputs it frees (read by this node only), or in kFreeGrowthBytes (shape
    // arithmetic). allow-growth restores the element budget of max-elements.
    const double freed = static_cast<double>(freedBytes(node));
    auto grows = [&](double elements, double bytes) {
      if (options_.allowGrowth)
        return elements > static_cast<double>(options_.maxElements) && elements > static_cast<double>(in->elements);
      return bytes > std::max(freed, static_cast<double>(kFreeGrowthBytes));
    };
    if (auto predicted = predictedOutputElements(node, *in); predicted && grows(*predicted, *predicted)) {
      result_.bump("folds refused (the model would grow)");
      return std::nullopt;
    }
    auto results = evaluate(node, *in, model_);
    if (!results) return std::nullopt;
    double produced = 0, producedBytes = 0;
    for (const auto& r : *results) {
      produced += static_cast<double>(r.empty() ? 0 : r.numElements());
      producedBytes += static_cast<double>(r.empty() ? 0 : dataTypeStorageBytes(r.dtype(), r.numElements()));
    }
    if (grows(produced, producedBytes)) {
      result_.bump("folds refused (the model would grow)");
      return std::nullopt;
    }
    std::vector<Tensor> out;
    for (size_t i = 0; i < results->size(); ++i) {
      const runtime::TensorData& r = (*results)[i];
      out.push_back(r.empty() ? Tensor() : r.toTensor(node.output(i) ? node.output(i)->name() : ""));
    }
    statistic = "nodes folded";
    return out;
  }

  Model& model_;
  const FoldConstantsOptions& options_;
  PassResult& result_;
  int64_t opset_;
};

// Constant nodes become initializers of their graph under the same name (a graph
// output stays a Constant: its name must remain a node output). Returns how many.
int64_t constantNodesToInitializers(Graph& g) {
  int64_t moved = 0;
  for (Node* node : g.nodeList()) {
    if (node->opType() != "Constant" || !isDefaultDomain(*node) || node->numOutputs() != 1) continue;
    Value* out = node->output(0);
    if (!out || !out->hasUses() || out->isGraphOutput()) continue;
    auto tensor = constantValue(out);
    if (!tensor || tensor->dtype() == DataType::String) continue;
    const std::string name = out->name();
    Type type = out->type();
    Value* initializer = addInitializer(g, name, std::move(*tensor));
    if (!replaceValue(out, initializer)) {
      g.removeInitializer(initializer);
      continue;
    }
    g.rename(initializer, name);
    initializer->initializer()->setName(name);
    if (type.kind != Type::Kind::None) initializer->setType(std::move(type));
    ++moved;
  }
  return moved;
}

}  // namespace

Expected<PassResult> FoldConstantsPass::run(Model& model, PassContext&) {
  PassResult result;
  Folder folder(model, options_, result);
  for (int round = 0; round < kMaxRounds; ++round) {
    // Whatever inference manages is used; its complaints about other nodes do not matter here.
    if (options_.shapes) (void)inferShapes(model);
    int64_t folded = 0;
    model.graph().forEachGraph([&](Graph& g) { folded += folder.sweep(g); });
    if (folded == 0) break;
  }
  if (options_.initializers)
    model.graph().forEachGraph([&](Graph& g) { result.bump("Constant nodes made initializers", constantNodesToInitializers(g)); });
  return result;
}

}  // namespace onnxpress
