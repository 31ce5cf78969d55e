// Sensitivity: what compressing each layer alone costs, level by level, so that the
// layers that can take heavy compression are told apart from those that cannot. Two
// techniques: prune (levels are sparsities) and quantize (levels are weight bit widths).
//
// The layers are those `prune` would touch with its default op types (Conv, Gemm
// and MatMul with a constant weight; selectPruneTargets), named by their node name,
// or by their weight's name when the node name is empty or not unique. For every
// layer and level L, a copy of the model is compressed with that layer at L and
// nothing else changed, and run on the first `samples` samples of DATA:
//   - DATA with labels: top-1 accuracy (as `eval`); drop = baseline top-1 - top-1,
//     a fraction (0.01 is one percentage point);
//   - DATA without labels: fidelity of the compressed copy against the original's
//     outputs on the same samples (SNR dB and cosine, pooled over all outputs, see
//     Fidelity.h); drop = 1 - cosine.
// The baseline (top-1, or the reference outputs) always comes from the model as given.
//
// technique "prune": the prune pass with that layer at sparsity L and every other
// layer at 0 (granularity passed through). A level at which the pass leaves the model
// unchanged (a channel count that rounds to nothing) scores as the baseline without
// running. With granularity n:m the levels are replaced by the one level the pattern
// gives, 1 - N/M. Labels print the sparsity ("0.5").
//
// technique "quantize": weight-only quantization of that layer's weight through the
// quantize pass (kQuantizeSensitivityLevels: int8 in blocks of 128, int4 in blocks of
// 32, symmetric, dequantized in the graph), the layer singled out with
// op-types=<its op type> and exclude-nodes=^(?!<its escaped node name>$):
//   Before:  x ─ MatMul(W) ─ ...          After (this layer only):
//                                           W_q, scale ─ DequantizeLinear{block_size} ─┐
//                                           x ─ MatMul ──────────────────────────────── ...
// `level` is the fraction of float32's 32 bits removed (int8: 0.75, int4: 0.875), so
// a higher level is still more aggressive and the ranking below is unchanged; `label`
// names the level ("int8", "int4"). `levels` and `granularity` are not used.
// Preconditions, per layer (otherwise the layer gets `error` and is not run):
//   - MatMul or Gemm: weight-only mode does not cover Conv;
//   - a node name that is non-empty and unique in the model: exclude-nodes matches
//     node names only (unnamed nodes are never excluded), so no other name can pick
//     the node out. In the copy the candidates start from, every unnamed node gets a
//     fresh name, so that unnamed nodes of other layers stay float;
//   - the pass quantizes exactly that node (its reason is reported when it skips it).
// The model must not be quantized already, and it is upgraded to opset 21 (blocked
// DequantizeLinear; OpsetUpgrade.h) once, up front, in that copy: an upgrade the
// policy refuses fails the analysis.
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

/// The levels of technique "quantize", in order: weight-only quantization with
/// `weightType` codes and one scale per `blockSize` weights along the reduction dim.
struct QuantizeSensitivityLevel {
  const char* label;
  const char* weightType;
  int64_t blockSize;
  double level;  // 1 - bits / 32
};
inline constexpr QuantizeSensitivityLevel kQuantizeSensitivityLevels[] = {{"int8", "int8", 128, 0.75},
                                                                          {"int4", "int4", 32, 0.875}};

struct SensitivityOptions {
  std::string technique = "prune";                         // prune or quantize
  std::vector<double> levels = {0.1, 0.3, 0.5, 0.7, 0.9};  // prune: each in (0, 1); empty means these
  std::string granularity = "unstructured";                // prune: unstructured, n:m, channel or neuron
  std::string nm = "2:4";                                  // prune: the pattern for granularity n:m
  int64_t samples = 256;                                   // the first N samples of DATA; <= 0: all
  int threads = 0;                                         // 0: all cores
  std::function<void()> onStep;  // after each (layer, level), from worker threads, one call at a time
};

struct SensitivityPoint {
  double level = 0;
  std::string label;                // "0.5" (prune), "int8" or "int4" (quantize)
  double top1 = 0;                  // accuracy mode
  double snrDb = 999, cosine = 1;   // fidelity mode
  double drop = 0;                  // baseline top-1 - top-1, or 1 - cosine
  bool changed = true;              // false: the pass left the model as it was (prune only)
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
  std::string technique;              // prune or quantize
  std::vector<double> levels;         // ascending
  std::vector<std::string> labels;    // one per level, as SensitivityPoint::label
  std::string granularity;            // prune's granularity; empty for quantize
  double baselineTop1 = 0;            // accuracy mode
  std::vector<LayerSensitivity> layers;  // in graph order
  std::vector<size_t> ranking;        // indices into `layers`, most sensitive first (measured layers only)
  double seconds = 0;                 // wall time of the whole analysis
  int threads = 1;                    // worker threads used
};

/// Measures every layer at every level. Usage errors: an unknown technique; prune: a
/// level outside (0, 1), an unknown granularity, a malformed n:m; quantize: a model
/// already quantized. Invalid input: DATA that does not fit the model, a model without
/// Conv/Gemm/MatMul layers (quantize: none that meets the preconditions above, the
/// first layer's reason quoted). Quantize: the opset upgrade's refusal, as it is. A
/// layer the pass refuses (or whose compressed copy fails to run) gets `error` and the
/// others go on.
Expected<SensitivityResult> analyzeSensitivity(const Model& model, Dataset& data, const SensitivityOptions& options);

/// The number of (layer, level) steps analyzeSensitivity() will take (for a progress
/// bar's total); the same usage errors for bad options.
Expected<int64_t> sensitivitySteps(const Model& model, const SensitivityOptions& options);

/// For a prune result: for each measured layer, "NAME=S" with S the highest level
/// such that it and every lower level keep the drop <= maxDrop (0 when even the lowest
/// does not; layers with an error get 0 too). maxDrop is in the drop's units: accuracy
/// as a fraction, or 1 - cosine for DATA without labels.
std::vector<std::string> choosePerLayer(const SensitivityResult& result, double maxDrop);

/// analyzeSensitivity() then choosePerLayer(): what `prune --per-layer auto --max-drop X` uses.
/// A usage error for technique quantize (its levels are not sparsities).
Expected<std::vector<std::string>> chooseSparsityPerLayer(const Model& model, Dataset& data, double maxDrop,
                                                          const SensitivityOptions& options);

}  // namespace onnxpress
