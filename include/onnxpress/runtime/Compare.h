// Element-wise comparison of two tensors, numpy.allclose style:
// |actual - expected| <= atol + rtol * |expected|, NaN matching NaN.
#pragma once

#include <string>

#include "onnxpress/runtime/TensorData.h"

namespace onnxpress::runtime {

struct CompareResult {
  bool match = false;
  std::string reason;  // why not, for a report
  double maxAbsError = 0;
};

CompareResult allClose(const TensorData& actual, const TensorData& expected, double rtol, double atol);

}  // namespace onnxpress::runtime
