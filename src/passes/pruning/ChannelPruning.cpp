#include "onnxpress/passes/pruning/ChannelPruning.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <unordered_set>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/pruning/ChannelGroups.h"

namespace onnxpress {
namespace {

using pruning::ChannelGroup;
using pruning::ChannelGroups;
using pruning::TrackedAxis;

int64_t removalCount(double sparsity, int64_t channels) {
  return static_cast<int64_t>(std::llround(sparsity * static_cast<double>(channels)));
}

// Output channels of a Conv/Gemm/MatMul reading its constant weight at input 1.
std::optional<int64_t> outputChannels(const Node& n) {
  auto w = constantDims(n.input(1));
  if (!w) return std::nullopt;
  if (n.opType() == "Conv" && w->size() >= 3) return (*w)[0];
  if (n.opType() == "Gemm" && w->size() == 2) return n.intAttr("transB", 0) != 0 ? (*w)[0] : (*w)[1];
  if (n.opType() == "MatMul" && w->size() >= 2) return w->back();
  return std::nullopt;
}

// Per-output-channel L1 or L2 norm of a producer's weight; nullopt for non-float weights.
std::optional<std::vector<double>> channelNorms(const Node& producer, int64_t channels, bool l2) {
  std::optional<Tensor> weight = constantValue(producer.input(1));
  if (!weight) return std::nullopt;
  auto values = doubleValues(*weight);
  const std::vector<int64_t>& dims = weight->dims();
  if (!values || dims.empty() || values->empty()) return std::nullopt;
  const auto n = static_cast<int64_t>(values->size());
  const std::string& op = producer.opType();
  const bool transB = producer.intAttr("transB", 0) != 0;
  std::vector<double> norms(static_cast<size_t>(channels), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t c = 0;
    if (op == "Conv") c = i / (n / dims[0]);
    else if (op == "Gemm" && transB) c = i / dims[1];
    else c = i % dims.back();
    if (c >= channels) return std::nullopt;
    const double v = (*values)[static_cast<size_t>(i)];
    norms[static_cast<size_t>(c)] += l2 ? v * v : std::abs(v);
  }
  if (l2)
    for (double& x : norms) x = std::sqrt(x);
  return norms;
}

// One constant input to rewrite: indices to drop per axis, and for a grouped Conv
// weight the input channels (global numbering) each conv group loses along axis 1.
struct ConstantEdit {
  Node* node = nullptr;
  size_t input = 0;
  std::map<int64_t, std::set<int64_t>> removed;
  int64_t convGroups = 0;
  std::set<int64_t> groupedRemoved;
};

size_t elementBytes(DataType dtype) {
  const int bits = dataTypeBits(dtype);
  return bits >= 8 && bits % 8 == 0 && dtype != DataType::String ? static_cast<size_t>(bits / 8) : 0;
}

// `t` without the listed indices along each axis (raw bytes: any dtype stays exact).
Expected<Tensor> removeIndices(const Tensor& t, const std::map<int64_t, std::set<int64_t>>& removed) {
  const size_t bytes = elementBytes(t.dtype());
  const std::vector<int64_t>& dims = t.dims();
  if (bytes == 0) return internalError("prune: cannot slice a {} tensor", dataTypeName(t.dtype()));
  std::vector<std::vector<int64_t>> keep(dims.size());
  std::vector<int64_t> newDims(dims.size());
  for (size_t a = 0; a < dims.size(); ++a) {
    auto it = removed.find(static_cast<int64_t>(a));
    for (int64_t i = 0; i < dims[a]; ++i)
      if (it == removed.end() || !it->second.count(i)) keep[a].push_back(i);
    if (it != removed.end() && !it->second.empty() && *it->second.rbegin() >= dims[a])
      return internalError("prune: channel index {} past axis {} of size {}", *it->second.rbegin(), a, dims[a]);
    newDims[a] = static_cast<int64_t>(keep[a].size());
  }
  for (const auto& [axis, indices] : removed)
    if (axis < 0 || axis >= static_cast<int64_t>(dims.size()))
      return internalError("prune: axis {} outside a rank-{} tensor", axis, dims.size());
  std::vector<int64_t> strides(dims.size(), 1);
  for (size_t a = dims.size(); a-- > 1;) strides[a - 1] = strides[a] * dims[a];
  Tensor out(t.dtype(), newDims);
  const uint8_t* src = t.bytes().data();
  uint8_t* dst = out.mutableBytes().data();
  const int64_t total = elementCount(newDims);
  std::vector<size_t> index(dims.size(), 0);
  for (int64_t k = 0; k < total; ++k) {
    int64_t from = 0;
    for (size_t a = 0; a < dims.size(); ++a) from += keep[a][index[a]] * strides[a];
    std::memcpy(dst + static_cast<size_t>(k) * bytes, src + static_cast<size_t>(from) * bytes, bytes);
    for (size_t a = dims.size(); a-- > 0;) {
      if (++index[a] < keep[a].size()) break;
      index[a] = 0;
    }
  }
  return out;
}

// A grouped Conv weight [Cout, Cin/G, k...] after its input channels `removed` (numbered
// 0..Cin-1) are gone: conv group g keeps the input channels of its own that remain.
Expected<Tensor> removeGroupedInputs(const Tensor& t, int64_t groups, const std::set<int64_t>& removed) {
  const size_t bytes = elementBytes(t.dtype());
  const std::vector<int64_t>& dims = t.dims();
  if (bytes == 0 || dims.size() < 3 || groups < 1 || dims[0] % groups != 0)
    return internalError("prune: unexpected grouped Conv weight");
  const int64_t perGroup = dims[1], outPerGroup = dims[0] / groups;
  const int64_t inner = elementCount(std::vector<int64_t>(dims.begin() + 2, dims.end()));
  std::vector<std::vector<int64_t>> kept(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t l = 0; l < perGroup; ++l)
      if (!removed.count(g * perGroup + l)) kept[static_cast<size_t>(g)].push_back(l);
  const auto newPerGroup = static_cast<int64_t>(kept[0].size());
  for (const auto& k : kept)
    if (static_cast<int64_t>(k.size()) != newPerGroup)
      return internalError("prune: conv groups would keep different numbers of input channels");
  std::vector<int64_t> newDims = dims;
  newDims[1] = newPerGroup;
  Tensor out(t.dtype(), newDims);
  const uint8_t* src = t.bytes().data();
  uint8_t* dst = out.mutableBytes().data();
  const size_t run = static_cast<size_t>(inner) * bytes;
  for (int64_t o = 0; o < dims[0]; ++o)
    for (int64_t j = 0; j < newPerGroup; ++j) {
      const int64_t l = kept[static_cast<size_t>(o / outPerGroup)][static_cast<size_t>(j)];
      std::memcpy(dst + static_cast<size_t>(o * newPerGroup + j) * run, src + static_cast<size_t>(o * perGroup + l) * run,
                  run);
    }
  return out;
}

// A new constant for input `input` of `node`.
struct PlannedTensor {
  Node* node = nullptr;
  size_t input = 0;
  Tensor tensor;
  bool isParameter = true;  // false for Reshape target shapes
};

// Selection and rewrite plan for the groups of one graph.
class GraphPlan {
 public:
  explicit GraphPlan(ChannelGroups groups) : groups_(std::move(groups)) {}

