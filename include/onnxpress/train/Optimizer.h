// Optimizers and learning-rate schedules, updating float weights in place.
//
//   sgd     v = μv + g;  w -= lr·(nesterov ? g + μv : v)        (g includes λw)
//   adam    m = β1 m + (1−β1) g, v = β2 v + (1−β2) g², w -= lr·m̂/(√v̂ + ε)   (g includes λw)
//   adamw   adam without λw in g, and w -= lr·λ·w (decoupled decay)
//
// Schedules: linear warm-up from 0 over `warmupSteps`, then constant, cosine (to 0 at
// `totalSteps`) or step (×gamma every `stepSize` steps). Gradient clipping scales all
// gradients together so their global L2 norm is at most `clipNorm`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "onnxpress/support/Status.h"

namespace onnxpress::train {

struct OptimizerOptions {
  std::string kind = "adam";  // sgd, adam, adamw
  double learningRate = 1e-3;
  double momentum = 0.9;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double weightDecay = 0;
  double clipNorm = 0;  // 0: no clipping
  std::string schedule = "cosine";  // constant, cosine, step
  int64_t warmupSteps = 0, totalSteps = 1, stepSize = 1;
  double gamma = 0.1;
};

class Optimizer {
 public:
  static Expected<Optimizer> create(const OptimizerOptions& options);
  /// The learning rate at step `step` (0-based).
  double learningRate(int64_t step) const;
  /// One update of every parameter; `gradients[i]` belongs to `parameters[i]` (same size).
  /// `rates[i]` (optional) multiplies the learning rate of parameter i.
  /// Returns the gradients' global norm before clipping.
  double step(const std::vector<std::span<float>>& parameters, const std::vector<std::span<const float>>& gradients,
              const std::vector<double>& rates = {});
  int64_t steps() const { return step_; }

 private:
  OptimizerOptions options_;
  int64_t step_ = 0;
  std::vector<std::vector<float>> first_, second_;  // momentum / Adam moments per parameter
};

}  // namespace onnxpress::train
