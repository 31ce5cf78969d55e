#include "onnxpress/analysis/Fidelity.h"

#include <cmath>

#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/runtime/Executor.h"

namespace onnxpress {

Status FidelityAccumulator::add(const runtime::TensorData& reference, const runtime::TensorData& candidate) {
  if (reference.numElements() != candidate.numElements())
    return invalidInput("output sizes differ: {} vs {} elements", reference.numElements(), candidate.numElements());
  if (reference.dtype() == DataType::String) return Status::ok();
  for (int64_t i = 0; i < reference.numElements(); ++i) {
    const double a = reference.doubleAt(i), b = candidate.doubleAt(i);
    const double err = std::abs(b - a);
    maxAbs_ = std::max(maxAbs_, std::isnan(err) ? INFINITY : err);
    sumAbs_ += err;
    dot_ += a * b;
    refSq_ += a * a;
    candSq_ += b * b;
    errSq_ += (b - a) * (b - a);
  }
  elements_ += reference.numElements();
  return Status::ok();
}

Fidelity FidelityAccumulator::result() const {
  Fidelity f;
  f.samples = samples_;
  f.maxAbs = maxAbs_;
  f.meanAbs = elements_ ? sumAbs_ / static_cast<double>(elements_) : 0;
  const double norms = std::sqrt(refSq_) * std::sqrt(candSq_);
  f.cosine = norms > 0 ? dot_ / norms : (refSq_ == candSq_ ? 1.0 : 0.0);
  f.snrDb = errSq_ > 0 ? std::min(999.0, 10 * std::log10(refSq_ / errSq_)) : 999.0;
  if (std::isnan(f.cosine) || std::isnan(f.snrDb)) f.cosine = 0, f.snrDb = -999;
  return f;
}

Expected<FidelityProbe> FidelityProbe::create(const Model& reference, Dataset& data, int64_t samples, int threads) {
  RETURN_IF_ERROR(data.validateFor(reference.graph()));
  FidelityProbe probe;
  probe.threads_ = threads;
  runtime::ExecutorOptions options;
  options.threads = threads;
  ASSIGN_OR_RETURN(auto exec, runtime::Executor::create(reference, options));
  const int64_t n = std::min(samples, data.size());
  for (int64_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(InputFeed feed, datasetFeed(data, i));
    ASSIGN_OR_RETURN(auto outputs, exec->run(feed));
    for (auto& o : outputs) o = o.clone();  // detach from the reference model's weights
    probe.reference_.push_back(std::move(outputs));
    probe.inputs_.push_back(std::move(feed));
  }
  return probe;
}

Expected<Fidelity> FidelityProbe::measure(const Model& candidate) const {
  runtime::ExecutorOptions options;
  options.threads = threads_;
  ASSIGN_OR_RETURN(auto exec, runtime::Executor::create(candidate, options));
  FidelityAccumulator acc;
  for (size_t s = 0; s < inputs_.size(); ++s) {
    ASSIGN_OR_RETURN(auto outputs, exec->run(inputs_[s]));
    if (outputs.size() != reference_[s].size())
      return invalidInput("the model has {} outputs, the reference {}", outputs.size(), reference_[s].size());
    for (size_t o = 0; o < outputs.size(); ++o) RETURN_IF_ERROR(acc.add(reference_[s][o], outputs[o]));
    acc.countSample();
  }
  return acc.result();
}

}  // namespace onnxpress
