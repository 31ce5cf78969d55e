// The formats a CompressionReport is written in:
// - JSON, schema "onnxpress.report" version 1 (docs/report.md, docs/report.schema.json);
// - Markdown, for pull requests and CI summaries;
// - one self-contained HTML page (inline CSS and SVG, no script, no external
//   resource) with three charts: per-layer size, per-layer error, and the
//   size / quality / latency trade-off;
// - a few lines of text for the terminal.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "onnxpress/report/CompressionReport.h"
#include "onnxpress/support/Status.h"

namespace onnxpress {

constexpr const char* kReportSchema = "onnxpress.report";
constexpr int kReportSchemaVersion = 1;

/// Element ids of the HTML report's charts (tests look them up).
constexpr const char* kLayerSizeChartId = "chart-layer-size";
constexpr const char* kLayerErrorChartId = "chart-layer-error";
constexpr const char* kTradeoffChartId = "chart-tradeoff";

nlohmann::json reportToJson(const CompressionReport& report);
std::string reportToMarkdown(const CompressionReport& report);
std::string reportToHtml(const CompressionReport& report);
/// Size, parameters, MACs, latency, quality and gates, each before / after / change.
std::string reportSummary(const CompressionReport& report);

/// {samples, max_abs, mean_abs, cosine, snr_db}, as in `compress --json`.
nlohmann::json fidelityToJson(const Fidelity& fidelity);
/// {pass, options, changed, statistics, seconds, parameters, macs[, fidelity]}, as in `compress --json`.
nlohmann::json passRecordToJson(const PassEntry& record);

/// Writes the report in the format named by the extension of `path` (.json, .md,
/// .html; anything else is a usage error), through a temporary file that is
/// renamed into place.
Status writeReport(const CompressionReport& report, const std::string& path);

}  // namespace onnxpress
