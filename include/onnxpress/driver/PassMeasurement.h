// PassMeasurement: the instrumentation `compress` plugs into the PassManager to
// measure the model after every pass: parameters, MACs (for the shapes of the
// inputs it will be fed, else the declared ones) and, with a probe, fidelity
// against the model before the first pass, and, with labelled evaluation data,
// top-1 accuracy after every pass but the last (whose figure is the report's own).
#pragma once

#include <optional>
#include <vector>

#include "onnxpress/analysis/Fidelity.h"
#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/pass/PassManager.h"
#include "onnxpress/report/CompressionReport.h"

namespace onnxpress {

class PassMeasurement : public PassInstrumentation {
 public:
  PassMeasurement(const FidelityProbe* probe, std::optional<InputShapes> shapes)
      : probe_(probe), shapes_(std::move(shapes)) {}

  /// Top-1 on `data` (labelled) after each of the first `passes - 1` passes.
  void measureAccuracy(Dataset* data, int64_t samples, int threads, size_t passes) {
    accuracyData_ = data;
    accuracySamples_ = samples;
    threads_ = threads;
    passes_ = passes;
  }

  Status afterPass(const Pass& pass, Model& model, const PassRunRecord& record) override;

  /// One entry per pass run so far: its record with the figures measured after it.
  const std::vector<PassEntry>& entries() const { return entries_; }

 private:
  const FidelityProbe* probe_;
  std::optional<InputShapes> shapes_;
  std::vector<PassEntry> entries_;
  Dataset* accuracyData_ = nullptr;
  int64_t accuracySamples_ = 0;
  int threads_ = 0;
  size_t passes_ = 0;
};

}  // namespace onnxpress
