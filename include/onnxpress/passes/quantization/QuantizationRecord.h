// QuantizedTensorInfo: what a quantization pass did to one tensor, for the report
// (QuantizationPlan: which layers min-fidelity kept float, and why)
// (per tensor: type, scale and zero point; per layer: SQNR on calibration data).
// The quantize pass emits one per tensor through PassContext::records.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct QuantizedTensorInfo : PassRecord {
  static constexpr size_t kMaxListed = 64;  // scales/zero points listed per tensor; `count` has them all

  std::string tensor;     // the float tensor's name in the input model
  std::string role;       // "weight", "bias", "activation" or "embedding"
  std::string dtype;      // "int8", "uint8", "int4", "uint4", "int32", "float16", "bfloat16"
  int64_t axis = -1;      // per-channel / block axis; -1 for per-tensor
  int64_t blockSize = 0;  // > 0 for blockwise weights
  int64_t count = 0;      // number of scales (1 per-tensor, channels, or blocks)
  std::vector<float> scale;         // the first kMaxListed scales
  std::vector<int32_t> zeroPoint;   // the first kMaxListed zero points
  std::optional<float> rangeMin, rangeMax;  // calibrated range (activations)
  std::optional<double> sqnrDb;     // quantization error of this tensor (weights: exact; activations: on calibration data)
};

/// One layer the min-fidelity search measured: the output SNR when it alone is quantized.
struct LayerFallback {
  std::string node, op;
  double aloneSnrDb = 0;  // the outputs' SNR with only this layer quantized (capped at 100)
  bool keptFloat = false;
};

/// The mixed-precision plan of min-fidelity (see MixedPrecision.h), for the report.
struct QuantizationPlan : PassRecord {
  std::string target;                            // "30 dB SNR" or "cosine 0.999"
  double fidelityBefore = 0, fidelityAfter = 0;  // every layer quantized / the plan, in the target's unit
  bool met = false;
  int tries = 0;                         // quantize-and-measure runs
  std::vector<LayerFallback> layers;  // worst first
  std::string excludeNodes;              // the plan as the replayable exclude-nodes value
};

/// What a quantization step returns: the generic result plus one record per tensor
/// it quantized (QuantizePass::run emits them into the context's sink).
struct QuantizationResult : PassResult {
  std::vector<QuantizedTensorInfo> quantized;
};

}  // namespace onnxpress
