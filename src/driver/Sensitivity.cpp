#include "onnxpress/driver/Sensitivity.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>

#include "onnxpress/analysis/Evaluate.h"
#include "onnxpress/analysis/Fidelity.h"
#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/pruning/Prune.h"
#include "onnxpress/passes/pruning/PruneTargets.h"
#include "onnxpress/passes/quantization/OpsetUpgrade.h"
#include "onnxpress/passes/quantization/Quantize.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"
#include "onnxpress/runtime/Executor.h"

namespace onnxpress {
namespace {

using runtime::TensorData;

constexpr std::string_view kPrune = "prune", kQuantize = "quantize";
constexpr int64_t kBlockedDequantizeOpset = 21;  // DequantizeLinear with block_size

struct Score {
  double top1 = 0;
  double snrDb = 999, cosine = 1;
};

// The samples, read once, and what the original model makes of them.
class Samples {
 public:
  static Expected<Samples> load(const Model& model, Dataset& data, int64_t count, int threads) {
    Samples s;
    s.accuracy_ = data.hasLabels();
    const int64_t n = count > 0 ? std::min(count, data.size()) : data.size();
    if (n <= 0) return invalidInput("{}: DATA has no samples", data.path());
    for (int64_t i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(InputFeed feed, datasetFeed(data, i));
      s.feeds_.push_back(std::move(feed));
      if (s.accuracy_) {
        ASSIGN_OR_RETURN(int64_t label, data.label(i));
        s.labels_.push_back(label);
      }
    }
    runtime::ExecutorOptions options;
    options.threads = threads;
    ASSIGN_OR_RETURN(auto exec, runtime::Executor::create(model, options));
    AccuracyAccumulator accuracy;
    for (int64_t i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(std::vector<TensorData> outputs, exec->run(s.feeds_[static_cast<size_t>(i)]));
      if (s.accuracy_) {
        RETURN_IF_ERROR(accuracy.add(outputs[0], s.labels_[static_cast<size_t>(i)])
                            .withContext(fmt::format("{}: sample {}", data.path(), i)));
      } else {
        for (TensorData& o : outputs) o = o.clone();  // detach from the model's weights
        s.reference_.push_back(std::move(outputs));
      }
    }
    s.baselineTop1_ = accuracy.result().top1();
    return s;
  }

  /// Runs `candidate` on every sample with one executor.
  Expected<Score> score(const Model& candidate, int threads) const {
    runtime::ExecutorOptions options;
    options.threads = threads;
    ASSIGN_OR_RETURN(auto exec, runtime::Executor::create(candidate, options));
    AccuracyAccumulator accuracy;
    FidelityAccumulator fidelity;
    for (size_t i = 0; i < feeds_.size(); ++i) {
      ASSIGN_OR_RETURN(std::vector<TensorData> outputs, exec->run(feeds_[i]));
      if (accuracy_) {
        RETURN_IF_ERROR(accuracy.add(outputs[0], labels_[i]));
        continue;
      }
      if (outputs.size() != reference_[i].size())
        return internalError("the compressed model has {} outputs, the original {}", outputs.size(),
                             reference_[i].size());
      for (size_t o = 0; o < outputs.size(); ++o) RETURN_IF_ERROR(fidelity.add(reference_[i][o], outputs[o]));
      fidelity.countSample();
    }
    Score score;
    if (accuracy_) {
      score.top1 = accuracy.result().top1();
    } else {
      const Fidelity f = fidelity.result();
      score.snrDb = f.snrDb;
      score.cosine = f.cosine;
    }
    return score;
  }

  bool accuracy() const { return accuracy_; }
  int64_t size() const { return static_cast<int64_t>(feeds_.size()); }
  double baselineTop1() const { return baselineTop1_; }

