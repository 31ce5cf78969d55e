// Evaluate: how good a model is on DATA, by one of two yardsticks.
//
// Accuracy (metrics top1, top5; DATA needs `labels`). Output 0 of each sample
// holds the logits of one example: shape [C] or [1, ..., 1, C] (batch 1, since
// DATA has one label per sample). A sample is top-k correct when its label is
// among the k highest logits, ties going to the lower class index (the order of
// a stable descending sort, so top-1 is numpy's argmax). As in numpy's argmax, a
// NaN logit ranks above every number, and a sample whose label's logit is NaN is
// never correct. top-k = correct / samples; with C <= k every sample without a
// NaN at its label counts as top-k correct.
//
// Fidelity (metrics mse, cosine, snr; needs a reference model). MODEL and REF
// run on the same inputs and MODEL's outputs are measured against REF's (see
// ErrorStats.h and CompareModels.h), per output and pooled; the metric picks the
// headline figure, all are reported.
//
// An accuracy metric with a reference reports the accuracy of both models,
// measured on the same runs, plus the fidelity figures.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "onnxpress/analysis/CompareModels.h"
#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/Model.h"
#include "onnxpress/runtime/TensorData.h"

namespace onnxpress {

enum class Metric { Top1, Top5, Mse, Cosine, Snr };

/// "top1", "top5", "mse", "cosine", "snr".
const std::vector<std::string>& metricNames();
std::string metricName(Metric metric);
/// Usage error for a name not in metricNames().
Expected<Metric> parseMetric(const std::string& name);
bool isAccuracyMetric(Metric metric);

struct Accuracy {
  int64_t samples = 0, classes = 0;
  int64_t top1Correct = 0, top5Correct = 0;
  double top1() const { return samples ? static_cast<double>(top1Correct) / static_cast<double>(samples) : 0; }
  double top5() const { return samples ? static_cast<double>(top5Correct) / static_cast<double>(samples) : 0; }
};

/// Counts top-1 and top-5 hits, one sample at a time.
class AccuracyAccumulator {
 public:
  /// `logits` of one sample and its label; errors for a batch of several rows or
  /// a label outside [0, C) (the caller names the file and sample).
  Status add(const runtime::TensorData& logits, int64_t label);
  const Accuracy& result() const { return accuracy_; }

 private:
  Accuracy accuracy_;
};

struct EvalOptions {
  Metric metric = Metric::Top1;
  int64_t samples = 0;  // 0: every sample of DATA
  int threads = 0;
  std::string modelLabel = "MODEL", referenceLabel = "REF";  // names in error messages
  std::function<void()> onSample;                            // after each sample (progress)
};

struct EvalResult {
  Metric metric = Metric::Top1;
  int64_t samples = 0;
  double value = 0;                           // the metric's figure for MODEL
  std::optional<Accuracy> accuracy;           // accuracy metrics
  std::optional<Accuracy> referenceAccuracy;  // accuracy metrics with a reference
  std::optional<ModelComparison> fidelity;    // with a reference; A = REF, B = MODEL
};

/// Evaluates `model` on `data`, against `reference` when it is not null.
/// Usage errors: a fidelity metric without a reference. Invalid input: DATA that
/// does not fit, no labels for an accuracy metric, MODEL and REF with different interfaces.
Expected<EvalResult> evaluate(const Model& model, const Model* reference, Dataset& data, const EvalOptions& options);

}  // namespace onnxpress
