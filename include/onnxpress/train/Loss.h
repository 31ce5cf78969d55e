// Losses of training: each returns its value averaged over the batch and writes
// dLoss/dStudent (scaled by the loss's weight) into `grad`.
//
//   kl       T² · mean_b KL(softmax(t/T) ‖ softmax(s/T))   dL/ds = T (p_s − p_t) / B
//   ce       mean_b −log softmax(s)[y]                      dL/ds = (softmax(s) − onehot(y)) / B
//   mse      mean over elements (s − t)²                    dL/ds = 2 (s − t) / N
//   cosine   mean_b (1 − cos(s_b, t_b))                     over each sample's flattened values
//
// Class axis: the last axis of the logits; every other axis is a batch of rows.
#pragma once

#include <cstdint>
#include <vector>

#include "onnxpress/runtime/TensorData.h"

namespace onnxpress::train {

using runtime::TensorData;

/// Adds weight·L to the returned value and weight·dL/ds into grad (allocated if empty).
double klDivergenceLoss(const TensorData& student, const TensorData& teacher, double temperature, double weight,
                        TensorData& grad);
double crossEntropyLoss(const TensorData& student, const std::vector<int64_t>& labels, double weight, TensorData& grad);
double meanSquaredLoss(const TensorData& student, const TensorData& teacher, double weight, TensorData& grad);
double cosineLoss(const TensorData& student, const TensorData& teacher, double weight, TensorData& grad);

}  // namespace onnxpress::train