  // Picks the channels each prunable group loses; counts pruned and skipped groups.
  void select(const PruneOptions& options, std::mt19937_64& rng) {
    skipped_ += groups_.unusableProducers();
    for (int root : groups_.roots()) {
      const ChannelGroup& g = groups_.group(root);
      if (g.producers.empty()) continue;
      if (!g.skipReason.empty()) {
        ++skipped_;
        continue;
      }
      const auto first = std::min_element(g.producers.begin(), g.producers.end(),
                                           [](const auto& a, const auto& b) { return a.order < b.order; });
      int64_t runs = 1;
      for (int64_t b : g.blocks) runs = std::lcm(runs, b);
      if (runs < 1 || g.channels % runs != 0) {
        ++skipped_;
        continue;
      }
      const int64_t runLength = g.channels / runs, perRun = removalCount(first->sparsity, runLength);
      if (perRun == 0) continue;
      if (perRun >= runLength) {  // would empty a conv group
        ++skipped_;
        continue;
      }
      std::vector<double> importance(static_cast<size_t>(g.channels), 0.0);
      bool known = true;
      if (options.criterion == "random") {
        std::uniform_real_distribution<double> uniform(0.0, 1.0);
        for (double& x : importance) x = uniform(rng);
      } else {
        for (const auto& p : g.producers) {
          auto norms = channelNorms(*p.node, g.channels, options.criterion == "l2");
          if (!norms) {
            known = false;
            break;
          }
          for (size_t c = 0; c < importance.size(); ++c) importance[c] += (*norms)[c];
        }
      }
      if (!known) {
        ++skipped_;
        continue;
      }
      std::vector<int64_t> removed;
      for (int64_t r = 0; r < runs; ++r) {
        std::vector<int64_t> order(static_cast<size_t>(runLength));
        std::iota(order.begin(), order.end(), r * runLength);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          return importance[static_cast<size_t>(a)] < importance[static_cast<size_t>(b)];
        });
        removed.insert(removed.end(), order.begin(), order.begin() + perRun);
      }
      std::sort(removed.begin(), removed.end());
      channelsRemoved_ += static_cast<int64_t>(removed.size() * g.producers.size());
      removed_[root] = std::move(removed);
    }
  }

