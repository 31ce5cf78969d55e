#include "onnxpress/passes/quantization/MixedPrecision.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>

#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/runtime/Executor.h"

namespace onnxpress::quant {
using runtime::TensorData;

namespace {

constexpr double kSnrCapDb = 100.0;
constexpr int64_t kSensitivitySamples = 4;

const std::vector<std::string> kLayerOps = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Mul", "LSTM", "GRU",
                                            "Gather", "AveragePool", "GlobalAveragePool"};

double snrDb(double signal, double noise) {
  if (noise <= 0) return kSnrCapDb;
  if (signal <= 0) return -kSnrCapDb;
  return std::min(kSnrCapDb, 10.0 * std::log10(signal / noise));
}

// Element values as doubles (float outputs) or exact integers (index outputs).
std::vector<double> valuesOf(const TensorData& t) {
  std::vector<double> out(static_cast<size_t>(t.numElements()));
  switch (t.dtype()) {
    case DataType::Float:
      for (size_t i = 0; i < out.size(); ++i) out[i] = t.data<float>()[i];
      break;
    case DataType::Double:
      for (size_t i = 0; i < out.size(); ++i) out[i] = t.data<double>()[i];
      break;
    case DataType::Int64:
      for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(t.data<int64_t>()[i]);
      break;
    case DataType::Int32:
      for (size_t i = 0; i < out.size(); ++i) out[i] = t.data<int32_t>()[i];
      break;
    case DataType::Bool:
    case DataType::UInt8:
      for (size_t i = 0; i < out.size(); ++i) out[i] = t.data<uint8_t>()[i];
      break;
    default: out.clear();
  }
  return out;
}

bool isIntegerOutput(DataType t) { return t == DataType::Int64 || t == DataType::Int32 || t == DataType::Bool || t == DataType::UInt8; }

// Accumulates the fidelity of one output over samples.
struct OutputScore {
  bool integer = false;
  double signal = 0, noise = 0, cosineSum = 0, equal = 0, total = 0;
  int64_t samples = 0;
  void add(const TensorData& ref, const TensorData& q) {
    const auto a = valuesOf(ref), b = valuesOf(q);
    integer = isIntegerOutput(ref.dtype());
    ++samples;
    if (a.size() != b.size() || a.empty()) {  // a shape change counts as a full miss
      total += static_cast<double>(std::max<size_t>(a.size(), 1));
      noise += 1, cosineSum += 0;
      return;
    }
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const double d = a[i] - b[i];
      signal += a[i] * a[i];
      noise += d * d;
      dot += a[i] * b[i], na += a[i] * a[i], nb += b[i] * b[i];
      equal += a[i] == b[i];
    }
    total += static_cast<double>(a.size());
    cosineSum += na == 0 && nb == 0 ? 1.0 : (na == 0 || nb == 0 ? 0.0 : dot / std::sqrt(na * nb));
  }
  double value(const FidelityTarget& target) const {
    if (integer) {
      const double agreement = total > 0 ? equal / total : 1.0;
      if (target.cosine) return agreement;
      return agreement >= 1 ? kSnrCapDb : -10.0 * std::log10(1.0 - agreement);  // 1 - 10^(-dB/10) = agreement
    }
    return target.cosine ? (samples ? cosineSum / static_cast<double>(samples) : 1.0) : snrDb(signal, noise);
  }
};

class Measurer {
 public:
  Measurer(Dataset& data, int64_t samples, int threads) : data_(data), threads_(threads) {
    samples_ = samples > 0 ? std::min(samples, data.size()) : data.size();
  }

  Status runReference(const Model& reference) {
    ASSIGN_OR_RETURN(auto executor, makeExecutor(reference));
    for (int64_t s = 0; s < samples_; ++s) {
      ASSIGN_OR_RETURN(InputFeed feed, datasetFeed(data_, sampleIndex(s)));
      ASSIGN_OR_RETURN(auto outputs, executor->run(feed));
      reference_.push_back(std::move(outputs));
    }
    return Status::ok();
  }

  /// The worst output's fidelity of `candidate` against the reference.
  Expected<double> fidelity(const Model& candidate, const FidelityTarget& target, int64_t limit = 0) {
    ASSIGN_OR_RETURN(auto executor, makeExecutor(candidate));
    std::vector<OutputScore> scores;
    for (int64_t s = 0; s < (limit > 0 ? std::min(limit, samples_) : samples_); ++s) {
      ASSIGN_OR_RETURN(InputFeed feed, datasetFeed(data_, sampleIndex(s)));
      ASSIGN_OR_RETURN(auto outputs, executor->run(feed));
      const auto& ref = reference_[static_cast<size_t>(s)];
      scores.resize(ref.size());
      for (size_t o = 0; o < ref.size() && o < outputs.size(); ++o) scores[o].add(ref[o], outputs[o]);
    }
    double worst = std::numeric_limits<double>::infinity();
    for (const OutputScore& score : scores) worst = std::min(worst, score.value(target));
    return worst;
  }

