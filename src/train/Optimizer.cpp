#include "onnxpress/train/Optimizer.h"

#include <cmath>

namespace onnxpress::train {

Expected<Optimizer> Optimizer::create(const OptimizerOptions& options) {
  if (options.kind != "sgd" && options.kind != "adam" && options.kind != "adamw")
    return usageError("optimizer '{}': use sgd, adam or adamw", options.kind);
  if (options.schedule != "constant" && options.schedule != "cosine" && options.schedule != "step")
    return usageError("schedule '{}': use constant, cosine or step", options.schedule);
  if (!(options.learningRate > 0)) return usageError("learning rate must be positive, got {}", options.learningRate);
  if (options.weightDecay < 0 || options.clipNorm < 0 || options.momentum < 0)
    return usageError("weight decay, clip norm and momentum must not be negative");
  if (options.schedule == "step" && options.stepSize < 1) return usageError("step schedule: step size must be at least 1");
  Optimizer o;
  o.options_ = options;
  return o;
}

double Optimizer::learningRate(int64_t step) const {
  const OptimizerOptions& o = options_;
  if (step < o.warmupSteps) return o.learningRate * static_cast<double>(step + 1) / static_cast<double>(o.warmupSteps);
  if (o.schedule == "cosine") {
    const double span = static_cast<double>(std::max<int64_t>(1, o.totalSteps - o.warmupSteps));
    const double progress = std::min(1.0, static_cast<double>(step - o.warmupSteps) / span);
    return o.learningRate * 0.5 * (1 + std::cos(M_PI * progress));
  }
  if (o.schedule == "step") return o.learningRate * std::pow(o.gamma, static_cast<double>((step - o.warmupSteps) / o.stepSize));
  return o.learningRate;
}

double Optimizer::step(const std::vector<std::span<float>>& parameters,
                       const std::vector<std::span<const float>>& gradients, const std::vector<double>& rates) {
  const OptimizerOptions& o = options_;
  if (first_.empty()) {
    for (const auto& p : parameters) {
      first_.emplace_back(p.size(), 0.f);
      if (o.kind != "sgd") second_.emplace_back(p.size(), 0.f);
    }
  }
  double norm2 = 0;
  for (const auto& g : gradients)
    for (float v : g) norm2 += static_cast<double>(v) * v;
  const double norm = std::sqrt(norm2);
  const double clip = o.clipNorm > 0 && norm > o.clipNorm ? o.clipNorm / norm : 1.0;
  const double baseRate = learningRate(step_);
  ++step_;
  const double correction1 = 1 - std::pow(o.beta1, static_cast<double>(step_));
  const double correction2 = 1 - std::pow(o.beta2, static_cast<double>(step_));
  for (size_t k = 0; k < parameters.size(); ++k) {
    const double lr = baseRate * (rates.empty() ? 1.0 : rates[k]);
    float* w = parameters[k].data();
    const float* g = gradients[k].data();
    float* m = first_[k].data();
    const size_t n = parameters[k].size();
    if (o.kind == "sgd") {
      for (size_t i = 0; i < n; ++i) {
        const double grad = g[i] * clip + o.weightDecay * w[i];
        m[i] = static_cast<float>(o.momentum * m[i] + grad);
        w[i] -= static_cast<float>(lr * (o.nesterov ? grad + o.momentum * m[i] : m[i]));
      }
      continue;
    }
    float* v = second_[k].data();
    const bool decoupled = o.kind == "adamw";
    for (size_t i = 0; i < n; ++i) {
      double grad = g[i] * clip;
      if (!decoupled) grad += o.weightDecay * w[i];
      m[i] = static_cast<float>(o.beta1 * m[i] + (1 - o.beta1) * grad);
      v[i] = static_cast<float>(o.beta2 * v[i] + (1 - o.beta2) * grad * grad);
      double update = (m[i] / correction1) / (std::sqrt(v[i] / correction2) + o.epsilon);
      if (decoupled) update += o.weightDecay * w[i];
      w[i] -= static_cast<float>(lr * update);
    }
  }
  return norm;
}

}  // namespace onnxpress::train
