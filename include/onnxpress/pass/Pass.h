// Pass: one graph transformation. Instances are created per pipeline from the
// registry (never shared singletons) and can be cloned. run() reports whether it
// changed the graph and bumps named statistics, which feed the report.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/PassOptions.h"
#include "onnxpress/pass/PassRecord.h"
#include "onnxpress/support/Status.h"

namespace onnxpress {

struct PassResult {
  bool changed = false;
  std::vector<std::pair<std::string, int64_t>> statistics;

  void bump(const std::string& statistic, int64_t by = 1) {
    if (by == 0) return;
    changed = true;
    for (auto& [name, value] : statistics)
      if (name == statistic) {
        value += by;
        return;
      }
    statistics.emplace_back(statistic, by);
  }
};

class Dataset;

/// What a pass may need besides the model; grows with data, executor and logging.
struct PassContext {
  Dataset* calibrationData = nullptr;  // --calib-data, already checked against the model's inputs
  Dataset* trainingData = nullptr;     // --train-data, already checked against the model's inputs
  const Model* pipelineInput = nullptr;  // the model before the first pass (the default teacher)
  int threads = 0;                     // for passes that run the model (0: all cores)
  PassRecordSink records;              // typed records for the report (see PassRecord.h)
};

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string_view name() const = 0;
  /// The options as `key=value ...`, every default filled in.
  virtual std::string optionsString() const = 0;
  virtual std::unique_ptr<Pass> clone() const = 0;
  virtual Expected<PassResult> run(Model& model, PassContext& context) = 0;
  /// Whether run() needs PassContext::calibrationData (checked before any work).
  virtual bool needsCalibrationData() const { return false; }
  /// Whether run() needs PassContext::trainingData (checked before any work).
  virtual bool needsTrainingData() const { return false; }
};

/// CRTP base: gives a pass with options struct `Options` its boilerplate.
/// `Derived` declares `static constexpr std::string_view kName`.
template <typename Derived, typename Options>
class PassBase : public Pass {
 public:
  explicit PassBase(Options options = {}) : options_(std::move(options)) {}
  std::string_view name() const override { return Derived::kName; }
  std::string optionsString() const override { return printOptions(options_); }
  std::unique_ptr<Pass> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
  static Expected<std::unique_ptr<Pass>> create(const RawOptions& raw) {
    ASSIGN_OR_RETURN(Options options, parseOptions<Options>(std::string(Derived::kName), raw));
    return std::unique_ptr<Pass>(std::make_unique<Derived>(std::move(options)));
  }
  static std::vector<OptionDoc> options() { return describeOptions<Options>(); }
  const Options& passOptions() const { return options_; }

 protected:
  Options options_;
};

/// For passes without options.
struct NoOptions {
  template <class V> void visitOptions(V&) {}
};

}  // namespace onnxpress
