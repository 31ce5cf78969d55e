// The schedule options that `distill` and `finetune` share, and the record both emit
// for the report.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "onnxpress/pass/PassOptions.h"
#include "onnxpress/pass/PassRecord.h"
#include "onnxpress/train/Trainer.h"

namespace onnxpress {

struct TrainingScheduleOptions {
  int64_t epochs = 0;
  int64_t steps = 0;
  int64_t batch = 32;
  double lr = 0;
  std::string optimizer = "adam";
  double momentum = 0.9;
  bool nesterov = false;
  double weightDecay = 0;
  double clipNorm = 0;
  std::string schedule = "cosine";
  double warmup = 0.05;
  int64_t seed = 0;
  double validation = 0.1;
  int64_t patience = 3;
  bool keepSparsity = true;
  std::vector<std::string> freeze;

  template <class V>
  void visitSchedule(V& v) {
    v("epochs", epochs, "passes over the training data; 0: sized to the data (about 1500 steps, 3 to 50 epochs)");
    v("steps", steps, "stop after this many optimizer steps instead (0: by epochs)");
    v("batch", batch, "samples per step (stacked when the model's batch dim is symbolic)");
    v("lr", lr, "peak learning rate; 0: 1e-3 for adam/adamw, 1e-2 for sgd");
    v("optimizer", optimizer, "adam, adamw or sgd");
    v("momentum", momentum, "sgd momentum");
    v("nesterov", nesterov, "sgd with Nesterov momentum");
    v("weight-decay", weightDecay, "L2 (sgd, adam) or decoupled (adamw) weight decay");
    v("clip-norm", clipNorm, "clip the gradients' global L2 norm to this (0: off)");
    v("schedule", schedule, "learning-rate schedule after warm-up: cosine, step (x0.1 every third of the steps) or constant");
    v("warmup", warmup, "fraction of the steps spent warming the learning rate up from 0");
    v("seed", seed, "seed of the shuffles and the held-out split");
    v("validation", validation, "fraction of the data held out to pick the best epoch and stop early (needs 20+ samples)");
    v("patience", patience, "epochs without a better held-out loss before stopping (0: never)");
    v("keep-sparsity", keepSparsity, "weights that pruning zeroed stay zero");
    v("freeze", freeze, "initializer names not to train");
  }
  Status validateSchedule() const;
  /// The Trainer's options from these.
  train::TrainOptions trainOptions(int threads, const std::string& label) const;
};

/// What a training pass did, for the report.
struct TrainingRecord final : PassRecord {
  std::string pass;     // distill or finetune
  std::string teacher;  // "pipeline input", a path, or "" (finetune)
  std::string loss;     // e.g. "kl(T=4) + 0.5 ce"
  train::TrainingSummary summary;
};

struct PassContext;
struct PassResult;

/// Emits `record` into the context's sink and returns the statistics every training
/// pass reports (steps, tensors and parameters trained).
PassResult emitTrainingRecord(PassContext& context, std::shared_ptr<TrainingRecord> record);

}  // namespace onnxpress
