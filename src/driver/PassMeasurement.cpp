#include "onnxpress/driver/PassMeasurement.h"

#include "onnxpress/analysis/Evaluate.h"
#include "onnxpress/analysis/Macs.h"
#include "onnxpress/analysis/ModelSummary.h"
#include "onnxpress/analysis/ShapeInference.h"

namespace onnxpress {

Status PassMeasurement::afterPass(const Pass& pass, Model& model, const PassRunRecord& record) {
  PassEntry entry;
  static_cast<PassRunRecord&>(entry) = record;
  entry.parameters = summarizeModel(model).parameterCount;
  if (shapes_) {
    ASSIGN_OR_RETURN(MacTotals macs, countMacsForInputs(model, *shapes_));
    entry.macs = macs.macs;
  } else {
    // Annotates the model in place, as the pass manager did before this hook existed:
    // a copy per pass would duplicate every owned weight.
    ASSIGN_OR_RETURN(auto inferred, inferShapes(model));
    (void)inferred;
    entry.macs = countMacs(model.graph()).macs;
  }
  if (probe_) {
    auto fidelity = probe_->measure(model);
    if (!fidelity) return fidelity.status().withContext(fmt::format("measuring after pass '{}'", pass.name()));
    entry.fidelity = *fidelity;
  }
  if (accuracyData_ && entries_.size() + 1 < passes_) {
    EvalOptions options;
    options.samples = accuracySamples_;
    options.threads = threads_;
    options.modelLabel = fmt::format("the model after pass '{}'", pass.name());
    auto result = evaluate(model, nullptr, *accuracyData_, options);
    if (!result) return result.status().withContext(fmt::format("measuring accuracy after pass '{}'", pass.name()));
    entry.accuracy = result->accuracy->top1();
  }
  entries_.push_back(std::move(entry));
  return Status::ok();
}

}  // namespace onnxpress
