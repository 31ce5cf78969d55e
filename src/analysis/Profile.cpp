#include "onnxpress/analysis/Profile.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "onnxpress/analysis/Macs.h"
#include "onnxpress/analysis/ModelSummary.h"
#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/runtime/Executor.h"

namespace onnxpress {
using runtime::TensorData;

namespace {

// A value computed at run time (not a weight made by a Constant node).

// Every value `node` reads, directly or from inside the subgraphs it holds.
void collectReads(const Node& node, std::vector<const Value*>& reads) {
  for (const Value* v : node.inputs())
    if (v) reads.push_back(v);
  for (const Graph* sub : node.subgraphs()) {
    for (const Node* inner : sub->nodes()) collectReads(*inner, reads);
    for (const Value* v : sub->outputs()) reads.push_back(v);
  }
}

// Live activation bytes, with tensors that share a buffer counted once.
class LiveSet {
 public:
  explicit LiveSet(const FootprintFn& footprint, PeakMemory& peak) : footprint_(footprint), peak_(peak) {}

  void add(const Value* v) {
    const auto fp = footprint_(v);
    if (!fp) {
      ++peak_.unknownValues;
      return;
    }
    const void* key = fp->storage ? fp->storage : v;
    Buffer& b = buffers_[key];
    if (fp->bytes > b.bytes) {
      bytes_ += fp->bytes - b.bytes;
      b.bytes = fp->bytes;
    }
    ++b.holders;
    bufferOf_[v] = key;
  }
  void remove(const Value* v) {
    auto it = bufferOf_.find(v);
    if (it == bufferOf_.end()) return;
    auto b = buffers_.find(it->second);
    if (--b->second.holders == 0) {
      bytes_ -= b->second.bytes;
      buffers_.erase(b);
    }
    bufferOf_.erase(it);
  }
  int64_t bytes() const { return bytes_; }