 private:
  // Samples spread evenly over the data: calibration sets are often sorted by class or
  // source, and the first few would stand for one of them only.
  int64_t sampleIndex(int64_t s) const { return s * data_.size() / samples_; }

  Expected<std::unique_ptr<runtime::Executor>> makeExecutor(const Model& model) const {
    runtime::ExecutorOptions options;
    options.threads = threads_;
    return runtime::Executor::create(model, options);
  }

  Dataset& data_;
  int threads_;
  int64_t samples_ = 0;
  std::vector<std::vector<TensorData>> reference_;
};

std::string escapeRegex(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string excludePattern(const std::string& user, const std::vector<std::string>& nodes) {
  if (nodes.empty()) return user;
  std::string alternatives;
  for (const std::string& n : nodes) alternatives += (alternatives.empty() ? "" : "|") + escapeRegex(n);
  const std::string plan = "^(" + alternatives + ")$";
  return user.empty() ? plan : "(" + user + ")|" + plan;
}

// Every node gets a name (op type and a counter) so that a plan can name it.
void nameUnnamedNodes(Model& model) {
  std::set<std::string> taken;
  model.graph().forEachGraph([&](Graph& g) {
    for (Node* n : g.nodeList()) taken.insert(n->name());
  });
  int64_t counter = 0;
  model.graph().forEachGraph([&](Graph& g) {
    for (Node* n : g.nodeList()) {
      if (!n->name().empty()) continue;
      std::string name;
      do name = fmt::format("{}_{}", n->opType(), counter++);
      while (taken.count(name));
      taken.insert(name);
      n->setName(name);
    }
  });
}

// The float model's layers that the quantized model changed: same name, and in the
// quantized model either another op now produces the output or a DequantizeLinear
// feeds the node.
std::vector<const Node*> quantizedLayers(const Model& floatModel, const Model& quantized) {
  std::unordered_map<std::string, const Node*> producerOf;
  quantized.graph().forEachGraph([&](const Graph& g) {
    for (const Node* n : g.nodes())
      for (const Value* out : n->outputs())
        if (out) producerOf[out->name()] = n;
  });
  std::vector<const Node*> layers;
  floatModel.graph().forEachGraph([&](const Graph& g) {
    for (const Node* n : g.nodes()) {
      if (std::find(kLayerOps.begin(), kLayerOps.end(), n->opType()) == kLayerOps.end() || !n->output(0)) continue;
      auto it = producerOf.find(n->output(0)->name());
      if (it == producerOf.end()) continue;
      const Node* q = it->second;
      bool changed = q->opType() != n->opType();
      for (const Value* in : q->inputs())
        changed = changed || (in && in->producer() && in->producer()->opType() == "DequantizeLinear");
      if (changed && q->opType() != "DequantizeLinear") layers.push_back(n);
    }
  });
  return layers;
}

bool meets(double fidelity, const FidelityTarget& target) { return fidelity >= target.value; }

}  // namespace

std::string FidelityTarget::describe() const {
  return cosine ? fmt::format("cosine {}", value) : fmt::format("{} dB SNR", value);
}

Expected<FidelityTarget> parseFidelityTarget(const std::string& text) {
  FidelityTarget target;
  if (text.empty() || text == "off") return target;
  if (text == "auto") {  // resolved by the caller: kAutoFidelityDb when there is data
    target.value = kAutoFidelityDb;
    target.automatic = true;
    return target;
  }
  std::string number = text;
  const bool db = number.size() > 2 && (number.ends_with("dB") || number.ends_with("db"));
  if (db) number.resize(number.size() - 2);
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !std::isfinite(value))
    return usageError("min-fidelity '{}' is neither an SNR such as 30dB, a cosine such as 0.999, auto nor off", text);
  if (db) {
    if (value <= 0) return usageError("min-fidelity '{}': the SNR must be positive", text);
  } else if (value <= 0 || value > 1) {
    return usageError("min-fidelity '{}': a cosine is in (0, 1]; write an SNR with dB (30dB)", text);
  }
  target.cosine = !db;
  target.value = value;
  return target;
}

