// Executor: the single way to run a graph, for inference, calibration,
// evaluation, sensitivity and benchmarking.
//
// create() prepares once: it orders the nodes, builds every node's kernel (so an
// op the runtime cannot run is reported, with its domain and node, before any
// work), and plans when each intermediate can be released. run() then executes
// with activation buffers released at their last use, unless the caller asks to
// keep them. An observer sees every tensor as it is produced, without copies.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "onnxpress/ir/Model.h"
#include "onnxpress/runtime/Kernel.h"
#include "onnxpress/runtime/TensorData.h"

namespace onnxpress::runtime {

struct ExecutorOptions {
  int threads = 0;                  // 0: all hardware threads
  bool keepIntermediates = false;   // keep every value alive until run() returns
  // With keepIntermediates: keep only these (and the outputs); others die at their last
  // use as usual. Null: keep every value. Not owned; must outlive create().
  const std::unordered_set<const Value*>* keepOnly = nullptr;
  bool checkInputShapes = true;     // reject inputs whose shape contradicts the declared fixed dims
  bool profile = false;             // accumulate each node's wall time (see nodeTimes())
  bool precomputeDequantization = true;  // run DequantizeLinear of constants once in create() (off when training changes them)
};

/// Called after each node, once per produced output.
using TensorObserver = std::function<void(const Node& node, size_t outputIndex, const TensorData& value)>;

/// Values of one running graph; subgraph frames chain to their parent's.
class Frame {
 public:
  const TensorData* lookup(const Value* v) const;
  /// The observer of the running graph, which If/Loop/Scan pass on to their bodies.
  const TensorObserver* observer() const { return observer_; }

 private:
  friend class Executor;
  const Executor* executor_ = nullptr;
  const Frame* parent_ = nullptr;
  const TensorObserver* observer_ = nullptr;
  std::vector<TensorData> slots_;
};

class Executor {
 public:
  /// Prepares `graph` (main graph or subgraph) of a model with `opsets`.
  static Expected<std::unique_ptr<Executor>> create(const Graph& graph, const std::vector<OpsetImport>& opsets,
                                                    const ExecutorOptions& options = {});
  static Expected<std::unique_ptr<Executor>> create(const Model& model, const ExecutorOptions& options = {}) {
    return create(model.graph(), model.opsetImports, options);
  }

  /// The graph inputs a caller must feed (initializer-backed inputs excluded).
  std::vector<const Value*> requiredInputs() const;

  /// Runs with named inputs; returns the graph outputs in order.
  Expected<std::vector<TensorData>> run(const std::map<std::string, TensorData>& inputs,
                                        const TensorObserver& observer = {});
  /// Runs a subgraph: `inputs` bind to the graph's inputs by position, outer values come from `parent`.
  Expected<std::vector<TensorData>> runSubgraph(const std::vector<TensorData>& inputs, const Frame* parent,
                                                const TensorObserver& observer = {}) const;

  /// With keepIntermediates: every value of the last run, by name.
  const std::map<std::string, TensorData>& intermediates() const { return kept_; }
  /// With profile: total seconds spent in each node over all runs, in execution order.
  std::vector<std::pair<const Node*, double>> nodeTimes() const;
  const Graph& graph() const { return graph_; }
  int threads() const { return threads_; }

 private:
  friend class Frame;
  explicit Executor(const Graph& graph) : graph_(graph) {}
  Expected<std::vector<TensorData>> execute(Frame& frame, const TensorObserver& observer) const;
  Status checkInput(const Value& input, const TensorData& value) const;
  void planActivationFusion();

  const Graph& graph_;
  ExecutorOptions options_;
  int threads_ = 1;
  std::vector<Node*> order_;
  std::vector<KernelFn> kernels_;
  // DequantizeLinear of constant weights (QDQ and weight-only models): run once in
  // create(), their outputs kept as constants and the nodes skipped by run(), as
  // ONNX Runtime's constant folding does; costs the float weights' memory.
  std::vector<char> precomputed_;
  Status precomputeWeightDequantization();
  // Conv/Gemm/MatMul followed by their only reader Relu or Clip (constant bounds):
  // the activation runs in place on the producer's output while it is hot, and the
  // activation node just forwards it. Skipped when an observer or keepIntermediates
  // must see the unclamped tensor.
  struct FusedActivation {
    float lo, hi;
    size_t activationNode;
  };
  std::vector<std::optional<FusedActivation>> fusedAfter_;  // by producer index
  std::unordered_map<const Value*, size_t> slotOf_;
  std::vector<std::pair<size_t, TensorData>> constants_;  // slot, value
  std::vector<std::vector<size_t>> releaseAfter_;         // per node: slots whose last use it is
  std::vector<char> keepSlot_;                            // with keepOnly: 1 for the slots to keep
  std::vector<size_t> outputSlots_;
  mutable std::map<std::string, TensorData> kept_;
  mutable std::vector<double> nodeSeconds_;
};

}  // namespace onnxpress::runtime
