#include "onnxpress/passes/quantization/SmoothQuant.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <unordered_map>

#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/quantization/Calibration.h"
#include "onnxpress/passes/quantization/CrossLayerEqualization.h"

namespace onnxpress::quant {
namespace {


constexpr double kMinScale = 1e-5, kMaxScale = 1e5;

struct SmoothTarget {
  Node* node = nullptr;
  WeightChannels inputChannels;  // channel k: row k of W[K, N] (column k of Gemm's B[N, K] when transB = 1)
};

// Targets reading the same activation share one s.
struct SmoothGroup {
  Value* activation = nullptr;
  std::vector<SmoothTarget> targets;
  int64_t channels() const { return targets.front().inputChannels.count(); }
};

std::optional<SmoothTarget> smoothTarget(Node* n, const Scope& scope, PassResult& result) {
  const bool gemm = isOp(n, "Gemm");
  if (!(gemm || isOp(n, "MatMul")) || !scope.contains(*n)) return std::nullopt;
  if (gemm && n->intAttr("transA", 0) != 0) return std::nullopt;
  Value* x = n->input(0);
  if (!x || isConstant(x)) return std::nullopt;
  std::optional<FloatConstant> w = floatConstantInput(*n, 1);
  if (!w || w->dims.size() != 2) return std::nullopt;
  const bool transB = gemm && n->intAttr("transB", 0) != 0;
  const WeightChannels channels =
      transB ? WeightChannels::columns(w->dims[0], w->dims[1]) : WeightChannels::rows(w->dims);
  const Type& type = x->type();
  if (type.isTensor() && type.hasShape && !type.dims.empty() && type.dims.back().isFixed() &&
      type.dims.back().value != channels.count())
    return std::nullopt;
  if (!readByOneNode(w->value) || !mutableConstantTensor(w->value)) {
    result.bump("skipped MatMuls with shared weights");
    return std::nullopt;
  }
  return SmoothTarget{n, channels};
}

std::vector<SmoothGroup> findGroups(const Graph& graph, const Scope& scope, PassResult& result) {
  std::vector<SmoothGroup> groups;
  std::unordered_map<const Value*, size_t> position;
  for (Node* n : graph.nodes()) {
    std::optional<SmoothTarget> target = smoothTarget(n, scope, result);
    if (!target) continue;
    auto [it, fresh] = position.emplace(n->input(0), groups.size());
    if (fresh) groups.push_back({n->input(0), {}});
    SmoothGroup& group = groups[it->second];
    if (group.targets.empty() || target->inputChannels.count() == group.channels())
      group.targets.push_back(*target);
  }
  return groups;
}

// Whether s can fold into the LayerNormalization producing the group's activation
// (see the header): gamma and beta (when present) are then rewritten.
bool canFoldIntoLayerNorm(const SmoothGroup& group) {
  Node* ln = producerOp(group.activation, "LayerNormalization");
  if (!ln || ln->output(0) != group.activation) return false;
  const auto& uses = group.activation->uses();
  if (uses.size() != group.targets.size()) return false;
  for (const Use& use : uses) {
    const bool target = std::any_of(group.targets.begin(), group.targets.end(),
                                    [&](const SmoothTarget& t) { return t.node == use.node; });
    if (!target || use.index != 0) return false;
  }
  for (size_t index : {size_t{1}, size_t{2}}) {
    if (!ln->input(index)) continue;  // no beta
    std::optional<FloatConstant> p = floatConstantInput(*ln, index);
    if (!p || p->dims.empty() || p->dims.back() != group.channels()) return false;
  }
  return true;
}

// gamma_k /= s_k and beta_k /= s_k along the last axis. A gamma or beta shared with
// other nodes (dedupe-constants merges identical LayerNorm parameters) gets a private copy.
void foldIntoLayerNorm(Graph& graph, const SmoothGroup& group, const std::vector<double>& inverse) {
  Node* ln = group.activation->producer();
  const int64_t k = group.channels();
  for (size_t index : {size_t{1}, size_t{2}}) {
    if (!ln->input(index)) continue;
    FloatConstant p = *floatConstantInput(*ln, index);
    WeightChannels::columns(elementCount(p.dims) / k, k).scale(p.values, inverse);
    if (readByOneNode(p.value) && mutableConstantTensor(p.value)) {
      overwriteFloatConstant(p.value, p.values);
    } else {
      ln->setInput(index, addInitializer(graph, p.value->name() + "_smoothed",
                                         makeFloatTensor(DataType::Float, p.dims, p.values)));
      releaseIfUnused({p.value});
    }
  }
}

// x' = Mul(x, 1/s) before the group's first target; every target reads x'.
Node* insertSmoothingMul(Graph& graph, const SmoothGroup& group, const std::vector<double>& inverse) {
  Node* first = nullptr;
  for (Node* n : graph.nodes()) {
    const bool target = std::any_of(group.targets.begin(), group.targets.end(),
                                    [&](const SmoothTarget& t) { return t.node == n; });
    if (target) {
      first = n;
      break;
    }
  }
  Value* x = group.activation;
  const std::vector<float> values(inverse.begin(), inverse.end());
  Value* scale = addInitializer(graph, x->name() + "_smooth_scale",
                                makeFloatTensor(DataType::Float, {group.channels()}, values));
  Node* mul = graph.createNode("Mul", {x, scale}, 1, first);
  mul->setName(x->name() + "_smooth");
  Value* smoothed = mul->output(0);
  graph.rename(smoothed, graph.uniqueName(x->name() + "_smoothed"));
  copyType(x, smoothed);
  for (const SmoothTarget& t : group.targets) t.node->setInput(0, smoothed);
  return mul;
}

// s_k = a_k^alpha / w_k^(1 - alpha), see the header.
std::vector<double> smoothingScales(const std::vector<float>& activationMax, const std::vector<float>& weightMax,
                                    double alpha) {
  std::vector<double> s(activationMax.size(), 1.0);
  for (size_t k = 0; k < s.size(); ++k) {
    if (!(activationMax[k] > 0) || !(weightMax[k] > 0)) continue;
    s[k] = std::clamp(std::pow(activationMax[k], alpha) / std::pow(weightMax[k], 1 - alpha), kMinScale, kMaxScale);
  }
  return s;
}

// Smooths one measured group; returns the number of targets rewritten.
int64_t smoothGroup(Graph& graph, const SmoothGroup& group, const std::vector<float>& activationMax, double alpha,
                    PassResult& result, std::set<const Node*>* insertedMuls) {
  std::vector<float> weightMax(activationMax.size(), 0.f);
  for (const SmoothTarget& t : group.targets) {
    const std::vector<float> rows = t.inputChannels.absMax(floatConstantInput(*t.node, 1)->values);
    for (size_t k = 0; k < rows.size(); ++k) weightMax[k] = std::max(weightMax[k], rows[k]);
  }
  const std::vector<double> s = smoothingScales(activationMax, weightMax, alpha);
  if (std::all_of(s.begin(), s.end(), [](double v) { return v == 1.0; })) return 0;
  std::vector<double> inverse(s.size());
  for (size_t k = 0; k < s.size(); ++k) inverse[k] = 1.0 / s[k];

  if (canFoldIntoLayerNorm(group)) {
    foldIntoLayerNorm(graph, group, inverse);
    result.bump("scales folded into LayerNormalization");
  } else {
    Node* mul = insertSmoothingMul(graph, group, inverse);
    if (insertedMuls) insertedMuls->insert(mul);
    result.bump("Mul nodes inserted");
  }
  for (const SmoothTarget& t : group.targets) {
    FloatConstant w = *floatConstantInput(*t.node, 1);
    t.inputChannels.scale(w.values, s);
    overwriteFloatConstant(w.value, w.values);
  }
  return static_cast<int64_t>(group.targets.size());
}

}  // namespace

Expected<int64_t> applySmoothQuant(Model& model, Dataset& data, const QuantizeOptions& options, const Scope& scope,
                                   int threads, PassResult& result, std::set<const Node*>* insertedMuls) {
  const double alpha = options.smoothQuantAlpha;
  if (!(alpha >= 0 && alpha <= 1)) return usageError("smoothquant-alpha must be in [0, 1], got {}", alpha);
  Graph& graph = model.graph();
  const std::vector<SmoothGroup> groups = findGroups(graph, scope, result);
  if (groups.empty()) return int64_t{0};

  std::set<std::string> activations;
  for (const SmoothGroup& g : groups) activations.insert(g.activation->name());
  ASSIGN_OR_RETURN(auto maxima, channelAbsMax(model, data, activations, options.calibSamples, threads));

  int64_t smoothed = 0;
  for (const SmoothGroup& g : groups) {
    auto it = maxima.find(g.activation->name());
    if (it == maxima.end() || static_cast<int64_t>(it->second.size()) != g.channels()) {
      result.bump("skipped MatMuls with unmeasured inputs", static_cast<int64_t>(g.targets.size()));
      continue;
    }
    smoothed += smoothGroup(graph, g, it->second, alpha, result, insertedMuls);
  }
  result.bump("MatMuls smoothed", smoothed);
  return smoothed;
}

}  // namespace onnxpress::quant
