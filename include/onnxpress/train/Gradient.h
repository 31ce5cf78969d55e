// Gradients: one backward function per op, beside the runtime's forward kernel.
//
// Given a node's forward inputs and outputs (kept by the Executor) and the gradient
// of the loss with respect to each output, a backward function writes the gradient
// with respect to each input that needs one. Only float32 is differentiated.
//
// Each entry also names its differentiable inputs: a Reshape's shape, a Clip's
// bounds or a BatchNormalization's running statistics carry no gradient, so a
// weight that reaches the loss only through them is not trained, while a weight
// that reaches it through an op without an entry is an error (see Backprop.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnxpress/ir/Graph.h"
#include "onnxpress/runtime/TensorData.h"
#include "onnxpress/support/Status.h"

namespace onnxpress::train {

using runtime::Shape;
using runtime::TensorData;

/// What a backward function sees.
struct GradientContext {
  GradientContext(const Node& n, int64_t version) : node(n), opset(version) {}
  const Node& node;
  int64_t opset = 0;                           // version of ai.onnx in the model
  std::vector<const TensorData*> inputs;       // forward inputs (null when omitted)
  std::vector<const TensorData*> outputs;      // forward outputs (null when not kept)
  std::vector<const TensorData*> outputGrads;  // null where no gradient flows back
  std::vector<bool> wanted;                    // per input: whether its gradient is needed
  std::vector<TensorData> inputGrads;          // per input: filled where wanted
  int threads = 1;

  const TensorData& input(size_t i) const { return *inputs[i]; }
  bool hasInput(size_t i) const { return i < inputs.size() && inputs[i] && !inputs[i]->empty(); }
  bool wants(size_t i) const { return i < wanted.size() && wanted[i]; }
  /// The gradient of output `i`, or zeros of the output's shape when none flows back.
  TensorData outputGrad(size_t i) const;
  std::string where() const { return node.describe(); }
};

using GradientFn = Status (*)(GradientContext&);

struct GradientEntry {
  const char* opType;                    // ai.onnx
  GradientFn fn;
  std::vector<int> differentiableInputs; // input indices; empty means all
};

/// The gradient table (src/train/gradients/*.cpp, one function per family).
const std::vector<GradientEntry>& registeredGradients();
const GradientEntry* findGradient(const Node& node);
/// Whether input `index` of `node` carries a gradient (false for ops without an entry).
bool isDifferentiableInput(const GradientEntry& entry, size_t index);

}  // namespace onnxpress::train
