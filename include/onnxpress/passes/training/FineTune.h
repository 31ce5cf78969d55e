// finetune: train the pipeline's current model on DATA's labels, without a teacher.
//
// Before: a model with a classification output first ([rows, classes] logits).
// After:  the same graph, its float weights trained on cross-entropy.
//
// Preconditions: --train-data DATA with a `labels` array; the rest as for distill
// (passes/training/Distill.h): gradients on every op between a weight and the first
// output, weights in subgraphs not trained, BatchNormalization in inference mode.
//
// Math: loss = mean_b −log softmax(s_b)[y_b]; the schedule of train/Trainer.h.
#pragma once

#include "onnxpress/pass/Pass.h"
#include "onnxpress/passes/training/TrainingOptions.h"

namespace onnxpress {

struct FineTuneOptions : TrainingScheduleOptions {
  template <class V>
  void visitOptions(V& v) {
    visitSchedule(v);
  }
  Status validate() const { return validateSchedule(); }
};

class FineTunePass final : public PassBase<FineTunePass, FineTuneOptions> {
 public:
  static constexpr std::string_view kName = "finetune";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
  bool needsTrainingData() const override { return true; }
};

}  // namespace onnxpress
