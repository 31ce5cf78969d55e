// ErrorStats: how far a candidate tensor is from a reference tensor, pooled over
// every element of every sample added. It extends Fidelity (max abs, mean abs,
// cosine, SNR; see Fidelity.h for the formulas) with
//   mse      = mean (b - a)^2
//   allclose = every pair passed numpy.allclose with the reference as expected:
//              |b - a| <= atol + rtol |a|, NaN matching NaN (runtime/Compare.h).
// Used by `eval --reference` and `compare`, per output and per intermediate tensor.
#pragma once

#include <cstdint>
#include <string>

#include "onnxpress/analysis/Fidelity.h"
#include "onnxpress/runtime/TensorData.h"

namespace onnxpress {

struct ErrorStats {
  Fidelity fidelity;
  double mse = 0;
  int64_t elements = 0;
  bool allClose = true;
  std::string firstMismatch;  // why the first failing pair failed allclose ("" when all passed)
};

class ErrorAccumulator {
 public:
  ErrorAccumulator(double atol, double rtol) : atol_(atol), rtol_(rtol) {}
  /// Adds one pair; shape or dtype differences are errors (the caller names the tensor).
  Status add(const runtime::TensorData& reference, const runtime::TensorData& candidate);
  void countSample() { fidelity_.countSample(); }
  ErrorStats result() const;

 private:
  double atol_, rtol_;
  FidelityAccumulator fidelity_;
  double errSq_ = 0;
  int64_t elements_ = 0;
  bool allClose_ = true;
  std::string firstMismatch_;
};

}  // namespace onnxpress
