// The figures a compression report shows for one model: size (file, zstd,
// parameters, nonzero), cost (MACs, energy estimate), and, when inputs can be fed,
// speed and peak activation memory measured in the built-in runtime; plus the
// per-layer figures the layer table compares.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "onnxpress/analysis/CompareModels.h"
#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/report/CompressionReport.h"

namespace onnxpress {

/// A node that carries parameters or MACs.
struct LayerFigures {
  std::string name;    // node name, else its first output's name
  std::string tensor;  // first output's name (matches per-tensor comparisons)
  std::string op;
  int64_t parameters = 0, nonzero = 0, bytes = 0, macs = 0;
};

struct MeasuredModel {
  ModelFigures figures;
  std::vector<LayerFigures> layers;  // execution order
};

struct MeasureOptions {
  std::optional<InputFeed> feed;  // none: speed and peak memory are not measured
  int iterations = 10;  // 0: no latency or peak-memory measurement
  int threads = 0;
};

/// Measures `model` as saved in `files` (the model file, then its external data;
/// io/ModelIO.h: loadedModelFiles, savedModelFiles). The model itself is not modified.
Expected<MeasuredModel> measureModel(const Model& model, const std::vector<std::string>& files,
                                     const MeasureOptions& options);

/// The layer table: layers of `before` in order, matched by name in `after`, then
/// layers only `after` has (e.g. the factors lowrank creates). Per-layer error comes
/// from `perTensor` (a per-layer comparison of before and after), where it has the tensor.
std::vector<LayerRow> layerTable(const MeasuredModel& before, const MeasuredModel& after,
                                 const std::vector<TensorComparison>& perTensor);

}  // namespace onnxpress
