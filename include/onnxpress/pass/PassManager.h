// PassManager: parses a textual pipeline in the style of MLIR,
//   fold-constants,prune{sparsity=0.5 granularity=channel},eliminate-dead
// creates a fresh instance of each pass from the registry, and runs them in
// order. With verification on (always in debug builds) the IR verifier runs
// after every pass and a failure names the pass that broke the graph.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "onnxpress/analysis/Fidelity.h"
#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct PipelineElement {
  std::string pass;
  RawOptions options;
};

/// Splits pipeline text into elements; syntax errors are usage errors.
Expected<std::vector<PipelineElement>> parsePipelineText(const std::string& text);
/// The inverse of parsePipelineText (values with spaces or braces are quoted).
std::string pipelineToText(const std::vector<PipelineElement>& elements);

struct PassRunRecord {
  std::string pass;
  std::string options;  // expanded, every default filled in
  bool changed = false;
  std::vector<std::pair<std::string, int64_t>> statistics;
  std::vector<QuantizedTensorInfo> quantized;
  double seconds = 0;
  // Filled when measuring (see PassManager::setMeasurement): the model after this pass.
  int64_t parameters = -1;
  int64_t macs = -1;
  std::optional<Fidelity> fidelity;  // against the model before the first pass
};

class PassManager {
 public:
  /// Builds the passes of `text`; unknown passes and options are errors.
  static Expected<PassManager> fromText(const std::string& text);
  static Expected<PassManager> fromElements(const std::vector<PipelineElement>& elements);

  PassManager() = default;
  PassManager(PassManager&&) = default;
  PassManager& operator=(PassManager&&) = default;

  void add(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }
  void setVerifyEach(bool verify) { verifyEach_ = verify; }
  /// After every pass, record parameters and MACs (for inputs of `shapes` when
  /// given, else for the declared input shapes) and, with a probe, fidelity.
  void setMeasurement(bool sizes, const FidelityProbe* probe = nullptr, std::optional<InputShapes> shapes = {}) {
    measureSizes_ = sizes;
    probe_ = probe;
    shapes_ = std::move(shapes);
  }
  /// The pipeline with every option spelled out; parsing it gives the same pipeline.
  std::string expandedPipeline() const;
  size_t size() const { return passes_.size(); }
  /// Names of the passes that need calibration data.
  std::vector<std::string> passesNeedingCalibrationData() const {
    std::vector<std::string> names;
    for (const auto& pass : passes_)
      if (pass->needsCalibrationData()) names.emplace_back(pass->name());
    return names;
  }

  Status run(Model& model, PassContext& context);
  const std::vector<PassRunRecord>& records() const { return records_; }

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
  std::vector<PassRunRecord> records_;
  bool measureSizes_ = false;
  const FidelityProbe* probe_ = nullptr;
  std::optional<InputShapes> shapes_;
#ifdef ONNXPRESS_VERIFY_BETWEEN_PASSES
  bool verifyEach_ = true;
#else
  bool verifyEach_ = false;
#endif
};

}  // namespace onnxpress
