// reportToHtml: one self-contained page (inline CSS, inline SVG, no script, no
// external resource) with the report's tables and three charts:
//   #chart-layer-size   per-layer parameter bytes, before and after (bars)
//   #chart-layer-error  per-layer error: SNR in dB, else cosine (bars)
//   #chart-tradeoff     size vs accuracy (else fidelity), original and compressed,
//                       each point labelled with its latency (scatter)
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>

#include "onnxpress/report/ReportFormats.h"
#include "onnxpress/report/ReportTables.h"
#include "onnxpress/report/SvgChart.h"
#include "onnxpress/support/Format.h"

namespace onnxpress {
namespace {

constexpr const char* kBeforeColor = "#7f9cc7";
constexpr const char* kAfterColor = "#e8804f";

constexpr const char* kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 32px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; background: #eee;
       padding: 1px 4px; border-radius: 3px; word-break: break-all; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 12px 0; }
dl.meta dt { color: #666; } dl.meta dd { margin: 0; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { overflow-x: auto; }
.note { color: #555; font-size: 13px; max-width: 900px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: 600; font-size: 13px; }
.pass { background: #d9f2dc; color: #1d6b2a; } .fail { background: #f8d7d4; color: #8f1d13; }
figure { margin: 16px 0 24px; background: #fff; border: 1px solid #e3e3e3; padding: 12px; display: inline-block; }
figcaption { color: #555; font-size: 13px; margin-top: 6px; max-width: 760px; }
svg.chart { display: block; max-width: 100%; height: auto; }
)";

/// A cell that reads as a number (or a ratio) is right-aligned.
bool numericCell(const std::string& text) {
  const size_t i = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  return i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]));
}

std::string htmlTable(const ReportTable& table) {
  std::string out = "<div class=\"scroll\"><table>\n<thead><tr>";
  for (const std::string& h : table.header) out += "<th>" + escapeXml(h) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : table.rows) {
    out += "<tr>";
    for (const std::string& c : row)
      out += (numericCell(c) ? "<td class=\"num\">" : "<td>") + escapeXml(c) + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody></table></div>\n";
}

std::string figure(const std::string& svg, const std::string& caption) {
  return "<figure>\n" + svg + "<figcaption>" + escapeXml(caption) + "</figcaption>\n</figure>\n";
}

std::string layerLabel(const LayerRow& l) { return l.name.empty() ? l.opType : l.name + " (" + l.opType + ")"; }

std::string layerSizeChart(const CompressionReport& r) {
  BarChartSpec spec;
  spec.id = kLayerSizeChartId;
  spec.title = "Parameter bytes per layer";
  spec.axisLabel = "parameter bytes";
  spec.series = {{"before", kBeforeColor, {}}, {"after", kAfterColor, {}}};
  for (const LayerRow& l : r.layers) {
    spec.categories.push_back(layerLabel(l));
    spec.series[0].values.push_back(static_cast<double>(l.bytesBefore));
    spec.series[1].values.push_back(static_cast<double>(l.bytesAfter));
  }
  spec.tickFormat = byteTicks();
  spec.valueFormat = [](double v) { return humanBytes(std::llround(v)); };
  spec.emptyMessage = "no per-layer figures were recorded";
  return barChartSvg(spec);
}

std::string layerErrorChart(const CompressionReport& r) {
  BarChartSpec spec;
  spec.id = kLayerErrorChartId;
  spec.title = "Error per layer (compressed vs original)";
  spec.emptyMessage = "per-layer error was not measured";
  const bool haveSnr = std::any_of(r.layers.begin(), r.layers.end(), [](const LayerRow& l) { return l.snrDb; });
  const bool haveCosine = std::any_of(r.layers.begin(), r.layers.end(), [](const LayerRow& l) { return l.cosine; });
  BarSeries series{haveSnr ? "SNR (dB), higher is better" : "cosine, higher is better", kAfterColor, {}};
  double finiteMax = 0;
  for (const LayerRow& l : r.layers) {
    spec.categories.push_back(layerLabel(l));
    series.values.push_back(haveSnr ? l.snrDb : haveCosine ? l.cosine : std::nullopt);
    if (l.snrDb && *l.snrDb < kIdenticalSnrDb) finiteMax = std::max(finiteMax, *l.snrDb);
  }
  spec.series = {series};
  if (haveSnr) {
    spec.axisLabel = "SNR of the layer's output (dB)";
    // Identical outputs (SNR reported as 999) are drawn a little past the best finite SNR.
    spec.clampMax = finiteMax > 0 ? finiteMax * 1.2 : 100.0;
    spec.tickFormat = decimalTicks(" dB");
    spec.valueFormat = formatSnrDb;
  } else {
    spec.axisLabel = "cosine similarity of the layer's output";
    spec.tickFormat = decimalTicks();
    spec.valueFormat = [](double v) { return fmt::format("{:.6f}", v); };
  }
  return barChartSvg(spec);
}

std::string trainingLossChart(const TrainingRecord& t, size_t passIndex) {
  LineChartSpec spec;
  spec.id = fmt::format("training-loss-{}", passIndex + 1);
  spec.title = fmt::format("{} (pass {}): loss", t.pass, passIndex + 1);
  spec.xLabel = "step";
  spec.yLabel = "loss";
  spec.emptyMessage = "no training step ran";
  LineSeries training{"training", "#1f77b4", {}, false};
  for (const auto& [step, loss] : lossCurve(t.summary)) training.points.emplace_back(static_cast<double>(step), loss);
  spec.series.push_back(std::move(training));
  const train::TrainingSummary& s = t.summary;
  if (!s.validationLoss.empty() && s.epochs > 0) {
    LineSeries heldOut{"held-out", "#d62728", {{0.0, s.initialValidationLoss}}, true};
    const double stepsPerEpoch = static_cast<double>(s.steps) / static_cast<double>(s.epochs);
    for (size_t e = 0; e < s.validationLoss.size(); ++e)
      heldOut.points.emplace_back(std::min<double>(static_cast<double>(s.steps), stepsPerEpoch * static_cast<double>(e + 1)),
                                  s.validationLoss[e]);
    spec.series.push_back(std::move(heldOut));
  }
  return lineChartSvg(spec);
}

std::string tradeoffChart(const CompressionReport& r) {
  ScatterChartSpec spec;
  spec.id = kTradeoffChartId;
  spec.title = "Size, quality and latency";
  spec.xLabel = "file size";
  spec.xTicks = byteTicks();
  spec.emptyMessage = "no accuracy or fidelity was measured (needs evaluation data)";
  const Quality& q = r.quality;
  std::optional<double> yBefore, yAfter;
  std::function<std::string(double)> yText;
  if (q.accuracyBefore && q.accuracyAfter) {
    spec.yLabel = "top-1 accuracy (%)";
    yBefore = *q.accuracyBefore * 100, yAfter = *q.accuracyAfter * 100;
    spec.yTicks = decimalTicks("%");
    yText = [](double v) { return fmt::format("top-1 {:.2f}%", v); };
  } else if (q.fidelity) {
    spec.yLabel = "fidelity: cosine vs original";
    yBefore = 1.0, yAfter = q.fidelity->cosine;
    spec.yTicks = decimalTicks();
    yText = [](double v) { return fmt::format("cosine {:.6f}", v); };
  }
  if (yBefore && yAfter) {
    auto point = [&](const char* label, const ModelFigures& f, double y, const char* color) {
      const std::string latency = f.latency ? formatMilliseconds(f.latency->medianMs) + " median" : "latency not measured";
      return ScatterPoint{label, fmt::format("{}, {}, {}", humanBytes(f.fileBytes), yText(y), latency),
                          static_cast<double>(f.fileBytes), y, color};
    };
    spec.points = {point("original", r.before, *yBefore, kBeforeColor),
                   point("compressed", r.after, *yAfter, kAfterColor)};
  }
  return scatterChartSvg(spec);
}

std::string metaRow(const std::string& name, const std::string& valueHtml) {
  return "<dt>" + escapeXml(name) + "</dt><dd>" + valueHtml + "</dd>\n";
}

std::string codeHtml(const std::string& text) { return "<code>" + escapeXml(text) + "</code>"; }

}  // namespace

std::string reportToHtml(const CompressionReport& r) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>onnxpress report: " + escapeXml(r.inputPath) + "</title>\n";
  out += fmt::format("<style>{}</style>\n</head>\n<body>\n<main>\n", kStyle);
  out += "<h1>onnxpress compression report</h1>\n<dl class=\"meta\">\n";
  out += metaRow("tool", "onnxpress " + escapeXml(r.toolVersion));
  out += metaRow("input", codeHtml(r.inputPath));
  out += metaRow("output", codeHtml(r.outputPath));
  out += metaRow("pipeline", codeHtml(r.pipeline));
  if (!r.quality.dataPath.empty()) out += metaRow("quality data", codeHtml(r.quality.dataPath));
  if (!r.gates.empty())
    out += metaRow("gates", r.gatesPassed() ? "<span class=\"badge pass\">all passed</span>"
                                            : "<span class=\"badge fail\">FAILED</span>");
  out += "</dl>\n";

