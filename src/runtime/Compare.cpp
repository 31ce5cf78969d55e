#include "onnxpress/runtime/Compare.h"

#include <fmt/format.h>

#include <cmath>

namespace onnxpress::runtime {

namespace {
bool isFloating(DataType t) {
  return t == DataType::Float || t == DataType::Double || t == DataType::Float16 || t == DataType::BFloat16;
}
}  // namespace

CompareResult allClose(const TensorData& actual, const TensorData& expected, double rtol, double atol) {
  CompareResult r;
  if (actual.dtype() != expected.dtype()) {
    r.reason = fmt::format("dtype {} != expected {}", dataTypeName(actual.dtype()), dataTypeName(expected.dtype()));
    return r;
  }
  if (actual.shape() != expected.shape()) {
    r.reason = fmt::format("shape {} != expected {}", shapeToString(actual.shape()), shapeToString(expected.shape()));
    return r;
  }
  const int64_t n = actual.numElements();
  if (actual.dtype() == DataType::String) {
    r.match = *actual.strings == *expected.strings;
    if (!r.match) r.reason = "strings differ";
    return r;
  }
  if (!isFloating(actual.dtype())) {
    const size_t bytes = actual.byteSize();
    r.match = bytes == 0 || std::memcmp(actual.raw(), expected.raw(), bytes) == 0;
    if (!r.match) {
      for (int64_t i = 0; i < n; ++i)
        if (actual.intAt(i) != expected.intAt(i)) {
          r.reason = fmt::format("element {}: {} != expected {}", i, actual.intAt(i), expected.intAt(i));
          break;
        }
    }
    return r;
  }
  r.match = true;
  for (int64_t i = 0; i < n; ++i) {
    const double a = actual.doubleAt(i), e = expected.doubleAt(i);
    if (std::isnan(a) || std::isnan(e)) {
      if (std::isnan(a) != std::isnan(e) && r.match) {
        r.match = false;
        r.reason = fmt::format("element {}: {} != expected {}", i, a, e);
      }
      continue;
    }
    if (std::isinf(a) || std::isinf(e)) {
      if (a != e && r.match) {
        r.match = false;
        r.reason = fmt::format("element {}: {} != expected {}", i, a, e);
      }
      continue;
    }
    const double err = std::abs(a - e);
    r.maxAbsError = std::max(r.maxAbsError, err);
    if (err > atol + rtol * std::abs(e) && r.match) {
      r.match = false;
      r.reason = fmt::format("element {}: {} != expected {} (abs error {:.3g})", i, a, e, err);
    }
  }
  return r;
}

}  // namespace onnxpress::runtime