  // Builds every new tensor without touching the graph.
  Status plan() {
    if (removed_.empty()) return Status::ok();
    std::vector<ConstantEdit> edits;
    std::map<std::pair<Node*, size_t>, size_t> editIndex;
    for (const auto& [root, removed] : removed_)
      for (const pruning::ConstantSlice& s : groups_.group(root).slices) {
        auto [it, fresh] = editIndex.emplace(std::make_pair(s.node, s.input), edits.size());
        if (fresh) edits.push_back({s.node, s.input, {}, 0, {}});
        ConstantEdit& e = edits[it->second];
        for (int64_t c : removed)
          for (int64_t j = 0; j < s.block; ++j) {
            const int64_t index = s.offset + c * s.block + j;
            if (s.convGroups > 0) {
              e.convGroups = s.convGroups;
              e.groupedRemoved.insert(index);
            } else {
              e.removed[s.axis].insert(index);
            }
          }
      }
    for (ConstantEdit& e : edits) {
      std::optional<Tensor> t = constantValue(e.node->input(e.input));
      if (!t) return internalError("prune: input {} of {} is no longer constant", e.input, e.node->describe());
      if (e.convGroups > 0) {
        auto gathered = removeGroupedInputs(*t, e.convGroups, e.groupedRemoved);
        if (!gathered) return gathered.status();
        t = std::move(*gathered);
      }
      auto sliced = removeIndices(*t, e.removed);
      if (!sliced) return sliced.status().withContext(e.node->describe());
      planned_.push_back({e.node, e.input, std::move(*sliced), true});
    }
    for (const auto& [reshape, entry] : groups_.reshapeDims()) {
      const int64_t count = removedAlong(reshape->output(0));
      if (count == 0) continue;
      auto shape = constantInts(reshape->input(1));
      if (!shape || entry >= shape->size() || (*shape)[entry] <= count)
        return internalError("prune: cannot update the target shape of {}", reshape->describe());
      (*shape)[entry] -= count;
      planned_.push_back({reshape, 1, makeInt64Tensor(*shape), false});
    }
    return Status::ok();
  }

  std::vector<PlannedTensor>& plannedTensors() { return planned_; }

  // Depthwise group counts and the shapes of the values that lost channels.
  void updateNodesAndShapes() {
    for (Node* conv : groups_.depthwiseConvs())
      if (const int64_t count = removedAlong(conv->input(0)))
        conv->setAttribute(Attribute::makeInt("group", conv->intAttr("group", 1) - count));
    for (const auto& [value, tracked] : groups_.tracked()) {
      const int64_t count = removedAlong(value);
      Type& type = value->mutableType();
      if (count == 0 || !type.isTensor() || !type.hasShape) continue;
      const int64_t axis = static_cast<int64_t>(type.dims.size()) + tracked.axisFromEnd;
      if (axis < 0) continue;
      Dim& d = type.dims[static_cast<size_t>(axis)];
      if (d.isFixed()) d.value -= count;
    }
  }

  int64_t pruned() const { return static_cast<int64_t>(removed_.size()); }
  int64_t skipped() const { return skipped_; }
  int64_t channelsRemoved() const { return channelsRemoved_; }

 private:
  // How many indices of `v`'s tracked axis go.
  int64_t removedAlong(const Value* v) const {
    auto it = groups_.tracked().find(const_cast<Value*>(v));
    if (it == groups_.tracked().end()) return 0;
    int64_t count = 0;
    for (const pruning::ChannelSegment& s : it->second.segments) {
      auto r = removed_.find(groups_.find(s.group));
      if (r != removed_.end()) count += static_cast<int64_t>(r->second.size()) * s.block;
    }
    return count;
  }

  ChannelGroups groups_;
  std::map<int, std::vector<int64_t>> removed_;  // root group -> removed channels
  std::vector<PlannedTensor> planned_;
  int64_t skipped_ = 0, channelsRemoved_ = 0;
};