Expected<QuantizationResult> quantizeWithFallback(Model& model, const QuantizeOptions& options,
                                                  const FidelityTarget& target, Dataset& data, int64_t samples,
                                                  int threads, const QuantizeOnce& quantizeOnce,
                                                  QuantizationPlan& plan) {
  Model floatModel = model.clone();
  Measurer measurer(data, samples, threads);
  RETURN_IF_ERROR(measurer.runReference(floatModel));
  plan.target = target.describe();

  ASSIGN_OR_RETURN(QuantizationResult full, quantizeOnce(model, options));
  ASSIGN_OR_RETURN(const double fullFidelity, measurer.fidelity(model, target));
  plan.fidelityBefore = plan.fidelityAfter = fullFidelity;
  plan.tries = 1;
  plan.excludeNodes = options.excludeNodes;
  if (meets(fullFidelity, target)) {
    plan.met = true;
    full.bump("fallback: target met with every layer quantized");
    return full;
  }

  // Sensitivity: the outputs' SNR with each layer alone quantized (every other layer
  // float), on the first kSensitivitySamples samples. The harm a layer does downstream
  // counts (a quantized attention-mask Add is harmless at its own output and ruins
  // the Softmax after it), which the SNR a layer loses at its own output missed.
  nameUnnamedNodes(floatModel);
  const std::vector<const Node*> layers = quantizedLayers(floatModel, model);
  std::vector<std::string> names;
  for (const Node* n : layers) names.push_back(n->name());
  const FidelityTarget snr{false, kAutoFidelityDb, false};
  for (size_t i = 0; i < layers.size(); ++i) {
    std::vector<std::string> others = names;
    others.erase(others.begin() + static_cast<std::ptrdiff_t>(i));
    QuantizeOptions alone = options;
    alone.excludeNodes = excludePattern(options.excludeNodes, others);
    Model candidate = floatModel.clone();
    ASSIGN_OR_RETURN(QuantizationResult ignored, quantizeOnce(candidate, alone));
    (void)ignored;
    ASSIGN_OR_RETURN(const double aloneSnr, measurer.fidelity(candidate, snr, kSensitivitySamples));
    plan.layers.push_back({names[i], layers[i]->opType(), aloneSnr, false});
  }
  std::stable_sort(plan.layers.begin(), plan.layers.end(),
                   [](const LayerFallback& a, const LayerFallback& b) { return a.aloneSnrDb < b.aloneSnrDb; });

  // Search: the k worst layers float, k doubling, then bisection.
  auto attempt = [&](size_t k) -> Expected<std::pair<Model, std::pair<QuantizationResult, double>>> {
    std::vector<std::string> kept;
    for (size_t i = 0; i < k; ++i) kept.push_back(plan.layers[i].node);
    QuantizeOptions narrowed = options;
    narrowed.excludeNodes = excludePattern(options.excludeNodes, kept);
    Model candidate = floatModel.clone();
    ASSIGN_OR_RETURN(QuantizationResult r, quantizeOnce(candidate, narrowed));
    ASSIGN_OR_RETURN(const double f, measurer.fidelity(candidate, target));
    ++plan.tries;
    spdlog::info("quantize: {} layer(s) float: {} {}", k, target.cosine ? "cosine" : "SNR dB", f);
    return std::make_pair(std::move(candidate), std::make_pair(std::move(r), f));
  };
  const size_t n = plan.layers.size();
  std::optional<std::pair<Model, std::pair<QuantizationResult, double>>> best;
  size_t bestK = 0, low = 0;  // low: the largest k known to fail
  for (size_t k = 1; n > 0; k = std::min(n, k * 2)) {
    ASSIGN_OR_RETURN(auto tried, attempt(k));
    if (meets(tried.second.second, target)) {
      best = std::move(tried);
      bestK = k;
      break;
    }
    low = k;
    if (k == n) break;
  }
  while (best && bestK - low > 1) {
    const size_t mid = low + (bestK - low) / 2;
    ASSIGN_OR_RETURN(auto tried, attempt(mid));
    if (meets(tried.second.second, target)) {
      best = std::move(tried);
      bestK = mid;
    } else {
      low = mid;
    }
  }
  if (!best) {
    spdlog::warn("quantize: min-fidelity {} not reached even with all {} measured layers float; keeping the fully "
                 "quantized model ({})", target.describe(), n, fullFidelity);
    full.bump("fallback: target not met");
    return full;
  }
  std::vector<std::string> kept;
  for (size_t i = 0; i < bestK; ++i) {
    plan.layers[i].keptFloat = true;
    kept.push_back(plan.layers[i].node);
  }
  plan.met = true;
  plan.fidelityAfter = best->second.second;
  plan.excludeNodes = excludePattern(options.excludeNodes, kept);
  model = std::move(best->first);
  QuantizationResult result = std::move(best->second.first);
  result.bump("fallback: layers kept float", static_cast<int64_t>(bestK));
  result.bump("fallback: quantize-and-measure tries", plan.tries);
  spdlog::info("quantize: {} layer(s) kept float for {}: {} -> {}; replay with exclude-nodes={}", bestK,
               target.describe(), fullFidelity, plan.fidelityAfter, plan.excludeNodes);
  return result;
}

}  // namespace onnxpress::quant