  out += "<h2>Figures</h2>\n" + htmlTable(figuresTable(r));
  out += "<p class=\"note\">Ratios are before / after: above 1 means smaller, fewer or faster. Accuracy changes are "
         "in percentage points.</p>\n";

  out += "<h2>Charts</h2>\n";
  out += figure(tradeoffChart(r),
                "Original and compressed model: file size against accuracy (or fidelity to the original), each "
                "labelled with its median latency in the built-in runtime.");
  out += figure(layerSizeChart(r), "Bytes of each layer's parameters before and after compression.");
  out += figure(layerErrorChart(r),
                "How far each layer's output moved from the original's on the evaluation data "
                "(SNR in dB where measured, else cosine similarity).");

  const ReportTable energy = energyTable(r);
  if (!energy.rows.empty()) {
    out += "<h2>Energy per inference (estimate)</h2>\n" + htmlTable(energy);
    out += fmt::format(
        "<p class=\"note\">An <strong>estimate</strong>, not a measurement, from operation counts and bytes moved "
        "with the per-operation energies of {} (M. Horowitz, &ldquo;Computing&rsquo;s Energy Problem (and what we "
        "can do about it)&rdquo;): each MAC costs one multiply and one add in the dtype of the layer's weights, every "
        "weight is read once from DRAM ({:g} pJ per 32 bits), and activations are read and written once at SRAM cost "
        "({:g} pJ per 32 bits). Useful for comparing the two models, not as an absolute figure for a device.</p>\n",
        escapeXml(std::string(kEnergySource)), kDramRead32Pj, kSramRead32Pj);
  }

