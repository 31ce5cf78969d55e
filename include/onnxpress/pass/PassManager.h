// PassManager: runs a pipeline of passes in order. The textual form, in the
// style of MLIR,
//   fold-constants,prune{sparsity=0.5 granularity=channel},eliminate-dead
// is parsed here; building the passes from it needs the registry, which sits in
// the driver layer (driver/PassRegistry.h: buildPipeline). With verification on
// (always in debug builds) the IR verifier runs after every pass and a failure
// names the pass that broke the graph. The manager measures nothing itself:
// measurement plugs in as PassInstrumentation callbacks, as in LLVM.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  PassRecords records;  // what the pass emitted through PassContext::records
  double seconds = 0;
};

/// Callbacks around every pass (LLVM's PassInstrumentation). An error from either
/// stops the pipeline with that error.
class PassInstrumentation {
 public:
  virtual ~PassInstrumentation() = default;
  virtual Status beforePass(const Pass& pass, const Model& model) { return Status::ok(); }
  /// After the pass ran (and the verifier, when on, accepted the graph). May annotate
  /// the model (value_info from shape inference), never change what it computes.
  virtual Status afterPass(const Pass& pass, Model& model, const PassRunRecord& record) { return Status::ok(); }
};

class PassManager {
 public:
  PassManager() = default;
  PassManager(PassManager&&) = default;
  PassManager& operator=(PassManager&&) = default;

  void add(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }
  void setVerifyEach(bool verify) { verifyEach_ = verify; }
  /// Called around every pass, in the order added; not owned.
  void addInstrumentation(PassInstrumentation* instrumentation) { instrumentations_.push_back(instrumentation); }
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

  /// Names of the passes that need training data.
  std::vector<std::string> passesNeedingTrainingData() const {
    std::vector<std::string> names;
    for (const auto& pass : passes_)
      if (pass->needsTrainingData()) names.emplace_back(pass->name());
    return names;
  }

  Status run(Model& model, PassContext& context);
  const std::vector<PassRunRecord>& records() const { return records_; }

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
  std::vector<PassRunRecord> records_;
  std::vector<PassInstrumentation*> instrumentations_;
#ifdef ONNXPRESS_VERIFY_BETWEEN_PASSES
  bool verifyEach_ = true;
#else
  bool verifyEach_ = false;
#endif
};

}  // namespace onnxpress