 private:
  std::vector<InputFeed> feeds_;
  std::vector<int64_t> labels_;
  std::vector<std::vector<TensorData>> reference_;  // fidelity mode
  bool accuracy_ = false;
  double baselineTop1_ = 0;
};

// A layer to measure and the node it stands for.
struct Layer {
  LayerSensitivity sensitivity;
  std::string nodeName;     // "" when the node is unnamed
  bool uniqueName = false;  // nodeName is non-empty and no other node has it
};

// The layers prune would touch, named as its per-layer option accepts them.
Expected<std::vector<Layer>> prunableLayers(const Model& model) {
  Model probe = model.clone();
  ASSIGN_OR_RETURN(std::vector<PruneTarget> targets, selectPruneTargets(probe, PruneOptions{}));
  std::map<std::string, int> nodeNames;
  probe.graph().forEachGraph([&](Graph& g) {
    for (Node* n : g.nodes()) ++nodeNames[n->name()];
  });
  std::vector<Layer> layers;
  for (const PruneTarget& target : targets) {
    const Node* node = target.node;
    const Value* weight = node->input(target.weightIndex);
    Layer layer;
    layer.nodeName = node->name();
    layer.uniqueName = !node->name().empty() && nodeNames[node->name()] == 1;
    layer.sensitivity.name = layer.uniqueName ? node->name() : weight->name();
    layer.sensitivity.opType = node->opType();
    std::optional<std::vector<int64_t>> dims = staticShape(weight);
    layer.sensitivity.params = dims ? elementCount(*dims) : 0;
    const bool seen = std::any_of(layers.begin(), layers.end(), [&](const Layer& l) {
      return l.sensitivity.name == layer.sensitivity.name;
    });
    if (!seen) layers.push_back(std::move(layer));  // a weight shared by unnamed nodes counts once
  }
  return layers;
}

Expected<std::vector<double>> checkedLevels(const SensitivityOptions& options) {
  static const std::vector<std::string> kGranularities = {"unstructured", "n:m", "channel", "neuron"};
  if (std::find(kGranularities.begin(), kGranularities.end(), options.granularity) == kGranularities.end())
    return usageError("sensitivity: unknown granularity '{}' (unstructured, n:m, channel or neuron)",
                      options.granularity);
  if (options.granularity == "n:m") {
    const size_t colon = options.nm.find(':');
    int64_t n = 0, m = 0;
    try {
      if (colon != std::string::npos) {
        n = std::stoll(options.nm.substr(0, colon));
        m = std::stoll(options.nm.substr(colon + 1));
      }
    } catch (const std::exception&) {
      n = m = 0;
    }
    if (!(n > 0 && n < m)) return usageError("sensitivity: n:m pattern '{}' is not N:M with 0 < N < M", options.nm);
    return std::vector<double>{1.0 - static_cast<double>(n) / static_cast<double>(m)};
  }
  std::vector<double> levels = options.levels.empty() ? SensitivityOptions{}.levels : options.levels;
  for (double level : levels)
    if (!(level > 0 && level < 1)) return usageError("sensitivity: level {} is outside (0, 1)", level);
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  return levels;
}

// The technique's levels and labels (and prune's granularity) into `result`.
Status setLevels(const SensitivityOptions& options, SensitivityResult& result) {
  result.technique = options.technique;
  if (options.technique == kQuantize) {
    for (const QuantizeSensitivityLevel& level : kQuantizeSensitivityLevels) {
      result.levels.push_back(level.level);
      result.labels.emplace_back(level.label);
    }
    return Status::ok();
  }
  if (options.technique != kPrune)
    return usageError("sensitivity: unknown technique '{}' (prune or quantize)", options.technique);
  ASSIGN_OR_RETURN(result.levels, checkedLevels(options));
  for (double level : result.levels) result.labels.push_back(fmt::format("{:g}", level));
  result.granularity = options.granularity;
  return Status::ok();
}

// Compresses `candidate`, a copy of the base model, for one (layer, level); false when
// the pass left it as it was.
using Compress = std::function<Expected<bool>(Model& candidate, size_t layer, size_t level, int threads)>;

// Prune: that layer at the level, every other layer at 0.
Compress pruneLayerAlone(const SensitivityOptions& options, const SensitivityResult& result) {
  return [&options, &result](Model& candidate, size_t layer, size_t level, int threads) -> Expected<bool> {
    PruneOptions prune;
    prune.granularity = options.granularity;
    prune.nm = options.nm;
    prune.sparsity = 0;
    prune.perLayer = {fmt::format("{}={}", result.layers[layer].name, result.levels[level])};
    PrunePass pass(prune);
    PassContext context;
    context.threads = threads;
    ASSIGN_OR_RETURN(PassResult pruned, pass.run(candidate, context));
    return pruned.changed;
  };
}

std::string escapeRegex(std::string_view text) {
  constexpr std::string_view kSpecial = "\\^$.|?*+()[]{}";
  std::string escaped;
  for (char c : text) {
    if (kSpecial.find(c) != std::string_view::npos) escaped += '\\';
    escaped += c;
  }
  return escaped;
}

// Weight-only options under which the quantize pass takes the node named `nodeName`
// (of `opType`) and no other: Scope matches exclude-nodes against every non-empty name.
QuantizeOptions weightOnlyAlone(const std::string& nodeName, const std::string& opType,
                                const QuantizeSensitivityLevel& level) {
  QuantizeOptions options;
  options.mode = "weight-only";
  options.weightType = level.weightType;
  options.blockSize = level.blockSize;
  options.opTypes = {opType};
  options.excludeNodes = "^(?!" + escapeRegex(nodeName) + "$)";
  return options;
}

// Why weight-only quantization cannot take `layer` alone; "" when it can.
std::string whyNotQuantizableAlone(const Layer& layer) {
  const std::string& op = layer.sensitivity.opType;
  if (op != "MatMul" && op != "Gemm") return fmt::format("weight-only quantization covers MatMul and Gemm, not {}", op);
  if (layer.nodeName.empty()) return "unnamed node (exclude-nodes cannot single it out)";
  if (!layer.uniqueName)
    return fmt::format("node name '{}' is not unique (exclude-nodes cannot single it out)", layer.nodeName);
  return "";
}

// Names every unnamed node, so that exclude-nodes leaves it out (Scope never excludes
// an empty name).
void nameUnnamedNodes(Model& model) {
  std::set<std::string> names;
  model.graph().forEachGraph([&](Graph& g) {
    for (Node* n : g.nodes()) names.insert(n->name());
  });
  int64_t next = 0;
  model.graph().forEachGraph([&](Graph& g) {
    for (Node* n : g.nodes()) {
      if (!n->name().empty()) continue;
      std::string name;
      do {
        name = fmt::format("onnxpress_sensitivity_unnamed_{}", next++);
      } while (names.count(name) != 0);
      n->setName(name);
      names.insert(name);
    }
  });
}

// How many nodes of `model` the quantize pass would take in under `options`.
Expected<int64_t> nodesInScope(const Model& model, const QuantizeOptions& options) {
  ASSIGN_OR_RETURN(quant::Scope scope, quant::Scope::create(options, {}));
  int64_t count = 0;
  model.graph().forEachGraph([&](const Graph& g) {
    for (const Node* n : g.nodes()) count += scope.contains(*n) ? 1 : 0;
  });
  return count;
}

// Quantize: sets `error` on the layers weight-only quantization cannot take alone, and
// returns the model the candidates are copied from: `model` upgraded to opset 21 once
// (so that no candidate upgrades it again) with every node named.
Expected<Model> prepareQuantize(const Model& model, const std::vector<Layer>& layers,
                                std::vector<LayerSensitivity>& measured) {
  for (size_t i = 0; i < layers.size(); ++i) measured[i].error = whyNotQuantizableAlone(layers[i]);
  if (std::none_of(measured.begin(), measured.end(), [](const LayerSensitivity& l) { return l.error.empty(); }))
    return invalidInput("the model has no layer weight-only quantization can take alone ({}: {})",
                        measured.front().name, measured.front().error);
  RETURN_IF_ERROR(quant::requireUnquantized(model, "weight-only"));
  Model base = model.clone();
  PassResult upgrade;
  RETURN_IF_ERROR(quant::upgradeOpset(base, kBlockedDequantizeOpset, upgrade)
                      .withContext("sensitivity: weight-only blocked DequantizeLinear needs ai.onnx opset 21"));
  nameUnnamedNodes(base);
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!measured[i].error.empty()) continue;
    const QuantizeOptions options =
        weightOnlyAlone(layers[i].nodeName, measured[i].opType, kQuantizeSensitivityLevels[0]);
    ASSIGN_OR_RETURN(int64_t nodes, nodesInScope(base, options));
    if (nodes != 1) measured[i].error = fmt::format("exclude-nodes takes in {} nodes instead of one", nodes);
  }
  return base;
}

