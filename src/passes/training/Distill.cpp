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

Expected<PassResult> DistillPass::run(Model& model, PassContext& context) {
  if (!context.trainingData) return usageError("distill needs training data: give --train-data DATA");
  std::optional<Model> loaded;
  const Model* teacher = context.pipelineInput;
  if (!options_.teacher.empty()) {
    ASSIGN_OR_RETURN(loaded, loadModel(options_.teacher));
    teacher = &*loaded;
  }
  if (!teacher) return usageError("distill: no teacher: give teacher=PATH (no pipeline input is known here)");
  train::TrainOptions t = options_.trainOptions(context.threads, "distill");
  t.loss = options_.loss;
  t.temperature = options_.temperature;
  t.labelWeight = options_.labelWeight;
  ASSIGN_OR_RETURN(train::TrainingSummary summary, train::trainModel(model, teacher, *context.trainingData, t));

  auto record = std::make_shared<TrainingRecord>();
  record->pass = std::string(kName);
  record->teacher = options_.teacher.empty() ? "pipeline input" : options_.teacher;
  const bool labels = context.trainingData->hasLabels();
  const double labelWeight = options_.labelWeight >= 0 ? options_.labelWeight : labels ? 0.5 : 0;
  record->loss = fmt::format("{}{}", options_.loss == "auto" ? "kl (logits) / mse" : options_.loss,
                             options_.loss == "auto" || options_.loss == "kl" ? fmt::format(" T={}", options_.temperature) : "");
  if (labelWeight > 0) record->loss += fmt::format(" + {} cross-entropy", labelWeight);
  record->summary = summary;
  context.records.emit(record);

  PassResult result;
  result.bump("steps", summary.steps);
  result.bump("tensors trained", summary.trainedTensors);
  result.bump("parameters trained", summary.trainedParameters);
  return result;
}

}  // namespace onnxpress
