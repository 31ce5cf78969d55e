// Backprop: reverse-mode differentiation of a graph, run on the values of a forward
// pass of the built-in Executor (ExecutorOptions::keepIntermediates).
//
// create() plans once: it marks the values that depend on a trainable weight
// through differentiable inputs, walks back from the loss's inputs, and orders the
// nodes that carry a gradient. An op on that path with no backward function
// (including If/Loop/Scan, whose bodies are not differentiated) is an error that
// names the node, before any training step. run() then executes the plan for one
// forward pass, freeing each value's gradient once its producer has consumed it.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "onnxpress/ir/Model.h"
#include "onnxpress/train/Gradient.h"

namespace onnxpress::train {

class Backprop {
 public:
  /// `trainable`: float initializers of `graph` to differentiate for; `lossInputs`: the
  /// values whose gradients run() is given (graph outputs, or intermediates for feature losses).
  static Expected<Backprop> create(const Graph& graph, const std::vector<OpsetImport>& opsets,
                                   const std::vector<const Value*>& trainable, const std::vector<const Value*>& lossInputs);

  /// `forward`: every value of one forward pass by name (inputs, initializers, intermediates);
  /// `seeds`: dLoss/dValue for some of lossInputs. Returns dLoss/dWeight for each trainable
  /// weight the loss depends on (others are absent).
  Expected<std::unordered_map<const Value*, TensorData>> run(const std::map<std::string, TensorData>& forward,
                                                             const std::unordered_map<const Value*, TensorData>& seeds,
                                                             int threads) const;

  /// The forward values run() reads: the inputs and outputs of the nodes it visits.
  /// The Executor need keep only these (ExecutorOptions::keepOnly).
  std::unordered_set<const Value*> forwardValuesRead() const;

  /// The nodes backward visits, in the order it visits them (for tests and the report).
  const std::vector<const Node*>& plan() const { return plan_; }

 private:
  struct Step {
    const Node* node;
    const GradientEntry* entry;
    std::vector<bool> wanted;  // per input
  };
  std::vector<Step> steps_;
  std::vector<const Node*> plan_;
  std::vector<const Value*> trainable_;
  int64_t opset_ = 0;
};

}  // namespace onnxpress::train
