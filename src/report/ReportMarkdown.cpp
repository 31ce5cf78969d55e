// reportToMarkdown: the report as GitHub-flavoured Markdown tables, in the same
// order and wording as the HTML page (charts excepted).
#include <fmt/format.h>

#include "onnxpress/report/ReportFormats.h"
#include "onnxpress/report/ReportTables.h"

namespace onnxpress {
namespace {

/// A table cell: pipes escaped, line breaks flattened.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

/// Inline code that survives backticks in the text (CommonMark: a longer fence).
std::string code(const std::string& text) {
  const std::string fence = text.find('`') == std::string::npos ? "`" : "`` ";
  return fence + text + (fence == "`" ? "`" : " ``");
}

std::string markdownTable(const ReportTable& table) {
  auto row = [](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (const std::string& c : cells) out += " " + cell(c) + " |";
    return out + "\n";
  };
  std::string out = row(table.header) + "|";
  for (size_t i = 0; i < table.header.size(); ++i) out += " --- |";
  out += "\n";
  for (const auto& r : table.rows) out += row(r);
  return out + "\n";
}

}  // namespace

std::string reportToMarkdown(const CompressionReport& r) {
  std::string out = "# onnxpress compression report\n\n";
  out += fmt::format("- tool: onnxpress {}\n- input: {}\n- output: {}\n- pipeline: {}\n", r.toolVersion,
                     code(r.inputPath), code(r.outputPath), code(r.pipeline));
  if (!r.quality.dataPath.empty()) out += fmt::format("- quality data: {}\n", code(r.quality.dataPath));
  if (!r.gates.empty()) out += fmt::format("- gates: **{}**\n", r.gatesPassed() ? "all passed" : "FAILED");
  out += "\nRatios are before / after: above 1 means smaller, fewer or faster.\n\n";

  out += "## Figures\n\n" + markdownTable(figuresTable(r));

  const ReportTable energy = energyTable(r);
  if (!energy.rows.empty()) {
    out += fmt::format("## Energy per inference (estimate)\n\n{}", markdownTable(energy));
    out += fmt::format(
        "An estimate, not a measurement: MACs at the {} per-operation energies for the weights' dtype, every "
        "weight read once from DRAM, activations read and written once at SRAM cost (see docs/report.md).\n\n",
        kEnergySource);
  }
  out += "## Passes\n\n" + markdownTable(passesTable(r));
  out += "## Layers\n\n";
  out += r.layers.empty() ? "No per-layer figures were recorded.\n\n" : markdownTable(layersTable(r));
  if (!r.layerDataPath.empty()) out += fmt::format("Per-layer SNR measured on {}.\n\n", code(r.layerDataPath));
  if (const ReportTable quantized = quantizedTensorsTable(r); !quantized.rows.empty())
    out += "## Quantized tensors\n\n" + markdownTable(quantized);
  if (const ReportTable plan = quantizationPlanTable(r); !plan.rows.empty())
    out += "## Mixed precision (min-fidelity)\n\n" + markdownTable(plan);
  if (const ReportTable training = trainingTable(r); !training.rows.empty())
    out += "## Training\n\n" + markdownTable(training);
  if (r.deployability)
    out += fmt::format("## Deployability on {}\n\n", r.deployability->target) + markdownTable(deployabilityTable(r));
  if (!r.gates.empty()) out += "## Gates\n\n" + markdownTable(gatesTable(r));
  return out;
}

}  // namespace onnxpress
