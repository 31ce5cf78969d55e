#include "onnxpress/passes/training/Distill.h"

#include <fmt/format.h>

#include <memory>

#include "onnxpress/data/Dataset.h"
#include "onnxpress/io/ModelIO.h"

namespace onnxpress {

Status DistillOptions::validate() const {
  RETURN_IF_ERROR(validateSchedule());
  if (loss != "auto" && loss != "kl" && loss != "mse" && loss != "cosine")
    return usageError("loss '{}': use auto, kl, mse or cosine", loss);
  if (!(temperature > 0)) return usageError("temperature must be positive, got {}", temperature);
  return Status::ok();
}

Expected<const Model*> DistillOptions::teacherModel(const PassContext& context, std::optional<Model>& storage,
                                                    std::string_view pass) const {
  if (!teacher.empty()) {
    ASSIGN_OR_RETURN(storage, loadModel(teacher));
    return &*storage;
  }
  if (!context.pipelineInput) return usageError("{}: no teacher: give teacher=PATH (no pipeline input is known here)", pass);
  return context.pipelineInput;
}

train::TrainOptions DistillOptions::distillOptions(int threads, const std::string& label) const {
  train::TrainOptions t = trainOptions(threads, label);
  t.loss = loss;
  t.temperature = temperature;
  t.labelWeight = labelWeight;
  return t;
}

void DistillOptions::describe(TrainingRecord& record, bool labels) const {
  record.teacher = teacher.empty() ? "pipeline input" : teacher;
  const double weight = labelWeight >= 0 ? labelWeight : labels ? 0.5 : 0;
  record.loss += fmt::format("{}{}", loss == "auto" ? "kl (logits) / mse" : loss,
                             loss == "auto" || loss == "kl" ? fmt::format(" T={}", temperature) : "");
  if (weight > 0) record.loss += fmt::format(" + {} cross-entropy", weight);
}

Expected<PassResult> DistillPass::run(Model& model, PassContext& context) {
  if (!context.trainingData) return usageError("distill needs training data: give --train-data DATA");
  std::optional<Model> loaded;
  ASSIGN_OR_RETURN(const Model* teacher, options_.teacherModel(context, loaded, kName));
  const train::TrainOptions t = options_.distillOptions(context.threads, "distill");
  ASSIGN_OR_RETURN(train::TrainingSummary summary, train::trainModel(model, teacher, *context.trainingData, t));
  auto record = std::make_shared<TrainingRecord>();
  record->pass = std::string(kName);
  options_.describe(*record, context.trainingData->hasLabels());
  record->summary = summary;
  return emitTrainingRecord(context, record);
}

}  // namespace onnxpress
