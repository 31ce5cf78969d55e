#include "onnxpress/train/Trainer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <unordered_set>

#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/runtime/Executor.h"
#include "onnxpress/support/Progress.h"
#include "onnxpress/train/Backprop.h"
#include "onnxpress/train/Loss.h"

namespace onnxpress::train {
namespace {

using runtime::Executor;
using runtime::ExecutorOptions;

// About 1500 optimizer steps, at least 3 and at most 50 epochs.
int64_t defaultEpochs(int64_t stepsPerEpoch) {
  return std::clamp<int64_t>((1500 + stepsPerEpoch - 1) / std::max<int64_t>(1, stepsPerEpoch), 3, 50);
}

// Float Constant nodes of the main graph become initializers, so that they train.
void constantsToInitializers(Graph& graph) {
  std::vector<Node*> constants;
  for (Node* node : graph.nodes())
    if (node->opType() == "Constant" && isDefaultDomain(*node) && node->output(0) && !node->output(0)->isGraphOutput())
      if (const Tensor* t = constantTensor(node->output(0)); t && t->dtype() == DataType::Float && t->numElements() >= 2)
        constants.push_back(node);
  for (Node* node : constants) {
    Value* out = node->output(0);
    Tensor t = constantTensor(out)->clone();
    t.setName(graph.uniqueName(out->name() + "_trained"));
    Value* init = graph.addInitializer(std::move(t));
    graph.replaceAllUsesWith(out, init);
    graph.destroyNode(node);
  }
}

struct Parameter {
  Value* value;
  std::span<float> data;
  std::vector<uint8_t> mask;  // 1 where the weight may change; empty: everywhere
  bool positive = false;      // a quantization scale: kept above 0
  double rate = 1;            // learning-rate multiplier (a scale's: its mean size, so steps are relative)
};

// All samples of DATA in memory, per input, plus labels.
struct Samples {
  std::vector<std::string> names;
  std::vector<std::vector<TensorData>> byInput;  // [input][sample]
  std::vector<int64_t> labels;
  int64_t size = 0;
};

Expected<Samples> loadSamples(Dataset& data, const Graph& graph) {
  Samples s;
  s.size = data.size();
  for (const auto& [name, spec] : data.arrays()) {
    s.names.push_back(name);
    std::vector<TensorData> column;
    column.reserve(static_cast<size_t>(s.size));
    for (int64_t i = 0; i < s.size; ++i) {
      ASSIGN_OR_RETURN(Tensor t, data.sample(name, i));
      column.push_back(TensorData::copyOf(t));
    }
    s.byInput.push_back(std::move(column));
  }
  if (data.hasLabels())
    for (int64_t i = 0; i < s.size; ++i) {
      ASSIGN_OR_RETURN(int64_t label, data.label(i));
      s.labels.push_back(label);
    }
  return s;
}

// Samples stack along axis 0 when each has a leading dim of 1 that the graph leaves symbolic.
bool canStack(const Samples& s, const Graph& graph) {
  for (size_t k = 0; k < s.names.size(); ++k) {
    const Value* input = graph.findValue(s.names[k]);
    if (!input || !input->type().hasShape || input->type().dims.empty() || input->type().dims[0].isFixed()) return false;
    if (s.byInput[k].empty() || s.byInput[k][0].rank() == 0 || s.byInput[k][0].dim(0) != 1) return false;
  }
  return true;
}

std::map<std::string, TensorData> stackBatch(const Samples& s, const std::vector<int64_t>& indices) {
  std::map<std::string, TensorData> feed;
  for (size_t k = 0; k < s.names.size(); ++k) {
    const TensorData& first = s.byInput[k][static_cast<size_t>(indices[0])];
    runtime::Shape shape = first.shape();
    shape[0] = static_cast<int64_t>(indices.size());
    TensorData batch = TensorData::allocate(first.dtype(), shape);
    const size_t bytes = first.byteSize();
    for (size_t b = 0; b < indices.size(); ++b)
      std::memcpy(static_cast<char*>(batch.raw()) + b * bytes, s.byInput[k][static_cast<size_t>(indices[b])].raw(), bytes);
    feed[s.names[k]] = std::move(batch);
  }
  return feed;
}

// The loss of one forward pass and its gradients with respect to the student's outputs.
struct LossPlan {
  std::vector<std::string> kinds;  // per output: kl, mse, cosine, or "" (not compared)
  double temperature = 4, teacherWeight = 1, labelWeight = 0;
};

Expected<double> computeLoss(const LossPlan& plan, const std::vector<TensorData>& student,
                             const std::vector<TensorData>* teacher, const std::vector<int64_t>* labels,
                             std::vector<TensorData>& grads) {
  grads.assign(student.size(), TensorData());
  double loss = 0;
  if (teacher)
    for (size_t k = 0; k < student.size(); ++k) {
      const std::string& kind = plan.kinds[k];
      if (kind.empty()) continue;
      if (student[k].shape() != (*teacher)[k].shape())
        return invalidInput("output {}: the student's shape {} differs from the teacher's {}", k,
                            runtime::shapeToString(student[k].shape()), runtime::shapeToString((*teacher)[k].shape()));
      if (kind == "kl") loss += klDivergenceLoss(student[k], (*teacher)[k], plan.temperature, plan.teacherWeight, grads[k]);
      else if (kind == "mse") loss += meanSquaredLoss(student[k], (*teacher)[k], plan.teacherWeight, grads[k]);
      else loss += cosineLoss(student[k], (*teacher)[k], plan.teacherWeight, grads[k]);
    }
  if (labels && plan.labelWeight > 0) {
    const int64_t classes = student[0].dim(-1);
    for (int64_t y : *labels)
      if (y < 0 || y >= classes) return invalidInput("label {} is outside the {} classes of the first output", y, classes);
    if (student[0].numElements() / classes != static_cast<int64_t>(labels->size()))
      return invalidInput("labels: the first output {} does not have one row per sample",
                          runtime::shapeToString(student[0].shape()));
    loss += crossEntropyLoss(student[0], *labels, plan.labelWeight, grads[0]);
  }
  return loss;
}

Expected<LossPlan> planLoss(const Graph& student, const Model* teacher, bool hasLabels, const TrainOptions& options) {
  LossPlan plan;
  plan.temperature = options.temperature;
  plan.labelWeight = options.labelWeight >= 0 ? options.labelWeight : !hasLabels ? 0 : teacher ? 0.5 : 1;
  plan.teacherWeight = teacher ? (hasLabels && options.labelWeight < 0 ? 0.5 : 1) : 0;
  if (!teacher && !hasLabels) return usageError("training without a teacher needs `labels` in the training data");
  if (plan.labelWeight > 0 && !hasLabels) return usageError("a label weight was given but the training data has no `labels`");
  const std::string& kind = options.loss;
  if (kind != "auto" && kind != "kl" && kind != "mse" && kind != "cosine")
    return usageError("loss '{}': use auto, kl, mse or cosine", kind);
  if (teacher && teacher->graph().outputs().size() != student.outputs().size())
    return invalidInput("the teacher has {} outputs and the student {}; they must have the same interface",
                        teacher->graph().outputs().size(), student.outputs().size());
  for (const Value* out : student.outputs()) {
    const Type& type = out->type();
    const bool isFloat = type.isTensor() && type.elemType == DataType::Float;
    if (!teacher || !isFloat) {
      plan.kinds.push_back("");
      continue;
    }
    const bool logits = type.hasShape && type.dims.size() == 2 && !(type.dims[1].isFixed() && type.dims[1].value <= 1);
    plan.kinds.push_back(kind == "auto" ? (logits ? "kl" : "mse") : kind);
  }
  return plan;
}

bool allFinite(const std::vector<std::span<const float>>& gradients) {
  for (const auto& g : gradients)
    for (float v : g)
      if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace

Expected<TrainingSummary> trainModel(Model& student, const Model* teacher, Dataset& data, const TrainOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.batchSize < 1) return usageError("batch size must be at least 1");
  if (options.validationFraction < 0 || options.validationFraction >= 1)
    return usageError("validation fraction must be in [0, 1)");
  Graph& graph = student.graph();
  RETURN_IF_ERROR(data.validateFor(graph));
  constantsToInitializers(graph);

  // The weights to train, made writable before the executor views them.
  const std::unordered_set<std::string> frozen(options.freeze.begin(), options.freeze.end());
  std::vector<const Value*> candidates;
  std::unordered_set<const Value*> quantScales;
  for (Value* v : graph.initializers()) {
    if (v->initializer()->dtype() != DataType::Float || frozen.count(v->name()) || v->isGraphInput()) continue;
    const bool scale = std::any_of(v->uses().begin(), v->uses().end(), [](const Use& use) {
      const std::string& op = use.node->opType();
      return use.index == 1 && isDefaultDomain(*use.node) && (op == "QuantizeLinear" || op == "DequantizeLinear");
    });
    if (scale) quantScales.insert(v);
    if (scale || v->initializer()->numElements() >= 2) candidates.push_back(v);
  }
  std::vector<const Value*> lossInputs(graph.outputs().begin(), graph.outputs().end());
  ASSIGN_OR_RETURN(Backprop backprop, Backprop::create(graph, student.opsetImports, candidates, lossInputs));

  TrainingSummary summary;
  std::vector<Parameter> params;
  for (const Value* c : candidates) {
    Value* v = const_cast<Value*>(c);
    Parameter p{v, v->initializer()->mutableData<float>(), {}, quantScales.count(v) > 0};
    if (p.positive) {
      double size = 0;
      for (float s : p.data) size += std::abs(s);
      p.rate = std::max(1e-12, size / static_cast<double>(std::max<size_t>(1, p.data.size())));
    }
    if (options.keepSparsity) {
      const auto zeros = std::count(p.data.begin(), p.data.end(), 0.f);
      if (static_cast<double>(zeros) >= options.sparseFraction * static_cast<double>(p.data.size())) {
        p.mask.resize(p.data.size());
        for (size_t i = 0; i < p.data.size(); ++i) p.mask[i] = p.data[i] != 0.f;
        ++summary.maskedTensors;
      }
    }
    params.push_back(std::move(p));
  }

  ExecutorOptions studentOptions;
  studentOptions.threads = options.threads;
  studentOptions.keepIntermediates = true;
  const std::unordered_set<const Value*> readByBackward = backprop.forwardValuesRead();
  studentOptions.keepOnly = &readByBackward;  // the rest dies at its last forward use
  studentOptions.precomputeDequantization = false;  // scales train
  ASSIGN_OR_RETURN(std::unique_ptr<Executor> studentRun, Executor::create(student, studentOptions));
  std::unique_ptr<Executor> teacherRun;
  if (teacher) {
    ASSIGN_OR_RETURN(teacherRun, Executor::create(*teacher, ExecutorOptions{.threads = options.threads}));
  }
  const int threads = studentRun->threads();

  ASSIGN_OR_RETURN(Samples samples, loadSamples(data, graph));
  ASSIGN_OR_RETURN(LossPlan lossPlan, planLoss(graph, teacher, !samples.labels.empty(), options));
  if (samples.size < 2) return invalidInput("{}: training needs at least 2 samples, got {}", data.path(), samples.size);
  std::vector<int64_t> order(static_cast<size_t>(samples.size));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(options.seed);
  std::shuffle(order.begin(), order.end(), rng);
  const int64_t validation =
      samples.size >= 20 ? static_cast<int64_t>(std::floor(static_cast<double>(samples.size) * options.validationFraction)) : 0;
  std::vector<int64_t> heldOut(order.end() - validation, order.end());
  order.resize(order.size() - static_cast<size_t>(validation));
  summary.trainSamples = static_cast<int64_t>(order.size());
  summary.validationSamples = validation;

  const bool stack = canStack(samples, graph);
  const int64_t batch = std::min<int64_t>(options.batchSize, summary.trainSamples);
  summary.batchSize = batch;
  const int64_t stepsPerEpoch = (summary.trainSamples + batch - 1) / batch;
  const int64_t epochs = options.steps > 0 ? (options.steps + stepsPerEpoch - 1) / stepsPerEpoch
                                           : options.epochs > 0 ? options.epochs : defaultEpochs(stepsPerEpoch);
  const int64_t totalSteps = options.steps > 0 ? options.steps : epochs * stepsPerEpoch;
  OptimizerOptions optimizerOptions = options.optimizer;
  optimizerOptions.totalSteps = totalSteps;
  optimizerOptions.warmupSteps = static_cast<int64_t>(std::round(options.warmupFraction * static_cast<double>(totalSteps)));
  if (optimizerOptions.schedule == "step" && optimizerOptions.stepSize <= 1)  // x gamma every third of the steps
    optimizerOptions.stepSize = std::max<int64_t>(1, (totalSteps - optimizerOptions.warmupSteps) / 3);
  ASSIGN_OR_RETURN(Optimizer optimizer, Optimizer::create(optimizerOptions));
  summary.learningRate = optimizerOptions.learningRate;
  for (const Parameter& p : params) {
    ++summary.trainedTensors;
    summary.trainedParameters += static_cast<int64_t>(p.data.size());
  }
  spdlog::info("{}: {} weight tensors ({} parameters), {} training and {} held-out samples, batch {}{}, {} epochs, {} steps",
               options.progressLabel, summary.trainedTensors, summary.trainedParameters, summary.trainSamples, validation,
               batch, stack ? "" : " (one sample per forward pass: the model's batch dim is fixed)", epochs, totalSteps);

  // Loss and, when `learn`, accumulated weight gradients over the samples of `indices`.
  std::vector<std::vector<float>> gradSums(params.size());
  auto pass = [&](const std::vector<int64_t>& indices, bool learn) -> Expected<double> {
    std::vector<std::vector<int64_t>> groups;
    if (stack) groups.push_back(indices);
    else
      for (int64_t i : indices) groups.push_back({i});
    double loss = 0;
    for (const auto& group : groups) {
      std::map<std::string, TensorData> feed = stackBatch(samples, group);
      ASSIGN_OR_RETURN(std::vector<TensorData> outputs, studentRun->run(feed));
      std::vector<TensorData> teacherOutputs;
      if (teacherRun) {
        ASSIGN_OR_RETURN(teacherOutputs, teacherRun->run(feed));
      }
      std::vector<int64_t> labels;
      for (int64_t i : group)
        if (!samples.labels.empty()) labels.push_back(samples.labels[static_cast<size_t>(i)]);
      std::vector<TensorData> outputGrads;
      ASSIGN_OR_RETURN(double groupLoss, computeLoss(lossPlan, outputs, teacherRun ? &teacherOutputs : nullptr,
                                                     labels.empty() ? nullptr : &labels, outputGrads));
      const double share = static_cast<double>(group.size()) / static_cast<double>(indices.size());
      loss += groupLoss * share;
      if (!learn) continue;
      std::unordered_map<const Value*, TensorData> seeds;
      for (size_t k = 0; k < outputGrads.size(); ++k)
        if (!outputGrads[k].empty()) {
          if (share != 1.0)
            for (float& g : outputGrads[k].mutableSpan<float>()) g *= static_cast<float>(share);
          seeds[graph.outputs()[k]] = std::move(outputGrads[k]);
        }
      ASSIGN_OR_RETURN(auto grads, backprop.run(studentRun->intermediates(), seeds, threads));
      for (size_t p = 0; p < params.size(); ++p) {
        auto it = grads.find(params[p].value);
        if (it == grads.end()) continue;
        std::vector<float>& sum = gradSums[p];
        if (sum.empty()) sum.assign(params[p].data.size(), 0.f);
        const float* g = it->second.data<float>();
        for (size_t i = 0; i < sum.size(); ++i) sum[i] += g[i];
      }
    }
    return loss;
  };
  auto validationLoss = [&]() -> Expected<double> {
    double total = 0;
    for (int64_t first = 0; first < validation; first += batch) {
      const std::vector<int64_t> indices(heldOut.begin() + first, heldOut.begin() + std::min(validation, first + batch));
      ASSIGN_OR_RETURN(double loss, pass(indices, false));
      total += loss * static_cast<double>(indices.size());
    }
    return total / static_cast<double>(std::max<int64_t>(1, validation));
  };

  std::vector<std::vector<float>> best;
  double bestLoss = INFINITY;
  if (validation > 0) {
    ASSIGN_OR_RETURN(summary.initialValidationLoss, validationLoss());
    bestLoss = summary.initialValidationLoss;
    for (const Parameter& p : params) best.emplace_back(p.data.begin(), p.data.end());
  }
  int64_t sinceBest = 0;
  Progress progress(options.progressLabel, totalSteps);
  for (int64_t epoch = 1; epoch <= epochs && summary.steps < totalSteps; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (int64_t first = 0; first < summary.trainSamples && summary.steps < totalSteps; first += batch) {
      const std::vector<int64_t> indices(order.begin() + first, order.begin() + std::min(summary.trainSamples, first + batch));
      for (auto& sum : gradSums) std::fill(sum.begin(), sum.end(), 0.f);
      ASSIGN_OR_RETURN(double loss, pass(indices, true));
      if (!std::isfinite(loss))
        return invalidInput("{}: the loss is {} at step {} (epoch {}); nothing was written", options.progressLabel, loss,
                            summary.steps + 1, epoch);
      std::vector<std::span<float>> weights;
      std::vector<std::span<const float>> gradients;
      std::vector<double> rates;
      for (size_t p = 0; p < params.size(); ++p) {
        if (gradSums[p].empty()) continue;
        weights.push_back(params[p].data);
        gradients.emplace_back(gradSums[p]);
        rates.push_back(params[p].rate);
      }
      if (!allFinite(gradients))
        return invalidInput("{}: a gradient is not finite at step {} (epoch {}); nothing was written", options.progressLabel,
                            summary.steps + 1, epoch);
      optimizer.step(weights, gradients, rates);
      for (const Parameter& p : params) {
        if (!p.mask.empty())
          for (size_t i = 0; i < p.mask.size(); ++i)
            if (!p.mask[i]) p.data[i] = 0.f;
        if (p.positive)
          for (float& s : p.data) s = std::max(s, 1e-12f);
      }
      summary.stepLoss.push_back(loss);
      summary.samplesSeen += static_cast<int64_t>(indices.size());
      ++summary.steps;
      progress.tick();
    }
    summary.epochs = epoch;
    if (validation == 0) continue;
    ASSIGN_OR_RETURN(double loss, validationLoss());
    summary.validationLoss.push_back(loss);
    if (loss < bestLoss) {
      bestLoss = loss;
      summary.bestEpoch = epoch;
      sinceBest = 0;
      best.clear();
      for (const Parameter& p : params) best.emplace_back(p.data.begin(), p.data.end());
    } else if (options.patience > 0 && ++sinceBest >= options.patience) {
      summary.stopReason = fmt::format("early stop: no better held-out loss for {} epochs", options.patience);
      break;
    }
  }
  progress.finish();
  if (validation > 0 && summary.bestEpoch != summary.epochs) {
    // Restore the best weights (the initial ones when no epoch improved on them).
    if (summary.bestEpoch == 0) {
      summary.stopReason += (summary.stopReason.empty() ? "" : "; ") + std::string("no epoch beat the initial weights: kept them");
      spdlog::warn("{}: no epoch improved the held-out loss ({:.4g}); the weights are unchanged", options.progressLabel,
                   summary.initialValidationLoss);
    }
    for (size_t p = 0; p < params.size(); ++p) std::copy(best[p].begin(), best[p].end(), params[p].data.begin());
  }
  if (summary.stopReason.empty()) summary.stopReason = "all epochs run";
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace onnxpress::train