 private:
  struct Buffer {
    int64_t bytes = 0;
    int holders = 0;
  };
  const FootprintFn& footprint_;
  PeakMemory& peak_;
  std::unordered_map<const void*, Buffer> buffers_;
  std::unordered_map<const Value*, const void*> bufferOf_;
  int64_t bytes_ = 0;
};

// Elements and bytes of the weight behind `v`, if it is one.
std::optional<std::pair<int64_t, int64_t>> weightSize(const Value* v) {
  if (const Tensor* t = v->initializer()) return std::pair{t->numElements(), static_cast<int64_t>(t->byteSize())};
  if (const SparseTensor* s = v->sparseInitializer()) {
    const int64_t n = elementCount(s->dims);
    return std::pair{n, static_cast<int64_t>(dataTypeStorageBytes(s->values.dtype(), n))};
  }
  if (!v->producer() || !isConstant(v)) return std::nullopt;
  auto t = constantValue(v);
  if (!t) return std::nullopt;
  return std::pair{t->numElements(), static_cast<int64_t>(t->byteSize())};
}

// What the observed run saw of one tensor.
struct Observed {
  runtime::Shape shape;
  DataType dtype = DataType::Undefined;
  int64_t bytes = 0;
  const void* storage = nullptr;
};

// Gives node outputs that still lack a static shape the shape they had in the run.
void adoptObservedShapes(Graph& graph, const std::unordered_map<const Value*, Observed>& observed) {
  for (Node* node : graph.nodes())
    for (Value* out : node->outputs()) {
      auto it = out ? observed.find(out) : observed.end();
      if (it == observed.end() || it->second.dtype == DataType::Undefined || staticShape(out)) continue;
      std::vector<Dim> dims;
      for (int64_t d : it->second.shape) dims.push_back(Dim::fixed(d));
      out->setType(Type::tensor(it->second.dtype, std::move(dims)));
    }
}

}  // namespace

double medianOfSamples(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// Nearest-rank 90th percentile.
double percentile90OfSamples(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = (v.size() * 9 + 9) / 10;  // ceil(0.9 n)
  return v[rank - 1];
}


PeakMemory simulatePeakMemory(const Graph& graph, const std::vector<const Node*>& order, const FootprintFn& footprint) {
  std::vector<std::vector<const Value*>> reads(order.size());
  std::unordered_map<const Value*, size_t> lastRead;
  for (size_t i = 0; i < order.size(); ++i) {
    collectReads(*order[i], reads[i]);
    for (const Value* v : reads[i]) lastRead[v] = i;
  }
  PeakMemory peak;
  LiveSet live(footprint, peak);
  for (const Value* in : graph.inputs())
    if (!in->initializer() && !in->sparseInitializer()) live.add(in);
  peak.bytes = live.bytes();
  for (size_t i = 0; i < order.size(); ++i) {
    for (const Value* out : order[i]->outputs())
      if (out && isActivation(out)) live.add(out);
    if (live.bytes() > peak.bytes) {
      peak.bytes = live.bytes();
      peak.atNode = order[i];
    }
    for (const Value* v : reads[i])
      if (lastRead.at(v) == i && !v->isGraphOutput()) live.remove(v);
    for (const Value* out : order[i]->outputs())
      if (out && !lastRead.count(out) && !out->isGraphOutput()) live.remove(out);
  }
  return peak;
}

Expected<ModelProfile> profileModel(Model& model, const InputFeed& feed, const ProfileOptions& options) {
  if (options.iterations < 1 || options.warmup < 0) return usageError("--iterations must be >= 1 and --warmup >= 0");
  Graph& graph = model.graph();
  RETURN_IF_ERROR(bindInputShapes(graph, shapesOf(feed)));
  ASSIGN_OR_RETURN(ShapeInferenceResult inferred, inferShapes(model));
  if (!inferred.firstError.empty()) spdlog::debug("shape inference: {}", inferred.firstError);

  runtime::ExecutorOptions execOptions;
  execOptions.threads = options.threads;
  execOptions.profile = true;
  ASSIGN_OR_RETURN(auto exec, runtime::Executor::create(model, execOptions));

  std::unordered_map<const Value*, Observed> observed;
  auto observe = [&](const Node& node, size_t j, const TensorData& t) {
    if (node.graph() == &graph)
      observed[node.output(j)] = {t.shape(), t.dtype(), static_cast<int64_t>(t.byteSize()), t.raw()};
  };
  RETURN_IF_ERROR(exec->run(feed, observe).status());
  if (options.onRun) options.onRun();
  for (int i = 0; i < options.warmup; ++i) {
    RETURN_IF_ERROR(exec->run(feed).status());
    if (options.onRun) options.onRun();
  }
  auto before = exec->nodeTimes();
  std::vector<std::vector<double>> nodeSeconds(before.size());
  std::vector<double> runSeconds;
  for (int i = 0; i < options.iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(exec->run(feed).status());
    runSeconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    auto after = exec->nodeTimes();
    for (size_t k = 0; k < after.size(); ++k) nodeSeconds[k].push_back(after[k].second - before[k].second);
    before = std::move(after);
    if (options.onRun) options.onRun();
  }

  adoptObservedShapes(graph, observed);
  ModelProfile profile;
  profile.iterations = options.iterations;
  profile.warmup = options.warmup;
  profile.threads = exec->threads();
  profile.medianLatencySeconds = medianOfSamples(runSeconds);
  profile.p90LatencySeconds = percentile90OfSamples(runSeconds);
  const ModelSummary summary = summarizeModel(model);
  profile.parameters = summary.parameterCount;
  profile.parameterBytes = summary.parameterBytes;
  const MacTotals macs = countMacs(graph);
  profile.macs = macs.macs;
  profile.unknownMacNodes = macs.unknownNodes;

  std::vector<const Node*> order;
  double totalSeconds = 0;
  for (size_t k = 0; k < before.size(); ++k) {
    const Node* node = before[k].first;
    order.push_back(node);
    LayerProfile layer;
    layer.node = node;
    layer.name = node->name();
    if (layer.name.empty() && node->output(0)) layer.name = node->output(0)->name();
    layer.op = qualifiedOpType(*node);
    for (const Value* in : node->inputs())
      if (auto w = in ? weightSize(in) : std::nullopt) {
        layer.parameters += w->first;
        layer.weightBytes += w->second;
      }
    layer.macs = nodeMacs(*node);
    for (const Value* out : node->outputs())
      if (auto it = out ? observed.find(out) : observed.end(); it != observed.end()) layer.outputBytes += it->second.bytes;
    layer.medianSeconds = medianOfSamples(nodeSeconds[k]);
    totalSeconds += layer.medianSeconds;
    profile.layers.push_back(std::move(layer));
  }
  for (LayerProfile& layer : profile.layers) layer.latencyShare = totalSeconds > 0 ? layer.medianSeconds / totalSeconds : 0;

  // Buffers that hold weights: initializers, and what Constant nodes produced.
  std::unordered_set<const void*> weightBuffers;
  for (const Value* v : graph.initializers()) weightBuffers.insert(v->initializer()->bytes().data());
  for (const auto& [v, seen] : observed)
    if (!isActivation(v)) weightBuffers.insert(seen.storage);
  FootprintFn footprint = [&](const Value* v) -> std::optional<TensorFootprint> {
    if (auto it = feed.find(v->name()); v->isGraphInput() && it != feed.end())
      return TensorFootprint{static_cast<int64_t>(it->second.byteSize()), it->second.raw()};
    if (auto it = observed.find(v); it != observed.end())
      return TensorFootprint{weightBuffers.count(it->second.storage) ? 0 : it->second.bytes, it->second.storage};
    auto shape = staticShape(v);
    if (!shape || elementType(v) == DataType::Undefined) return std::nullopt;
    return TensorFootprint{static_cast<int64_t>(dataTypeStorageBytes(elementType(v), elementCount(*shape))), nullptr};
  };
  profile.peak = simulatePeakMemory(graph, order, footprint);
  return profile;
}

std::vector<size_t> topLayers(const std::vector<LayerProfile>& layers, RankBy by, size_t k) {
  auto key = [&](size_t i) {
    return by == RankBy::Latency ? layers[i].latencyShare : static_cast<double>(layers[i].macs.value_or(0));
  };
  std::vector<size_t> ranked;
  for (size_t i = 0; i < layers.size(); ++i)
    if (key(i) > 0) ranked.push_back(i);
  std::stable_sort(ranked.begin(), ranked.end(), [&](size_t a, size_t b) { return key(a) > key(b); });
  if (ranked.size() > k) ranked.resize(k);
  return ranked;
}

TargetGap targetGap(double current, double target) {
  TargetGap gap;
  gap.current = current;
  gap.target = target;
  gap.ratio = target > 0 ? current / target : 0;
  return gap;
}

}  // namespace onnxpress
