// CompareModels: runs two models, A (the reference) and B, on the same DATA
// samples and measures how far B is from A (ErrorStats.h), for every graph output
// and, on request, for every intermediate tensor present in both.
//
// Per-layer tensors are the outputs of A's main-graph nodes whose name B's main
// graph also produces with a node. Constant nodes are left out: their outputs
// are weights, like initializers. Each sample runs B first, keeping only those
// tensors, then A, whose observer compares each tensor as it is produced and
// drops B's copy; memory stays at one sample's shared tensors.
//
// First divergence (per-layer). Tensors are visited in A's topological order.
// For a tensor t produced by node n, with SNRs capped at C = kSnrCeilingDb:
//   snr(t)      = min(SNR of t over all samples, C)
//   inputSnr(t) = min over n's activation inputs of their snr: graph inputs are
//                 fed identically (C); inputs that were not compared (constants,
//                 names B lacks) are skipped; C when nothing is left
//   drop(t)     = inputSnr(t) - snr(t)
// t diverges when drop(t) > dropDb (n itself adds error energy 10^(dropDb/10)
// times its inputs', default 20 dB = 100x) or snr(t) < floorDb (error energy
// above 10^(-floorDb/10) of the signal's, default 20 dB = 1%, which catches a
// slow erosion over many layers). The cap keeps float32 round-off (SNR 120 to
// 150 dB against an identical input's 999) from counting as a drop. The first
// divergence is the first diverging tensor in that order, the place to look
// first, as with Polygraphy's layerwise comparison. Tensors whose shape or dtype
// differ between A and B are reported as not comparable and skipped.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "onnxpress/analysis/ErrorStats.h"
#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/Model.h"

namespace onnxpress {

inline constexpr double kSnrCeilingDb = 100.0;

struct TensorComparison {
  std::string name;
  std::string node, op;  // A's producer (describe() form) and its op type
  ErrorStats stats;
  std::string notComparable;  // why A's and B's tensors cannot be compared ("" when they can)
  // Per-layer only:
  double snrDb = kSnrCeilingDb;       // capped
  double inputSnrDb = kSnrCeilingDb;  // capped
  bool diverges = false;
};

struct ModelComparison {
  int64_t samples = 0;
  std::vector<TensorComparison> outputs;  // graph outputs, in order
  ErrorStats overall;                     // every output pooled
  std::vector<TensorComparison> layers;   // per-layer, A's topological order
  std::optional<size_t> firstDivergence;  // index into layers
  bool outputsAllClose() const;
};

using OutputsCallback = std::function<Status(int64_t sample, const std::vector<runtime::TensorData>& a,
                                             const std::vector<runtime::TensorData>& b)>;

struct CompareOptions {
  int64_t samples = 0;  // 0: every sample of DATA
  int threads = 0;
  bool perLayer = false;
  double atol = 1e-5, rtol = 1e-5;
  double divergenceDropDb = 20, divergenceFloorDb = 20;
  std::string labelA = "A", labelB = "B";  // names in error messages (file names)
  std::function<void()> onSample;          // after each sample (progress)
  OutputsCallback onOutputs;       // sees both models' outputs of each sample
};

/// Checks that B takes the inputs A takes (names, declared dtypes) and returns the
/// same outputs (count, names in order, declared dtypes). Errors name the input
/// or output and use the labels ("MODEL", "REF", file names).
Status checkSameInterface(const Graph& a, const Graph& b, const std::string& labelA, const std::string& labelB);

/// Checks the interfaces (checkSameInterface) and DATA against both models, then
/// runs both over DATA and compares them.
Expected<ModelComparison> compareModels(const Model& a, const Model& b, Dataset& data, const CompareOptions& options);

/// Fills snrDb, inputSnrDb and diverges of `layers` (named tensors of graph `a`)
/// by the rule above; returns the index of the first divergence.
std::optional<size_t> markDivergence(const Graph& a, std::vector<TensorComparison>& layers, double dropDb,
                                     double floorDb);

}  // namespace onnxpress
