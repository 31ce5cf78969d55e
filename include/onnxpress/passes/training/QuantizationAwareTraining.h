// qat: quantization-aware training of a QDQ model (after `quantize`), by
// distillation from the pipeline's input, with fake quantization in the graph.
//
// Before:  W_q (int8) ─ DequantizeLinear(s_w, z_w) ─ Conv ...     x ─ Q(s_x) ─ DQ(s_x) ─ Conv
// During:  W (float) ─ Q(s_w, z_w) ─ DQ(s_w, z_w) ─ Conv ...       (W = s_w (W_q − z_w))
// After:   W_q' = clamp(round(W / s_w') + z_w) ─ DequantizeLinear(s_w', z_w) ─ Conv ...
//          with the trained scales s_w', s_x' and, for int32 biases, b_q' requantized at
//          s_x'·s_w' (the scale ONNX Runtime's integer kernels assume).
//
// Preconditions: a QDQ model (quantize's format=qdq; QOperator models are not
// handled); weights int8/uint8, per-tensor or per-channel (not blocked). --train-data
// as for distill; the teacher is the pipeline's input unless teacher=PATH. Zero points
// are not trained; int32 biases keep their float value except for the rescale above.
//
// Math: fake quantization is differentiated with the straight-through estimator for
// the values and the LSQ step-size gradient for every Q/DQ scale
// (src/train/gradients/GradQuantize.cpp); losses and schedule as distill, with a
// smaller default learning rate (1e-4), since the model starts close to its optimum.
#pragma once

#include "onnxpress/pass/Pass.h"
#include "onnxpress/passes/training/Distill.h"

namespace onnxpress {

class QuantizationAwareTrainingPass final : public PassBase<QuantizationAwareTrainingPass, DistillOptions> {
 public:
  static constexpr std::string_view kName = "qat";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
  bool needsTrainingData() const override { return true; }
};

}  // namespace onnxpress