// Whether the quantize pass, by its statistics, quantized exactly one node of `opType`.
Expected<bool> quantizedOneNode(const PassResult& pass, const std::string& opType) {
  constexpr std::string_view kSkipped = "skipped: ";
  int64_t quantized = 0;
  std::string skipped;
  for (const auto& [statistic, count] : pass.statistics) {
    if (statistic == opType) quantized = count;
    if (statistic.rfind(kSkipped, 0) == 0) skipped += (skipped.empty() ? "" : "; ") + statistic.substr(kSkipped.size());
  }
  if (quantized == 1) return true;
  if (quantized == 0)
    return invalidInput("weight-only quantization left it float: {}", skipped.empty() ? "no reason given" : skipped);
  return internalError("weight-only quantization took {} nodes instead of one", quantized);
}

// Quantize: that layer's weight alone, weight-only at the level's type and block size.
Compress quantizeLayerAlone(const std::vector<Layer>& layers) {
  return [&layers](Model& candidate, size_t layer, size_t level, int threads) -> Expected<bool> {
    const Layer& l = layers[layer];
    QuantizePass pass(weightOnlyAlone(l.nodeName, l.sensitivity.opType, kQuantizeSensitivityLevels[level]));
    PassContext context;
    context.threads = threads;
    ASSIGN_OR_RETURN(PassResult quantized, pass.run(candidate, context));
    return quantizedOneNode(quantized, l.sensitivity.opType);
  };
}

