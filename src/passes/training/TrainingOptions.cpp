#include "onnxpress/passes/training/TrainingOptions.h"

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

Status TrainingScheduleOptions::validateSchedule() const {
  if (epochs < 0 || steps < 0) return usageError("epochs and steps must not be negative");
  if (batch < 1) return usageError("batch must be at least 1, got {}", batch);
  if (lr < 0) return usageError("lr must not be negative, got {}", lr);
  if (optimizer != "adam" && optimizer != "adamw" && optimizer != "sgd")
    return usageError("optimizer '{}': use adam, adamw or sgd", optimizer);
  if (schedule != "cosine" && schedule != "step" && schedule != "constant")
    return usageError("schedule '{}': use cosine, step or constant", schedule);
  if (warmup < 0 || warmup >= 1) return usageError("warmup must be in [0, 1), got {}", warmup);
  if (validation < 0 || validation >= 1) return usageError("validation must be in [0, 1), got {}", validation);
  if (weightDecay < 0 || clipNorm < 0 || momentum < 0 || patience < 0)
    return usageError("weight-decay, clip-norm, momentum and patience must not be negative");
  return Status::ok();
}

train::TrainOptions TrainingScheduleOptions::trainOptions(int threads, const std::string& label) const {
  train::TrainOptions t;
  t.epochs = epochs;
  t.steps = steps;
  t.batchSize = batch;
  t.optimizer.kind = optimizer;
  t.optimizer.learningRate = lr > 0 ? lr : optimizer == "sgd" ? 1e-2 : 1e-3;
  t.optimizer.momentum = momentum;
  t.optimizer.nesterov = nesterov;
  t.optimizer.weightDecay = weightDecay;
  t.optimizer.clipNorm = clipNorm;
  t.optimizer.schedule = schedule;
  t.warmupFraction = warmup;
  t.seed = static_cast<uint64_t>(seed);
  t.validationFraction = validation;
  t.patience = patience;
  t.keepSparsity = keepSparsity;
  t.freeze = freeze;
  t.threads = threads;
  t.progressLabel = label;
  return t;
}

PassResult emitTrainingRecord(PassContext& context, std::shared_ptr<TrainingRecord> record) {
  PassResult result;
  result.bump("steps", record->summary.steps);
  result.bump("tensors trained", record->summary.trainedTensors);
  result.bump("parameters trained", record->summary.trainedParameters);
  context.records.emit(std::move(record));
  return result;
}

}  // namespace onnxpress
