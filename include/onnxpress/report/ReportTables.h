// The report's tables as formatted text cells, built once and rendered by every
// human-readable format (Markdown, HTML, terminal summary), so that all of them
// show the same figures with the same wording.
//
// Ratios are before / after: 4.00x on file size means the output is four times
// smaller, 1.50x on latency means it runs 1.5 times faster. The "change" column
// spells that out ("4.00x smaller", "1.50x faster", "same (1.00x)"); accuracy
// changes are differences in percentage points ("-0.40 pp").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "onnxpress/passes/quantization/QuantizationRecord.h"
#include "onnxpress/passes/training/TrainingOptions.h"
#include "onnxpress/report/CompressionReport.h"

namespace onnxpress {

struct ReportTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

/// before / after, or nullopt when either is missing or after is not positive.
std::optional<double> reductionRatio(std::optional<double> before, std::optional<double> after);

/// Fidelity's SNR for identical outputs (analysis/Fidelity.h).
constexpr double kIdenticalSnrDb = 999;

/// "35.5 dB", or "identical" for kIdenticalSnrDb.
std::string formatSnrDb(double db);
/// "830.4 pJ", "12.5 nJ", "133.0 µJ", "1.2 mJ", "3.1 J".
std::string formatPicojoules(double picojoules);
/// "0.412 ms", "12.35 ms".
std::string formatMilliseconds(double ms);

/// figure | before | after | change: size, zstd size, parameters, nonzero parameters,
/// parameter bytes, nodes, MACs, peak activation memory, latency, accuracy, fidelity
/// and the energy estimate. Optional figures appear when measured on either side.
ReportTable figuresTable(const CompressionReport& report);
/// part | before | after | change: compute, weights from DRAM, activations, total.
/// No rows when neither side has an estimate.
ReportTable energyTable(const CompressionReport& report);
/// pass | options | changed | statistics | parameters | MACs | fidelity | [top-1 |] time.
ReportTable passesTable(const CompressionReport& report);
/// One row per LayerRow: parameters, nonzero, size, MACs before and after, error.
ReportTable layersTable(const CompressionReport& report);
/// tensor | role | type | granularity | scale | zero point | range | SQNR, one row per
/// tensor a quantize pass wrote (per-channel scales summarized as min..max).
ReportTable quantizedTensorsTable(const CompressionReport& report);
/// min-fidelity's per-layer sensitivity and the precision each layer got (empty without a plan).
ReportTable quantizationPlanTable(const CompressionReport& r);
/// One row per training pass (distill, finetune): teacher, loss, schedule, held-out loss, time.
ReportTable trainingTable(const CompressionReport& r);
/// The mean training loss of `buckets` equal runs of steps (the loss curve the report draws).
std::vector<std::pair<int64_t, double>> lossCurve(const train::TrainingSummary& summary, size_t buckets = 100);
/// --target: severity | rule | finding | nodes, then budget | limit | measured | result rows.
ReportTable deployabilityTable(const CompressionReport& report);
/// gate | threshold | measured | result.
ReportTable gatesTable(const CompressionReport& report);

}  // namespace onnxpress
