// writeReport: picks the format from the file extension and writes atomically.
#include <filesystem>

#include "onnxpress/report/ReportFormats.h"
#include "onnxpress/support/AtomicFile.h"
#include "onnxpress/report/JsonText.h"

namespace onnxpress {

Status writeReport(const CompressionReport& report, const std::string& path) {
  const std::string extension = std::filesystem::path(path).extension().string();
  std::string text;
  if (extension == ".json") text = jsonText(reportToJson(report), 2) + "\n";
  else if (extension == ".md") text = reportToMarkdown(report);
  else if (extension == ".html") text = reportToHtml(report);
  else return usageError("{}: report format is chosen by extension: .json, .md or .html", path);
  return writeFileAtomically(path, text);
}

}  // namespace onnxpress
