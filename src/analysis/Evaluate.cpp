#include "onnxpress/analysis/Evaluate.h"

#include <algorithm>
#include <cmath>

#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/runtime/Executor.h"

namespace onnxpress {
using runtime::TensorData;

const std::vector<std::string>& metricNames() {
  static const std::vector<std::string> names = {"top1", "top5", "mse", "cosine", "snr"};
  return names;
}

std::string metricName(Metric metric) { return metricNames()[static_cast<size_t>(metric)]; }

Expected<Metric> parseMetric(const std::string& name) {
  const auto& names = metricNames();
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) return usageError("unknown metric '{}' (metrics: top1, top5, mse, cosine, snr)", name);
  return static_cast<Metric>(it - names.begin());
}

bool isAccuracyMetric(Metric metric) { return metric == Metric::Top1 || metric == Metric::Top5; }

Status AccuracyAccumulator::add(const TensorData& logits, int64_t label) {
  if (logits.rank() == 0) return invalidInput("output 0 is a scalar, not logits");
  const int64_t classes = logits.dim(-1);
  if (classes == 0 || logits.numElements() != classes)
    return invalidInput("output 0 has shape {} per sample: accuracy needs the logits of one example, [C] or [1, C], "
                        "since DATA has one label per sample",
                        runtime::shapeToString(logits.shape()));
  if (label < 0 || label >= classes) return invalidInput("label {} is outside the model's {} classes", label, classes);
  // Rank of the label's logit in a stable descending sort of the logits.
  const double target = logits.doubleAt(label);
  int64_t rank = 0;
  for (int64_t c = 0; c < classes; ++c) {
    const double x = logits.doubleAt(c);
    if (std::isnan(x) || x > target || (x == target && c < label)) ++rank;
  }
  const bool ranked = !std::isnan(target);
  accuracy_.classes = classes;
  ++accuracy_.samples;
  accuracy_.top1Correct += ranked && rank < 1;
  accuracy_.top5Correct += ranked && rank < 5;
  return Status::ok();
}

namespace {

double fidelityFigure(Metric metric, const ErrorStats& stats) {
  switch (metric) {
    case Metric::Mse: return stats.mse;
    case Metric::Cosine: return stats.fidelity.cosine;
    default: return stats.fidelity.snrDb;
  }
}

// Adds one sample's output 0 to `acc`, naming the file and sample on error.
Status addSample(AccuracyAccumulator& acc, Dataset& data, int64_t sample, const TensorData& logits,
                 const std::string& label) {
  ASSIGN_OR_RETURN(int64_t truth, data.label(sample));
  Status s = acc.add(logits, truth);
  return s.withContext(fmt::format("{}: sample {} ({})", data.path(), sample, label));
}

}  // namespace

Expected<EvalResult> evaluate(const Model& model, const Model* reference, Dataset& data, const EvalOptions& options) {
  const bool accuracy = isAccuracyMetric(options.metric);
  if (!accuracy && !reference)
    return usageError("metric '{}' measures fidelity and needs --reference", metricName(options.metric));
  if (accuracy && !data.hasLabels())
    return invalidInput("{}: DATA has no 'labels' array; metric '{}' needs one (or use --reference with mse, cosine "
                        "or snr)",
                        data.path(), metricName(options.metric));
  if (model.graph().outputs().empty()) return invalidInput("{}: the model has no outputs", options.modelLabel);

  EvalResult result;
  result.metric = options.metric;
  AccuracyAccumulator modelAcc, referenceAcc;
  if (reference) {
    CompareOptions compare;
    compare.labelA = options.referenceLabel;
    compare.labelB = options.modelLabel;
    compare.samples = options.samples;
    compare.threads = options.threads;
    compare.onSample = options.onSample;
    if (accuracy)
      compare.onOutputs = [&](int64_t s, const std::vector<TensorData>& ref, const std::vector<TensorData>& out) {
        RETURN_IF_ERROR(addSample(referenceAcc, data, s, ref[0], options.referenceLabel));
        return addSample(modelAcc, data, s, out[0], options.modelLabel);
      };
    ASSIGN_OR_RETURN(ModelComparison comparison, compareModels(*reference, model, data, compare));
    result.samples = comparison.samples;
    result.fidelity = std::move(comparison);
    if (accuracy) result.referenceAccuracy = referenceAcc.result();
  } else {
    RETURN_IF_ERROR(data.validateFor(model.graph()));
    runtime::ExecutorOptions execOptions;
    execOptions.threads = options.threads;
    ASSIGN_OR_RETURN(auto exec, runtime::Executor::create(model, execOptions));
    result.samples = options.samples > 0 ? std::min(options.samples, data.size()) : data.size();
    for (int64_t s = 0; s < result.samples; ++s) {
      ASSIGN_OR_RETURN(InputFeed feed, datasetFeed(data, s));
      ASSIGN_OR_RETURN(auto outputs, exec->run(feed));
      RETURN_IF_ERROR(addSample(modelAcc, data, s, outputs[0], options.modelLabel));
      if (options.onSample) options.onSample();
    }
  }
  if (accuracy) {
    result.accuracy = modelAcc.result();
    result.value = options.metric == Metric::Top1 ? result.accuracy->top1() : result.accuracy->top5();
  } else {
    result.value = fidelityFigure(options.metric, result.fidelity->overall);
  }
  return result;
}

}  // namespace onnxpress