// Compresses a copy of `base` for (layer, level) and scores it.
Expected<SensitivityPoint> measure(const Model& base, const Samples& samples, const Compress& compress, size_t layer,
                                   size_t level, int threads) {
  Model candidate = base.clone();
  ASSIGN_OR_RETURN(bool changed, compress(candidate, layer, level, threads));
  SensitivityPoint point;
  point.changed = changed;
  if (!changed) {
    point.top1 = samples.baselineTop1();
    return point;
  }
  ASSIGN_OR_RETURN(Score score, samples.score(candidate, threads));
  point.top1 = score.top1;
  point.snrDb = score.snrDb;
  point.cosine = score.cosine;
  point.drop = samples.accuracy() ? samples.baselineTop1() - score.top1 : 1 - score.cosine;
  return point;
}

void summarize(LayerSensitivity& layer) {
  if (layer.points.empty()) return;
  layer.dropAtMax = layer.points.back().drop;
  double level = 0, drop = 0;
  layer.area = 0;
  for (const SensitivityPoint& p : layer.points) {
    layer.area += (p.level - level) * (p.drop + drop) / 2;
    level = p.level;
    drop = p.drop;
  }
}

}  // namespace

Expected<SensitivityResult> analyzeSensitivity(const Model& model, Dataset& data, const SensitivityOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  SensitivityResult result;
  RETURN_IF_ERROR(setLevels(options, result));
  RETURN_IF_ERROR(data.validateFor(model.graph()));
  ASSIGN_OR_RETURN(std::vector<Layer> layers, prunableLayers(model));
  if (layers.empty())
    return invalidInput("the model has no layer to {} (Conv, Gemm or MatMul with a constant weight)",
                        options.technique);
  for (const Layer& layer : layers) result.layers.push_back(layer.sensitivity);
  const bool quantize = options.technique == kQuantize;
  std::optional<Model> quantizeBase;  // the candidates' source for quantize; the original for prune
  if (quantize) {
    ASSIGN_OR_RETURN(Model upgraded, prepareQuantize(model, layers, result.layers));
    quantizeBase.emplace(std::move(upgraded));
  }
  const Model& base = quantizeBase ? *quantizeBase : model;
  const Compress compress = quantize ? quantizeLayerAlone(layers) : pruneLayerAlone(options, result);

  const int cores =
      options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ASSIGN_OR_RETURN(Samples samples, Samples::load(model, data, options.samples, cores));  // the original's outputs
  result.accuracy = samples.accuracy();
  result.samples = samples.size();
  result.baselineTop1 = samples.baselineTop1();
  {
    // onnx's schema tables initialize on first use: do that here, before the workers.
    Model warm = model.clone();
    (void)inferShapes(warm);
  }

  // One job per (layer, level); each worker compresses and scores one candidate at a time.
  const size_t levels = result.levels.size(), jobs = result.layers.size() * levels;
  const int workers = static_cast<int>(std::min<size_t>(static_cast<size_t>(cores), jobs));
  const int threadsPerJob = std::max(1, cores / workers);
  result.threads = workers;
  using Curve = std::vector<std::optional<SensitivityPoint>>;
  std::vector<Curve> points(result.layers.size(), Curve(levels));
  std::vector<std::atomic<bool>> failed(result.layers.size());
  for (size_t i = 0; i < result.layers.size(); ++i) failed[i] = !result.layers[i].error.empty();
  std::atomic<size_t> next{0};
  std::mutex mutex;
  auto work = [&] {
    for (size_t job = next++; job < jobs; job = next++) {
      const size_t layer = job / levels, level = job % levels;
      std::optional<Expected<SensitivityPoint>> point;
      if (!failed[layer]) {
        try {
          point.emplace(measure(base, samples, compress, layer, level, threadsPerJob));
        } catch (const std::exception& e) {
          point.emplace(internalError("{}", e.what()));
        }
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (point && point->hasValue()) {
        SensitivityPoint& p = points[layer][level].emplace(point->value());
        p.level = result.levels[level];
        p.label = result.labels[level];
      } else if (point && !failed[layer].exchange(true)) {
        result.layers[layer].error = point->status().message();
      }
      if (options.onStep) options.onStep();
    }
  };
  if (workers <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (int i = 0; i < workers; ++i) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
  }

  for (size_t i = 0; i < result.layers.size(); ++i) {
    LayerSensitivity& layer = result.layers[i];
    if (!layer.error.empty()) continue;
    for (const std::optional<SensitivityPoint>& p : points[i]) layer.points.push_back(*p);
    summarize(layer);
    result.ranking.push_back(i);
  }
  std::stable_sort(result.ranking.begin(), result.ranking.end(), [&](size_t a, size_t b) {
    const LayerSensitivity &x = result.layers[a], &y = result.layers[b];
    if (x.dropAtMax != y.dropAtMax) return x.dropAtMax > y.dropAtMax;
    return x.area > y.area;
  });
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

Expected<int64_t> sensitivitySteps(const Model& model, const SensitivityOptions& options) {
  SensitivityResult plan;
  RETURN_IF_ERROR(setLevels(options, plan));
  ASSIGN_OR_RETURN(std::vector<Layer> layers, prunableLayers(model));
  return static_cast<int64_t>(plan.levels.size() * layers.size());
}

std::vector<std::string> choosePerLayer(const SensitivityResult& result, double maxDrop) {
  std::vector<std::string> entries;
  for (const LayerSensitivity& layer : result.layers) {
    double chosen = 0;
    for (const SensitivityPoint& p : layer.points) {
      if (!(p.drop <= maxDrop)) break;
      chosen = p.level;
    }
    entries.push_back(fmt::format("{}={}", layer.name, chosen));
  }
  return entries;
}

Expected<std::vector<std::string>> chooseSparsityPerLayer(const Model& model, Dataset& data, double maxDrop,
                                                          const SensitivityOptions& options) {
  if (!(maxDrop >= 0)) return usageError("--max-drop {} must be a non-negative number", maxDrop);
  if (options.technique != kPrune)
    return usageError("per-layer sparsities come from technique prune, not '{}'", options.technique);
  ASSIGN_OR_RETURN(SensitivityResult result, analyzeSensitivity(model, data, options));
  return choosePerLayer(result, maxDrop);
}

}  // namespace onnxpress
