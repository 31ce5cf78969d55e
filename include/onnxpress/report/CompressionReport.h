// CompressionReport: everything one `compress` run measured, as plain data. The
// command fills it; report/ReportFormats.h turns it into JSON (schema
// "onnxpress.report" v1, docs/report.md), Markdown, a self-contained HTML page and
// a terminal summary. Nothing here is computed on the fly: a figure that was not
// measured is an empty optional and shows as null / "not measured".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "onnxpress/analysis/Deployability.h"
#include "onnxpress/analysis/Fidelity.h"
#include "onnxpress/pass/PassManager.h"
#include "onnxpress/report/EnergyEstimate.h"

namespace onnxpress {

/// Latency of one inference over timed runs.
struct Latency {
  double medianMs = 0;
  double p90Ms = 0;
  int64_t iterations = 0;
};

/// Size, cost and speed of one model (the input, or the compressed output).
struct ModelFigures {
  int64_t fileBytes = 0;        // .onnx plus its external data files
  int64_t zstdBytes = 0;        // the same bytes compressed with zstd level 3
  int64_t parameters = 0;       // elements of every constant tensor
  int64_t nonzeroParameters = 0;
  int64_t parameterBytes = 0;
  int64_t nodes = 0;
  int64_t macs = 0;
  std::optional<int64_t> peakActivationBytes;  // live activations at the worst point of one run
  std::optional<Latency> latency;               // built-in runtime
  std::optional<Latency> ortLatency;            // ONNX Runtime, when measured
  std::optional<EnergyEstimate> energy;         // an estimate, see EnergyEstimate.h
};

/// Quality of the compressed model: top-1 accuracy on labelled data for both
/// models, and/or fidelity of the compressed outputs against the original's.
struct Quality {
  std::string dataPath;             // DATA the figures come from ("" when none)
  int64_t accuracySamples = 0;
  std::optional<double> accuracyBefore;  // top-1, in [0, 1]
  std::optional<double> accuracyAfter;
  std::optional<Fidelity> fidelity;      // compressed vs original, on the same inputs
};

/// One row of the per-layer table: a node that carries parameters or MACs.
struct LayerRow {
  std::string name;
  std::string opType;
  int64_t parametersBefore = 0, parametersAfter = 0, nonzeroAfter = 0;
  int64_t bytesBefore = 0, bytesAfter = 0;  // parameter bytes
  int64_t macsBefore = 0, macsAfter = 0;
  std::optional<double> snrDb;   // error of this layer's output, where measured
  std::optional<double> cosine;
};

/// A CI gate such as max-accuracy-drop: passed when `measured` is within `threshold`.
struct Gate {
  std::string name;
  double threshold = 0;
  double measured = 0;
  std::string unit;  // "%", "ms", "bytes", "dB" or "" (shown after the numbers)
  bool passed = false;
  std::string note;  // e.g. why a speed gate below its limit still passed (within noise)
};

/// Before/after latency measured in alternation (analysis/PairedLatency.h): the speed
/// ratio (before / after) and its spread over the rounds.
struct LatencyComparison {
  double ratio = 0, low = 0, high = 0;
  int64_t rounds = 0, runsPerModel = 0;
  bool withinNoise = false;
};

/// Per-pass entry: what the PassManager recorded (pass, expanded options, changed,
/// statistics, typed records, seconds) and the model's parameters, MACs and
/// fidelity after the pass, as the driver's PassMeasurement instrumentation measured them.
struct PassEntry : PassRunRecord {
  int64_t parameters = -1;
  int64_t macs = -1;
  std::optional<Fidelity> fidelity;  // against the model before the first pass
  std::optional<double> accuracy;    // top-1 on the evaluation data after this pass
};

struct CompressionReport {
#ifdef ONNXPRESS_VERSION
  std::string toolVersion = ONNXPRESS_VERSION;
#else
  std::string toolVersion;
#endif
  std::string inputPath, outputPath;
  std::string pipeline;  // expanded: every default filled in
  std::vector<PassEntry> passes;
  ModelFigures before, after;
  Quality quality;
  std::vector<LayerRow> layers;
  std::string layerDataPath;  // DATA the per-layer SNR comes from (eval data, else calibration data)
  std::vector<Gate> gates;
  std::optional<LatencyComparison> latencyComparison;  // when latency was measured
  std::optional<Deployability> deployability;          // with --target

  bool gatesPassed() const {
    for (const Gate& g : gates)
      if (!g.passed) return false;
    return true;
  }
};

}  // namespace onnxpress
