// Sensitivity: what pruning each layer alone costs, level by level, so that the
// layers that can take heavy pruning are told apart from those that cannot.
//
// The layers are those `prune` would touch with its default op types (Conv, Gemm
// and MatMul with a constant weight; selectPruneTargets), named by their node name,
// or by their weight's name when the node name is empty or not unique. For every
// layer and level L, a copy of the model is pruned by the prune pass with that layer
// at sparsity L and every other layer at 0 (granularity passed through) and run on
// the first `samples` samples of DATA:
//   - DATA with labels: top-1 accuracy (as `eval`); drop = baseline top-1 - top-1,
//     a fraction (0.01 is one percentage point);
//   - DATA without labels: fidelity of the pruned copy against the original's
//     outputs on the same samples (SNR dB and cosine, pooled over all outputs, see
//     Fidelity.h); drop = 1 - cosine.
// A level at which the pass leaves the model unchanged (a channel count that rounds
// to nothing) scores as the baseline without running. With granularity n:m the
// levels are replaced by the one level the pattern gives, 1 - N/M.
//
// Ranking (most sensitive first): the largest drop at the highest level, ties
// broken by the area under the drop curve (trapezoids from (0, 0) over the levels).
//
// Speed: DATA is read once, the original runs once, each candidate gets one
// Executor for all its samples, and candidates run in parallel, one per worker
// thread (each executor then single-threaded, unless there are fewer candidates
// than threads).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/Model.h"
#include "onnxpress/support/Status.h"

namespace onnxpress {

struct SensitivityOptions {
  std::vector<double> levels = {0.1, 0.3, 0.5, 0.7, 0.9};  // each in (0, 1); empty means these
  std::string granularity = "unstructured";                // unstructured, n:m, channel or neuron
  std::string nm = "2:4";                                  // the pattern for granularity n:m
  int64_t samples = 256;                                   // the first N samples of DATA; <= 0: all
  int threads = 0;                                         // 0: all cores
  std::function<void()> onStep;  // after each (layer, level), from worker threads, one call at a time
};

struct SensitivityPoint {
  double level = 0;
  double top1 = 0;                  // accuracy mode
  double snrDb = 999, cosine = 1;   // fidelity mode
  double drop = 0;                  // baseline top-1 - top-1, or 1 - cosine
  bool changed = true;              // false: the pass left the model as it was
};

struct LayerSensitivity {
  std::string name;   // the per-layer NAME prune accepts
  std::string opType;
  int64_t params = 0;                    // weight elements
  std::vector<SensitivityPoint> points;  // one per level; empty when `error` is set
  std::string error;                     // why the layer could not be measured
  double dropAtMax = 0, area = 0;
};

struct SensitivityResult {
  bool accuracy = false;  // top-1 on labels; false: fidelity against the original
  int64_t samples = 0;
  std::vector<double> levels;  // ascending
  std::string granularity;
  double baselineTop1 = 0;            // accuracy mode
  std::vector<LayerSensitivity> layers;  // in graph order
  std::vector<size_t> ranking;        // indices into `layers`, most sensitive first (measured layers only)
  double seconds = 0;                 // wall time of the whole analysis
  int threads = 1;                    // worker threads used
};

/// Measures every prunable layer at every level. Usage errors: a level outside
/// (0, 1), an unknown granularity, a malformed n:m. Invalid input: DATA that does
/// not fit the model, a model without prunable layers. A layer the pass refuses
/// (or whose pruned copy fails to run) gets `error` and the others go on.
Expected<SensitivityResult> analyzeSensitivity(const Model& model, Dataset& data, const SensitivityOptions& options);

/// The number of (layer, level) steps analyzeSensitivity() will take (for a progress
/// bar's total); the same usage errors for bad options.
Expected<int64_t> sensitivitySteps(const Model& model, const SensitivityOptions& options);

/// For each measured layer, "NAME=S" with S the highest level such that it and every
/// lower level keep the drop <= maxDrop (0 when even the lowest does not; layers
/// with an error get 0 too). maxDrop is in the drop's units: accuracy as a fraction,
/// or 1 - cosine for DATA without labels.
std::vector<std::string> choosePerLayer(const SensitivityResult& result, double maxDrop);

/// analyzeSensitivity() then choosePerLayer(): what `prune --per-layer auto --max-drop X` uses.
Expected<std::vector<std::string>> chooseSparsityPerLayer(const Model& model, Dataset& data, double maxDrop,
                                                          const SensitivityOptions& options);

}  // namespace onnxpress
