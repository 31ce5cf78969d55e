// distill: train the pipeline's current model (the student) to reproduce a teacher.
//
// Before: a student the previous passes made (pruned, factorized, swapped), and a
//         teacher: the model the pipeline started from, or `teacher=PATH`.
// After:  the same graph, its float weights trained; nothing else changes.
//
// Preconditions: --train-data DATA (compress) with the model's inputs; `labels`
// optional. Teacher and student take the same inputs and give the same outputs
// (count and shapes). Every op between a trained weight and an output has a
// gradient (src/train/gradients/); otherwise the pass fails naming the node. Weights
// inside If/Loop/Scan bodies are not trained. BatchNormalization runs with its
// stored statistics (inference mode); its scale and bias train.
//
// Math: per batch B, loss = w_t · Σ_outputs D(student, teacher) + w_y · CE(student_0, labels)
//   D = T² · KL(softmax(t/T) ‖ softmax(s/T)) for [rows, classes] outputs (loss=auto),
//       mean squared error for the others (see train/Loss.h);
//   w_t = 1, w_y = 0 without labels; 0.5 and 0.5 with labels (label-weight changes w_y).
// Adam (lr 1e-3) with a cosine schedule and 5% warm-up by default; the held-out 10%
// picks the best epoch (train/Trainer.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "onnxpress/pass/Pass.h"
#include "onnxpress/passes/training/TrainingOptions.h"

namespace onnxpress {

struct DistillOptions : TrainingScheduleOptions {
  std::string teacher;
  std::string loss = "auto";
  double temperature = 4;
  double labelWeight = -1;

  template <class V>
  void visitOptions(V& v) {
    v("teacher", teacher, "teacher model (.onnx); empty: the model the pipeline started from");
    v("loss", loss, "against the teacher: auto (kl for [rows, classes] outputs, mse otherwise), kl, mse or cosine");
    v("temperature", temperature, "softmax temperature of the kl loss");
    v("label-weight", labelWeight, "weight of cross-entropy on DATA's labels (-1: 0.5 when labels exist, else 0)");
    visitSchedule(v);
  }
  Status validate() const;

  /// The teacher: `teacher` loaded into `storage`, else the pipeline's input; `pass` names errors.
  Expected<const Model*> teacherModel(const PassContext& context, std::optional<Model>& storage, std::string_view pass) const;
  /// The Trainer's options: the schedule's plus loss, temperature and label weight.
  train::TrainOptions distillOptions(int threads, const std::string& label) const;
  /// The record's teacher and loss text for training data with or without labels.
  void describe(TrainingRecord& record, bool labels) const;
};

class DistillPass final : public PassBase<DistillPass, DistillOptions> {
 public:
  static constexpr std::string_view kName = "distill";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
  bool needsTrainingData() const override { return true; }
};

}  // namespace onnxpress
