#include "onnxpress/runtime/Executor.h"
#include "onnxpress/ir/GraphUtil.h"

#include <Eigen/Core>
#include <spdlog/spdlog.h>

#include <chrono>
#include <limits>
#include <thread>
#include <unordered_map>

#include "HalfPrecisionFallback.h"  // fp16/bf16 hook

namespace onnxpress::runtime {

namespace {


int64_t opsetFor(const std::vector<OpsetImport>& opsets, const std::string& domain) {
  for (const auto& o : opsets)
    if (canonicalDomain(o.domain) == domain) return o.version;
  return 0;
}

// Expands a sparse initializer into a dense tensor.
Expected<TensorData> densify(const SparseTensor& s) {
  TensorData out = TensorData::zeros(s.values.dtype(), s.dims);
  const int64_t nnz = s.values.numElements();
  const size_t elem = dataTypeStorageBytes(s.values.dtype(), 1);
  TensorData idx = TensorData::view(s.indices);
  const int64_t rank = static_cast<int64_t>(s.dims.size());
  const bool linear = s.indices.dims().size() == 1;
  const auto strides = [&] {
    std::vector<int64_t> st(s.dims.size(), 1);
    for (size_t i = s.dims.size(); i-- > 1;) st[i - 1] = st[i] * s.dims[i];
    return st;
  }();
  for (int64_t k = 0; k < nnz; ++k) {
    int64_t offset = 0;
    if (linear) {
      offset = idx.intAt(k);
    } else {
      for (int64_t d = 0; d < rank; ++d) offset += idx.intAt(k * rank + d) * strides[d];
    }
    if (offset < 0 || offset >= out.numElements())
      return invalidInput("sparse initializer '{}': index {} out of range", s.values.name(), offset);
    std::memcpy(static_cast<uint8_t*>(out.raw()) + offset * elem, s.values.bytes().data() + k * elem, elem);
  }
  return out;
}

std::string describeInput(const Value& v) { return fmt::format("{} {}", v.name(), v.type().toString()); }

}  // namespace

const TensorData* Frame::lookup(const Value* v) const {
  for (const Frame* f = this; f; f = f->parent_) {
    auto it = f->executor_->slotOf_.find(v);
    if (it != f->executor_->slotOf_.end()) return &f->slots_[it->second];
  }
  return nullptr;
}

Expected<std::unique_ptr<Executor>> Executor::create(const Graph& graph, const std::vector<OpsetImport>& opsets,
                                                     const ExecutorOptions& options) {
  std::unique_ptr<Executor> ex(new Executor(graph));
  ex->options_ = options;
  ex->threads_ = options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  ASSIGN_OR_RETURN(ex->order_, graph.topologicalOrder());

  auto slot = [&](const Value* v) { return ex->slotOf_.emplace(v, ex->slotOf_.size()).first->second; };
  for (Value* in : graph.inputs()) slot(in);
  for (Value* v : graph.initializers()) ex->constants_.emplace_back(slot(v), TensorData::view(*v->initializer()));
  for (Value* v : graph.sparseInitializers()) {
    ASSIGN_OR_RETURN(TensorData dense, densify(*v->sparseInitializer()));
    ex->constants_.emplace_back(slot(v), std::move(dense));
  }
  for (Node* n : ex->order_)
    for (Value* out : n->outputs())
      if (out) slot(out);

  // Build every kernel first, so unsupported ops are all reported before any work.
  std::vector<std::string> unsupported;
  for (Node* n : ex->order_) {
    const std::string& domain = n->domain();
    const KernelEntry* entry = findKernel(domain, n->opType());
    if (!entry) {
      unsupported.push_back(fmt::format("{} (domain '{}') at node {}", n->opType(),
                                        domain.empty() ? "ai.onnx" : domain, n->describe()));
      continue;
    }
    KernelBuildContext b{*n, opsetFor(opsets, domain), &opsets, &ex->options_};
    ASSIGN_OR_RETURN(KernelFn fn, entry->factory(b));
    // fp16/bf16 hook (HalfPrecisionFallback.h): 16-bit inputs are computed in float32 by
    // kernels without a 16-bit path; a no-op for type-agnostic ops and float inputs.
    ex->kernels_.push_back(withHalfPrecisionFallback(*n, std::move(fn)));
  }
  if (!unsupported.empty())
    return invalidInput("the built-in runtime cannot run op {}{}", unsupported.front(),
                        unsupported.size() > 1 ? fmt::format(" (and {} more unsupported nodes)", unsupported.size() - 1)
                                               : std::string());

  if (options.precomputeDequantization) {
    RETURN_IF_ERROR(ex->precomputeWeightDequantization());
  } else {
    ex->precomputed_.assign(ex->order_.size(), 0);
  }
  ex->planActivationFusion();
  if (options.keepIntermediates && options.keepOnly) {
    ex->keepSlot_.assign(ex->slotOf_.size(), 0);
    for (const Value* v : *options.keepOnly)
      if (auto it = ex->slotOf_.find(v); it != ex->slotOf_.end()) ex->keepSlot_[it->second] = 1;
  }

  // Release plan: a value dies after the last node that reads it, directly or from a subgraph.
  constexpr size_t kNever = std::numeric_limits<size_t>::max();
  std::vector<size_t> lastUse(ex->slotOf_.size(), kNever - 1);
  std::vector<bool> used(ex->slotOf_.size(), false);
  std::function<void(const Graph&, size_t)> markReads = [&](const Graph& g, size_t at) {
    for (Node* n : g.nodes()) {
      for (Value* v : n->inputs()) {
        auto it = v ? ex->slotOf_.find(v) : ex->slotOf_.end();
        if (it != ex->slotOf_.end()) {
          lastUse[it->second] = used[it->second] ? std::max(lastUse[it->second], at) : at;
          used[it->second] = true;
        }
      }
      for (Graph* sub : n->subgraphs()) markReads(*sub, at);
    }
    if (&g != &graph)
      for (Value* v : g.outputs()) {
        auto it = ex->slotOf_.find(v);
        if (it != ex->slotOf_.end()) {
          lastUse[it->second] = used[it->second] ? std::max(lastUse[it->second], at) : at;
          used[it->second] = true;
        }
      }
  };
  for (size_t i = 0; i < ex->order_.size(); ++i) {
    Node* n = ex->order_[i];
    for (Value* v : n->inputs()) {
      auto it = v ? ex->slotOf_.find(v) : ex->slotOf_.end();
      if (it != ex->slotOf_.end()) {
        lastUse[it->second] = used[it->second] ? std::max(lastUse[it->second], i) : i;
        used[it->second] = true;
      }
    }
    for (Graph* sub : n->subgraphs()) markReads(*sub, i);
  }
  for (Value* out : graph.outputs()) {
    auto it = ex->slotOf_.find(out);
    if (it != ex->slotOf_.end()) lastUse[it->second] = kNever;
    ex->outputSlots_.push_back(it != ex->slotOf_.end() ? it->second : kNever);
  }
  for (const auto& [s, value] : ex->constants_) lastUse[s] = kNever;
  ex->releaseAfter_.resize(ex->order_.size());
  for (size_t s = 0; s < lastUse.size(); ++s) {
    if (lastUse[s] < ex->order_.size()) ex->releaseAfter_[lastUse[s]].push_back(s);
  }
  // Unused node outputs die right after their producer.
  for (size_t i = 0; i < ex->order_.size(); ++i)
    for (Value* out : ex->order_[i]->outputs())
      if (out && !used[ex->slotOf_.at(out)] && lastUse[ex->slotOf_.at(out)] != kNever)
        ex->releaseAfter_[i].push_back(ex->slotOf_.at(out));
  return ex;
}

namespace {
// Constant float bounds of a Relu or Clip node, if known at prepare time.
std::optional<std::pair<float, float>> activationBounds(const Node& n) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  if (!isDefaultDomain(n)) return std::nullopt;
  if (n.opType() == "Relu") return std::pair{0.f, inf};
  if (n.opType() != "Clip") return std::nullopt;
  std::pair<float, float> bounds{n.floatAttr("min", -inf), n.floatAttr("max", inf)};
  for (size_t i = 1; i < 3 && i < n.numInputs(); ++i) {
    const Value* v = n.input(i);
    if (!v) continue;
    const Tensor* t = v->initializer();
    if (!t && v->producer() && v->producer()->opType() == "Constant") {
      const Attribute* value = v->producer()->attribute("value");
      if (value && value->kind == Attribute::Kind::Tensor) t = &value->tensors[0];
    }
    if (!t || t->dtype() != DataType::Float || t->numElements() != 1) return std::nullopt;
    (i == 1 ? bounds.first : bounds.second) = t->data<float>()[0];
  }
  return bounds;
}
}  // namespace