// Points each planned input at its new constant (an initializer of the reading node's
// graph, under the old name once that is free) and drops constants nothing reads any
// more. Counts the parameters of the replaced constants before and after.
void replaceConstants(std::vector<PlannedTensor>& planned, int64_t& paramsBefore, int64_t& paramsAfter) {
  struct Old {
    Graph* graph;
    std::string name;
    int64_t elements;
    bool isParameter;
  };
  std::vector<Old> olds;
  std::unordered_set<const Value*> seen;
  std::vector<Value*> oldValues;
  std::vector<std::pair<Value*, std::string>> fresh;
  for (PlannedTensor& p : planned) {
    Value* old = p.node->input(p.input);
    if (seen.insert(old).second) {
      auto dims = constantDims(old);
      olds.push_back({old->graph(), old->name(), dims ? elementCount(*dims) : 0, p.isParameter});
      oldValues.push_back(old);
    }
    if (p.isParameter) paramsAfter += p.tensor.numElements();
    const std::string name = old->name();
    Value* replacement = addInitializer(*p.node->graph(), name, std::move(p.tensor));
    p.node->setInput(p.input, replacement);
    fresh.emplace_back(replacement, name);
  }
  releaseIfUnused(oldValues);
  for (const Old& o : olds) {
    if (!o.isParameter) continue;
    paramsBefore += o.elements;
    if (o.graph->findValue(o.name)) paramsAfter += o.elements;  // still read elsewhere
  }
  for (auto& [value, name] : fresh)
    if (!value->graph()->lookup(name)) value->graph()->rename(value, name);
}

}  // namespace

Expected<PassResult> pruneChannels(Model& model, const PruneOptions& options, const std::vector<PruneTarget>& targets) {
  if (options.criterion != "l1" && options.criterion != "l2" && options.criterion != "random")
    return usageError("prune: criterion must be l1, l2 or random, got '{}'", options.criterion);
  if (options.effectiveScope() != "layer")
    return usageError("prune: granularity={} supports scope=layer only, got scope={}", options.granularity,
                      options.scope);
  const bool neuron = options.granularity == "neuron";

  // Producers, and the layers a request would empty: refused before any change.
  std::unordered_map<const Node*, double> producers;
  for (const PruneTarget& t : targets) {
    if (!t.node || t.weightIndex != 1 || !isDefaultDomain(*t.node)) continue;
    const std::string& op = t.node->opType();
    if (op != "Gemm" && op != "MatMul" && (neuron || op != "Conv")) continue;
    const std::optional<int64_t> channels = outputChannels(*t.node);
    if (!channels) continue;
    if (*channels > 0 && removalCount(t.sparsity, *channels) >= *channels)
      return usageError("prune: sparsity {} would remove all {} output {} of {}", t.sparsity, *channels,
                        neuron ? "neurons" : "channels", t.node->describe());
    producers[t.node] = t.sparsity;
  }
  PassResult result;
  if (producers.empty()) return result;
  (void)inferShapes(model);  // ranks and dims the analysis needs; unknown ones leave groups unpruned

  std::vector<Graph*> graphs;
  model.graph().forEachGraph([&](Graph& g) { graphs.push_back(&g); });
  std::vector<GraphPlan> plans;
  std::mt19937_64 rng(static_cast<uint64_t>(options.seed));
  for (Graph* g : graphs) {
    bool hasProducer = false;
    for (Node* n : g->nodes()) hasProducer = hasProducer || producers.count(n);
    if (!hasProducer) continue;
    plans.emplace_back(ChannelGroups::analyze(*g, model.opsetVersion(""), producers));
    plans.back().select(options, rng);
    RETURN_IF_ERROR(plans.back().plan());
  }

  int64_t pruned = 0, skipped = 0, channels = 0, paramsBefore = 0, paramsAfter = 0;
  std::vector<PlannedTensor> planned;
  for (GraphPlan& p : plans)
    for (PlannedTensor& t : p.plannedTensors()) planned.push_back(std::move(t));
  replaceConstants(planned, paramsBefore, paramsAfter);
  for (GraphPlan& p : plans) {
    p.updateNodesAndShapes();
    pruned += p.pruned();
    skipped += p.skipped();
    channels += p.channelsRemoved();
  }
  result.bump("channels removed", channels);
  result.bump("groups pruned", pruned);
  result.bump("groups skipped", skipped);
  result.bump("parameters before", paramsBefore);
  result.bump("parameters after", paramsAfter);
  result.changed = pruned > 0;
  return result;
}

}  // namespace onnxpress
