#include "onnxpress/passes/training/FineTune.h"

#include <memory>

#include "onnxpress/data/Dataset.h"

namespace onnxpress {

Expected<PassResult> FineTunePass::run(Model& model, PassContext& context) {
  if (!context.trainingData) return usageError("finetune needs training data: give --train-data DATA");
  if (!context.trainingData->hasLabels())
    return usageError("finetune: {} has no `labels` array (distill trains without labels)", context.trainingData->path());
  train::TrainOptions t = options_.trainOptions(context.threads, "finetune");
  t.labelWeight = 1;
  ASSIGN_OR_RETURN(train::TrainingSummary summary, train::trainModel(model, nullptr, *context.trainingData, t));

  auto record = std::make_shared<TrainingRecord>();
  record->pass = std::string(kName);
  record->loss = "cross-entropy";
  record->summary = summary;
  return emitTrainingRecord(context, record);
}

}  // namespace onnxpress
