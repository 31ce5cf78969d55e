// Accuracy-aware quantization: the layers that cost the most stay float until a
// fidelity target holds (quantize's `min-fidelity` option).
//
// Before (target 30 dB):                     After:
//   quantized model, outputs at 21.4 dB        the 3 worst layers float, 31.2 dB,
//   vs float on the calibration samples        every other layer int8
//
// Preconditions: DATA whose samples feed the model (the calibration data); a mode
// that quantizes layers (static or dynamic).
//
// Math. The samples are `samples` of the data spread evenly over it (calibration sets
// are often sorted by class). Fidelity of a model is its worst output: SNR = 10 log10(sum x^2 / sum (x - q)^2)
// over every element of every sample, or the mean per-sample cosine of the flattened
// output; integer outputs (indices, labels) count as the fraction of equal elements,
// which must reach the cosine target, or 1 - 10^(-dB/10) for an SNR target.
// Sensitivity of a layer is the outputs' SNR when it alone is quantized (every other
// layer float), on the first 4 samples: one quantize-and-run per layer. It counts the
// harm a layer does downstream (a quantized attention-mask Add is exact at its own
// output and ruins the Softmax after it; MiniLM fell to -1 dB that way). Search: the k
// worst layers stay float for k = 1, 2, 4, ... until the target holds, then a bisection
// finds the least k in (k/2, k]. Each try quantizes again (static mode reuses the first
// calibration) and runs the model over the samples: 2 log2(layers) tries at most.
//
// The plan is replayable: the kept layers become `exclude-nodes=^(a|b|...)$` (joined to
// the user's own pattern), written in the record and the statistics. Unnamed nodes
// get names first (op type and a counter), so that the plan can name them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/PassRecord.h"
#include "onnxpress/passes/quantization/Quantize.h"
#include "onnxpress/passes/quantization/QuantizationRecord.h"

namespace onnxpress::quant {

/// min-fidelity=auto: this SNR in static mode (dynamic mode: no target).
inline constexpr double kAutoFidelityDb = 30.0;

struct FidelityTarget {
  bool cosine = false;  // else SNR in dB
  double value = 0;     // 0: no target
  bool automatic = false;  // from min-fidelity=auto: static mode only
  bool active() const { return value > 0; }
  std::string describe() const;
};
/// "30dB" (SNR), a cosine in (0, 1] such as "0.999", "auto" or "off" (or "": no target).
Expected<FidelityTarget> parseFidelityTarget(const std::string& text);

using QuantizeOnce = std::function<Expected<QuantizationResult>(Model& model, const QuantizeOptions& options)>;

/// Quantizes `model` with `quantizeOnce`, then keeps layers float until `target` holds
/// on `samples` samples of `data` spread evenly over it (0: all). The plan goes into `plan`.
Expected<QuantizationResult> quantizeWithFallback(Model& model, const QuantizeOptions& options,
                                                  const FidelityTarget& target, Dataset& data, int64_t samples,
                                                  int threads, const QuantizeOnce& quantizeOnce,
                                                  QuantizationPlan& plan);

}  // namespace onnxpress::quant