  out += "<h2>Passes</h2>\n" + htmlTable(passesTable(r));
  out += "<h2>Layers</h2>\n";
  out += r.layers.empty() ? "<p class=\"note\">No per-layer figures were recorded.</p>\n" : htmlTable(layersTable(r));
  if (const ReportTable quantized = quantizedTensorsTable(r); !quantized.rows.empty())
    out += "<h2>Quantized tensors</h2>\n" + htmlTable(quantized);
  if (const ReportTable plan = quantizationPlanTable(r); !plan.rows.empty())
    out += "<h2>Mixed precision (min-fidelity)</h2>\n" + htmlTable(plan);
  if (const ReportTable training = trainingTable(r); !training.rows.empty()) {
    out += "<h2>Training</h2>\n" + htmlTable(training);
    for (size_t i = 0; i < r.passes.size(); ++i)
      for (const TrainingRecord* t : recordsOf<TrainingRecord>(r.passes[i].records))
        out += figure(trainingLossChart(*t, i), "Training loss (mean over runs of steps) and held-out loss after each epoch.");
  }
  if (r.deployability)
    out += fmt::format("<h2>Deployability on {}</h2>\n", escapeXml(r.deployability->target)) + htmlTable(deployabilityTable(r));
  if (!r.gates.empty()) out += "<h2>Gates</h2>\n" + htmlTable(gatesTable(r));
  return out + "</main>\n</body>\n</html>\n";
}

}  // namespace onnxpress
