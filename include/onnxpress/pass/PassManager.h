// PassManager: parses a textual pipeline in the style of MLIR,
//   fold-constants,prune{sparsity=0.5 granularity=channel},eliminate-dead
// creates a fresh instance of each pass from the registry, and runs them in
// order. With verification on (always in debug builds) the IR verifier runs
// after every pass and a failure names the pass that broke the graph.
#pragma once

#include <memory>
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

struct PassRunRecord {
  std::string pass;
  std::string options;  // expanded, every default filled in
  bool changed = false;
  std::vector<std::pair<std::string, int64_t>> statistics;
  double seconds = 0;
};

class PassManager {
 public:
  /// Builds the passes of `text`; unknown passes and options are errors.
  static Expected<PassManager> fromText(const std::string& text);

  PassManager() = default;
  PassManager(PassManager&&) = default;
  PassManager& operator=(PassManager&&) = default;

  void add(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }
  void setVerifyEach(bool verify) { verifyEach_ = verify; }
  /// The pipeline with every option spelled out; parsing it gives the same pipeline.
  std::string expandedPipeline() const;
  size_t size() const { return passes_.size(); }

  Status run(Model& model, PassContext& context);
  const std::vector<PassRunRecord>& records() const { return records_; }

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
  std::vector<PassRunRecord> records_;
#ifdef ONNXPRESS_VERIFY_BETWEEN_PASSES
  bool verifyEach_ = true;
#else
  bool verifyEach_ = false;
#endif
};

}  // namespace onnxpress