void Executor::planActivationFusion() {
  fusedAfter_.assign(order_.size(), std::nullopt);
  std::unordered_map<const Node*, size_t> index;
  for (size_t i = 0; i < order_.size(); ++i) index[order_[i]] = i;
  for (size_t i = 0; i < order_.size(); ++i) {
    const Node& producer = *order_[i];
    const std::string& op = producer.opType();
    if (!isDefaultDomain(producer) || (op != "Conv" && op != "Gemm" && op != "MatMul")) continue;
    const Value* out = producer.output(0);
    if (!out || out->uses().size() != 1 || !out->uses()[0].node || out->isGraphOutput()) continue;
    const Node& activation = *out->uses()[0].node;
    if (activation.graph() != &graph_ || activation.input(0) != out) continue;
    auto bounds = activationBounds(activation);
    if (!bounds) continue;
    const size_t j = index.at(&activation);
    fusedAfter_[i] = FusedActivation{bounds->first, bounds->second, j};
  }
}

std::vector<std::pair<const Node*, double>> Executor::nodeTimes() const {
  std::vector<std::pair<const Node*, double>> out;
  for (size_t i = 0; i < order_.size(); ++i) out.emplace_back(order_[i], i < nodeSeconds_.size() ? nodeSeconds_[i] : 0.0);
  return out;
}

