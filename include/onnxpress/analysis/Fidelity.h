// Fidelity: how closely a compressed model's outputs follow the original's on
// the same inputs. All figures are over every element of every output of every
// sample, pooled:
//   max_abs  = max |b - a|             mean_abs = mean |b - a|
//   cosine   = <a, b> / (|a| |b|)      snr_db   = 10 log10(sum a^2 / sum (b - a)^2)
// (SNR is +inf for identical outputs, reported as 999.)
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/Model.h"
#include "onnxpress/runtime/TensorData.h"

namespace onnxpress {

struct Fidelity {
  int64_t samples = 0;
  double maxAbs = 0, meanAbs = 0, cosine = 1, snrDb = 999;
};

/// Accumulates Fidelity over pairs of output tensors.
class FidelityAccumulator {
 public:
  /// Adds one output pair; tensors must have the same element count (non-float outputs compare as double).
  Status add(const runtime::TensorData& reference, const runtime::TensorData& candidate);
  void countSample() { ++samples_; }
  Fidelity result() const;

 private:
  int64_t samples_ = 0, elements_ = 0;
  double maxAbs_ = 0, sumAbs_ = 0, dot_ = 0, refSq_ = 0, candSq_ = 0, errSq_ = 0;
};

/// Reference outputs of a model on the first `samples` samples of `data`,
/// kept so that each later model (e.g. after every pass) is compared against them.
class FidelityProbe {
 public:
  static Expected<FidelityProbe> create(const Model& reference, Dataset& data, int64_t samples, int threads = 0);
  /// Runs `candidate` on the same samples and compares it with the reference.
  Expected<Fidelity> measure(const Model& candidate) const;
  int64_t samples() const { return static_cast<int64_t>(inputs_.size()); }

 private:
  std::vector<std::map<std::string, runtime::TensorData>> inputs_;
  std::vector<std::vector<runtime::TensorData>> reference_;
  int threads_ = 0;
};

}  // namespace onnxpress
