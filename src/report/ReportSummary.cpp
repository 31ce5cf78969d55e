// reportSummary: the headline figures for the terminal, one aligned row each
// (before, after, change), then one line for the gates.
#include <fmt/format.h>

#include <string_view>

#include "onnxpress/report/ReportFormats.h"
#include "onnxpress/report/ReportTables.h"
#include "onnxpress/support/Format.h"

namespace onnxpress {

std::string reportSummary(const CompressionReport& r) {
  // The rows of the full figures table that make the headline, by the start of their label.
  static constexpr std::string_view kHeadline[] = {
      "file size", "zstd-3 size", "parameters", "MACs", "latency median", "speed ratio", "top-1 accuracy",
      "fidelity: cosine", "fidelity: SNR"};
  const ReportTable figures = figuresTable(r);
  TextTable table(figures.header);
  for (const auto& row : figures.rows)
    for (std::string_view prefix : kHeadline)
      if (row[0].starts_with(prefix)) {
        table.addRow(row);
        break;
      }
  std::string out = table.render("");
  if (r.gates.empty()) return out;

  size_t passed = 0;
  std::string failures;
  const ReportTable gates = gatesTable(r);
  for (size_t i = 0; i < r.gates.size(); ++i) {
    if (r.gates[i].passed) ++passed;
    else
      failures += fmt::format("; {} measured {}, threshold {}{}", gates.rows[i][0], gates.rows[i][2], gates.rows[i][1],
                              r.gates[i].note.empty() ? "" : " (" + r.gates[i].note + ")");
  }
  return out + fmt::format("gates: {} of {} passed{}\n", passed, r.gates.size(), failures);
}

}  // namespace onnxpress
