// Profile: where a model's weights, compute, memory and time go, node by node,
// measured in the built-in runtime on one input feed.
//
// Per node of the main graph, in execution order:
//   parameters, weight bytes  elements and bytes of its constant inputs
//                             (initializers, Constant nodes); a weight read by
//                             several nodes counts for each of them
//   MACs                      nodeMacs() on static shapes: the input types are
//                             bound to the fed shapes, inferShapes() runs, and any
//                             node output still without a static shape takes the
//                             shape observed in the run
//   output bytes              bytes of its outputs as produced in the run
//   time                      the median over the timed runs of its wall time
//                             (ExecutorOptions::profile); share = its median / the
//                             sum of every node's median. Work inside If/Loop/Scan
//                             bodies counts for the node that holds them. A Relu or
//                             Clip that the runtime fuses into the preceding Conv,
//                             Gemm or MatMul costs ~0 itself: its work shows in
//                             the producer, as it does in deployment.
// Whole model: parameters and MACs counted once per tensor / over every graph
// including subgraphs (ModelSummary, countMacs), the median whole-run latency,
// and the peak activation memory (simulatePeakMemory below) over the tensors of
// the observed run.
//
// The first run has an observer (which the runtime runs unfused) and records
// every tensor; it doubles as a warm-up. Then `warmup` untimed and `iterations`
// timed runs follow, as deployed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/ir/Model.h"

namespace onnxpress {

// ---- peak activation memory ------------------------------------------------------

/// A tensor's size and the buffer it lives in. Tensors sharing a buffer (views
/// made by Reshape, Flatten, Identity, ...) have the same storage; null storage
/// means a buffer of its own. bytes == 0 for a view of a weight.
struct TensorFootprint {
  int64_t bytes = 0;
  const void* storage = nullptr;
};
using FootprintFn = std::function<std::optional<TensorFootprint>(const Value*)>;

struct PeakMemory {
  int64_t bytes = 0;
  const Node* atNode = nullptr;  // the node during which the peak is reached (null: before any node)
  int64_t unknownValues = 0;     // activations without a footprint, counted as 0 bytes
};

/// Simulates the executor's release plan over the main graph `graph`, `order`
/// being its nodes in execution order. Activations are the feedable graph inputs
/// (live from the start) and the outputs of every node but Constant (whose
/// tensors are weights). Walking `order`, a node's outputs become live when it
/// runs, while its inputs are still live, and the peak is taken then; after it,
/// every value whose last reader it is (directly or from inside a subgraph it
/// holds) dies, as do its outputs that nothing reads. Graph outputs never die.
/// A buffer counts once while any live value holds it (at its largest
/// footprint); it is freed when the last one dies.
PeakMemory simulatePeakMemory(const Graph& graph, const std::vector<const Node*>& order, const FootprintFn& footprint);

// ---- the profile -----------------------------------------------------------------

struct LayerProfile {
  const Node* node = nullptr;
  std::string name;  // the node's name, else its first output's name
  std::string op;    // qualifiedOpType()
  int64_t parameters = 0, weightBytes = 0;
  std::optional<int64_t> macs;  // nullopt: shapes not static
  int64_t outputBytes = 0;
  double medianSeconds = 0;
  double latencyShare = 0;  // in [0, 1]
};

struct ModelProfile {
  std::vector<LayerProfile> layers;  // execution order
  int64_t parameters = 0, parameterBytes = 0;
  int64_t macs = 0, unknownMacNodes = 0;
  PeakMemory peak;
  double medianLatencySeconds = 0;
  double p90LatencySeconds = 0;
  int iterations = 0, warmup = 0, threads = 0;
};

struct ProfileOptions {
  int iterations = 10;
  int warmup = 1;
  int threads = 0;
  std::function<void()> onRun;  // after each warm-up or timed run (progress)
};

/// Median of timed samples (0 for none), and their nearest-rank 90th percentile.
double medianOfSamples(std::vector<double> samples);
double percentile90OfSamples(std::vector<double> samples);

/// Profiles `model` on `feed`. The model's input types are bound to the feed's
/// shapes and intermediate types are filled in (see above), so the model changes.
Expected<ModelProfile> profileModel(Model& model, const InputFeed& feed, const ProfileOptions& options);

enum class RankBy { Latency, Macs };
/// Indices of the (at most) k layers with the highest latency share or MACs,
/// highest first; layers with nothing to rank (0 time, 0 or unknown MACs) are left out.
std::vector<size_t> topLayers(const std::vector<LayerProfile>& layers, RankBy by, size_t k);

/// How far a measured figure is from a target (size in bytes, latency in ms):
/// ratio = current / target; above 1 the model needs to get `ratio` times smaller
/// or faster, at or below 1 it meets the target with 1/ratio times headroom.
struct TargetGap {
  double current = 0, target = 0, ratio = 0;
  bool met() const { return ratio <= 1.0; }
};
TargetGap targetGap(double current, double target);

}  // namespace onnxpress
