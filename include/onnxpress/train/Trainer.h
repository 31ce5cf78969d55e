// Trainer: trains a model's float weights in place on DATA, with the built-in
// runtime for the forward pass and Backprop for the backward pass.
//
// Loss: against a teacher's outputs (distillation: KL on temperature-softened
// logits for [rows, classes] outputs, MSE otherwise, or as chosen), plus cross-
// entropy on DATA's `labels` when present; without a teacher, cross-entropy only.
// Every float initializer with at least two elements is trained, and so is every
// float Constant node of the main graph (turned into an initializer first), and every
// QuantizeLinear/DequantizeLinear scale (fake quantization, kept above 0), unless
// frozen by name. Weights that pruning zeroed (by default 5% or more of a tensor
// exactly 0) stay zero. A held-out split (the last `validationFraction` of a seeded shuffle)
// measures the loss after each epoch; training stops after `patience` epochs
// without improvement and the best weights are kept.
//
// Deterministic for a given seed and thread count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/Model.h"
#include "onnxpress/train/Optimizer.h"

namespace onnxpress::train {

struct TrainOptions {
  int64_t epochs = 0;     // 0 with steps 0: sized to the data (Trainer.cpp, defaultEpochs)
  int64_t steps = 0;      // > 0: stop after this many optimizer steps
  int64_t batchSize = 32;
  OptimizerOptions optimizer;
  double warmupFraction = 0.05;  // of all steps
  uint64_t seed = 0;
  double validationFraction = 0.1;
  int64_t patience = 3;   // epochs; 0: no early stop
  std::string loss = "auto";  // auto, kl, mse, cosine (against the teacher)
  double temperature = 4;
  double labelWeight = -1;    // cross-entropy weight; < 0: 0.5 with a teacher and labels, 1 without a teacher
  bool keepSparsity = true;
  double sparseFraction = 0.05;     // a tensor with at least this fraction of exact zeros keeps them
  std::vector<std::string> freeze;  // weight names not to train
  int threads = 0;
  std::string progressLabel = "training";
};

struct TrainingSummary {
  int64_t steps = 0, epochs = 0, samplesSeen = 0, trainSamples = 0, validationSamples = 0, batchSize = 0;
  int64_t trainedTensors = 0, trainedParameters = 0, maskedTensors = 0;
  double seconds = 0, learningRate = 0;
  std::vector<double> stepLoss;        // training loss of every step
  std::vector<double> validationLoss;  // after each epoch (empty without a held-out split)
  double initialValidationLoss = 0;
  int64_t bestEpoch = 0;               // 1-based; 0: the initial weights were best
  std::string stopReason;
};

/// Trains `student` in place. `teacher` may be null (then DATA must have labels).
Expected<TrainingSummary> trainModel(Model& student, const Model* teacher, Dataset& data, const TrainOptions& options);

}  // namespace onnxpress::train