std::vector<const Value*> Executor::requiredInputs() const {
  std::vector<const Value*> out;
  for (Value* in : graph_.inputs())
    if (!in->initializer() && !in->sparseInitializer()) out.push_back(in);
  return out;
}

Status Executor::checkInput(const Value& input, const TensorData& value) const {
  const Type& t = input.type();
  if (!t.isTensor()) return Status::ok();
  if (t.elemType != DataType::Undefined && t.elemType != value.dtype())
    return invalidInput("input '{}' expects {} but got {}", input.name(), dataTypeName(t.elemType),
                        dataTypeName(value.dtype()));
  if (!t.hasShape || !options_.checkInputShapes) return Status::ok();
  bool ok = static_cast<size_t>(value.rank()) == t.dims.size();
  for (size_t i = 0; ok && i < t.dims.size(); ++i)
    if (t.dims[i].isFixed() && t.dims[i].value != value.shape()[i]) ok = false;
  if (!ok)
    return invalidInput("input '{}' expects shape {} but got {}", input.name(), t.toString(),
                        shapeToString(value.shape()));
  return Status::ok();
}

Expected<std::vector<TensorData>> Executor::run(const std::map<std::string, TensorData>& inputs,
                                                const TensorObserver& observer) {
  Frame frame;
  frame.executor_ = this;
  frame.slots_.resize(slotOf_.size());
  for (const auto& [s, value] : constants_) frame.slots_[s] = value;
  std::string expected;
  for (const Value* in : requiredInputs()) expected += (expected.empty() ? "" : ", ") + describeInput(*in);
  for (const auto& [name, value] : inputs) {
    const Value* v = nullptr;
    for (Value* in : graph_.inputs())
      if (in->name() == name) v = in;
    if (!v) return invalidInput("the model has no input '{}' (inputs: {})", name, expected);
    // A float16/bfloat16 model (quantize mode=fp16) takes the same float32 DATA as its
    // float original: the values are rounded to the declared type, as a caller would.
    const DataType declared = v->type().isTensor() ? v->type().elemType : DataType::Undefined;
    const bool narrowed = value.dtype() == DataType::Float && (declared == DataType::Float16 || declared == DataType::BFloat16);
    const TensorData fed = narrowed ? convertFloatElements(value, declared, threads_) : value;
    RETURN_IF_ERROR(checkInput(*v, fed));
    frame.slots_[slotOf_.at(v)] = fed;
  }
  for (const Value* in : requiredInputs())
    if (!inputs.count(in->name()))
      return invalidInput("missing input '{}'; the model expects: {}", in->name(), expected);
  Eigen::setNbThreads(threads_);
  kept_.clear();
  return execute(frame, observer);
}

Expected<std::vector<TensorData>> Executor::runSubgraph(const std::vector<TensorData>& inputs, const Frame* parent,
                                                        const TensorObserver& observer) const {
  Frame frame;
  frame.executor_ = this;
  frame.parent_ = parent;
  frame.slots_.resize(slotOf_.size());
  for (const auto& [s, value] : constants_) frame.slots_[s] = value;
  const auto& ins = graph_.inputs();
  if (inputs.size() > ins.size())
    return invalidInput("subgraph '{}' takes {} inputs but got {}", graph_.name(), ins.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) frame.slots_[slotOf_.at(ins[i])] = inputs[i];
  return execute(frame, observer);
}

