// QuantizedTensorInfo: what a quantization pass did to one tensor, for the report
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

/// What a quantization step returns: the generic result plus one record per tensor
/// it quantized (QuantizePass::run emits them into the context's sink).
struct QuantizationResult : PassResult {
  std::vector<QuantizedTensorInfo> quantized;
};

}  // namespace onnxpress
