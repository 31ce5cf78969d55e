#include "onnxpress/analysis/ErrorStats.h"

#include "onnxpress/runtime/Compare.h"

namespace onnxpress {

Status ErrorAccumulator::add(const runtime::TensorData& reference, const runtime::TensorData& candidate) {
  if (reference.dtype() != candidate.dtype())
    return invalidInput("dtype {} vs {}", dataTypeName(reference.dtype()), dataTypeName(candidate.dtype()));
  if (reference.shape() != candidate.shape())
    return invalidInput("shape {} vs {}", runtime::shapeToString(reference.shape()),
                        runtime::shapeToString(candidate.shape()));
  RETURN_IF_ERROR(fidelity_.add(reference, candidate));
  const runtime::CompareResult close = runtime::allClose(candidate, reference, rtol_, atol_);
  if (!close.match && allClose_) {
    allClose_ = false;
    firstMismatch_ = close.reason;
  }
  if (reference.dtype() == DataType::String) return Status::ok();
  for (int64_t i = 0; i < reference.numElements(); ++i) {
    const double d = candidate.doubleAt(i) - reference.doubleAt(i);
    errSq_ += d * d;
  }
  elements_ += reference.numElements();
  return Status::ok();
}

ErrorStats ErrorAccumulator::result() const {
  ErrorStats s;
  s.fidelity = fidelity_.result();
  s.mse = elements_ ? errSq_ / static_cast<double>(elements_) : 0;
  s.elements = elements_;
  s.allClose = allClose_;
  s.firstMismatch = firstMismatch_;
  return s;
}

}  // namespace onnxpress