Status Executor::precomputeWeightDequantization() {
  precomputed_.assign(order_.size(), 0);
  std::unordered_map<size_t, const TensorData*> constantAt;
  for (const auto& [s, value] : constants_) constantAt[s] = &value;
  std::vector<std::pair<size_t, TensorData>> added;
  for (size_t i = 0; i < order_.size(); ++i) {
    const Node& node = *order_[i];
    if (node.opType() != "DequantizeLinear" || node.numOutputs() != 1 || !node.output(0)) continue;
    KernelContext ctx{node, {}, {}};
    ctx.threads = threads_;
    bool constant = true;
    for (Value* v : node.inputs()) {
      auto slotIt = v ? slotOf_.find(v) : slotOf_.end();
      auto it = slotIt != slotOf_.end() ? constantAt.find(slotIt->second) : constantAt.end();
      if (v && it == constantAt.end()) constant = false;
      ctx.inputs.push_back(v && it != constantAt.end() ? it->second : nullptr);
    }
    if (!constant) continue;
    ctx.outputs.resize(1);
    RETURN_IF_ERROR(kernels_[i](ctx).withContext(fmt::format("node {}", node.describe())));
    added.emplace_back(slotOf_.at(node.output(0)), std::move(ctx.outputs[0]));
    precomputed_[i] = 1;
  }
  for (auto& entry : added) constants_.push_back(std::move(entry));  // not earlier: constantAt points into constants_
  return Status::ok();
}

Expected<std::vector<TensorData>> Executor::execute(Frame& frame, const TensorObserver& observer) const {
  const bool fuse = !observer && !options_.keepIntermediates;
  frame.observer_ = observer ? &observer : nullptr;
  std::vector<char> appliedByProducer(order_.size(), 0);
  for (size_t i = 0; i < order_.size(); ++i) {
    const Node& node = *order_[i];
    if (precomputed_[i]) {  // its output is among the constants
      for (size_t s : releaseAfter_[i]) frame.slots_[s] = TensorData();
      continue;
    }
    if (appliedByProducer[i]) {  // its producer already applied it in place
      const TensorData* in = frame.lookup(node.input(0));
      frame.slots_[slotOf_.at(node.output(0))] = *in;
      for (size_t s : releaseAfter_[i]) frame.slots_[s] = TensorData();
      continue;
    }
    KernelContext ctx{node, {}, {}};
    ctx.frame = &frame;
    ctx.threads = threads_;
    ctx.inputs.reserve(node.numInputs());
    for (Value* v : node.inputs()) {
      if (!v) {
        ctx.inputs.push_back(nullptr);
        continue;
      }
      const TensorData* t = frame.lookup(v);
      if (!t || t->empty()) return internalError("node {}: input '{}' has no value", node.describe(), v->name());
      ctx.inputs.push_back(t);
    }
    ctx.outputs.resize(node.numOutputs());
    const auto start = options_.profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    try {
      RETURN_IF_ERROR(kernels_[i](ctx));
    } catch (const std::bad_alloc&) {
      return internalError("node {}: out of memory", node.describe());
    } catch (const std::exception& e) {
      return internalError("node {}: {}", node.describe(), e.what());
    }
    if (fuse && fusedAfter_[i] && ctx.outputs[0].dtype() == DataType::Float) {
      if (!ctx.outputs[0].uniquelyOwned()) ctx.outputs[0] = ctx.outputs[0].clone();
      appliedByProducer[fusedAfter_[i]->activationNode] = 1;
      const float lo = fusedAfter_[i]->lo, hi = fusedAfter_[i]->hi;
      float* p = ctx.outputs[0].data<float>();
      const int64_t n = ctx.outputs[0].numElements();
#pragma omp parallel for num_threads(threads_) schedule(static) if (n > 65536)
      for (int64_t k = 0; k < n; ++k) p[k] = std::min(std::max(p[k], lo), hi);
    }
    if (options_.profile) {
      nodeSeconds_.resize(order_.size(), 0.0);
      nodeSeconds_[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    for (size_t j = 0; j < node.numOutputs(); ++j) {
      Value* out = node.output(j);
      if (!out) continue;
      if (ctx.outputs[j].empty() && out->hasUses())
        return internalError("node {}: kernel produced no output {}", node.describe(), j);
      if (observer && !ctx.outputs[j].empty()) observer(node, j, ctx.outputs[j]);
      frame.slots_[slotOf_.at(out)] = std::move(ctx.outputs[j]);
    }
    if (!options_.keepIntermediates) {
      for (size_t s : releaseAfter_[i]) frame.slots_[s] = TensorData();
    } else if (!keepSlot_.empty()) {
      for (size_t s : releaseAfter_[i])
        if (!keepSlot_[s]) frame.slots_[s] = TensorData();
    }
  }
  std::vector<TensorData> outputs;
  for (Value* out : graph_.outputs()) {
    const TensorData* t = frame.lookup(out);
    if (!t || t->empty()) return internalError("graph output '{}' was not computed", out->name());
    outputs.push_back(*t);
  }
  if (options_.keepIntermediates)
    for (const auto& [v, s] : slotOf_)
      if (!frame.slots_[s].empty()) kept_[v->name()] = frame.slots_[s];
  return outputs;
}

}  // namespace onnxpress::runtime
