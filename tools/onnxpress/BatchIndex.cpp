// The batch index: DIR/index.json (schema onnxpress.batch-index v1), index.csv and
// index.html, one row per model in manifest order, with links to each model's reports.
#include <fstream>
#include <map>

#include "Batch.h"
#include "onnxpress/report/SvgChart.h"
#include "onnxpress/support/AtomicFile.h"
#include "onnxpress/report/JsonText.h"

namespace onnxpress::cli {
using nlohmann::json;

const std::vector<BatchStatus>& batchStatuses() {
  static const std::vector<BatchStatus> statuses = {
      {"ok", 0, "compressed; every gate met"},
      {"gate-failed", 4, "compressed, but a recipe gate was not met"},
      {"invalid", 2, "the model, or the recipe applied to it, is invalid or unsupported (compress exit 1 or 2)"},
      {"timed-out", 6, "stopped after --timeout"},
      {"out-of-memory", 7, "stopped above --max-rss"},
      {"error", 3, "compress failed with an internal error (exit 3)"},
      {"crashed", 5, "compress was killed by a signal"},
  };
  return statuses;
}

int batchExitCode(const std::vector<json>& records) {
  const auto& statuses = batchStatuses();
  size_t worst = 0;
  for (const json& r : records) {
    const std::string s = r.value("status", "error");
    for (size_t i = 0; i < statuses.size(); ++i)
      if (s == statuses[i].name) worst = std::max(worst, i);
  }
  return statuses[worst].exitCode;
}

namespace {

std::string csvField(const json& v) {
  if (v.is_null()) return "";
  if (v.is_number_float()) return fmt::format("{:.6g}", v.get<double>());
  std::string s = v.is_string() ? v.get<std::string>() : jsonText(v);
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

const std::vector<const char*> kColumns = {"name",          "status",           "input",           "size_before",
                                           "size_after",    "size_ratio",       "latency_before_ms", "latency_after_ms",
                                           "speedup",       "accuracy_before",  "accuracy_after",  "accuracy_drop",
                                           "fidelity_snr_db", "seconds",        "peak_rss_mb",     "error"};

std::string csvOf(const std::vector<json>& records) {
  std::string out;
  for (size_t c = 0; c < kColumns.size(); ++c) out += (c ? "," : "") + std::string(kColumns[c]);
  out += "\n";
  for (const json& r : records) {
    for (size_t c = 0; c < kColumns.size(); ++c) out += (c ? "," : "") + csvField(r.value(kColumns[c], json()));
    out += "\n";
  }
  return out;
}

std::string cellText(const json& v, const char* format = "{:.3g}") {
  if (v.is_null()) return "-";
  if (v.is_number_float()) return fmt::format(fmt::runtime(format), v.get<double>());
  return escapeXml(v.is_string() ? v.get<std::string>() : jsonText(v));
}

std::string link(const json& record, const char* file, const std::string& text) {
  const json files = record.value("files", json::object());
  if (!files.contains(file)) return text;
  return fmt::format("<a href=\"{}\">{}</a>", escapeXml(files[file].get<std::string>()), text);
}

std::string htmlOf(const std::vector<json>& records, const json& header, const std::map<std::string, int>& counts) {
  std::string summary;
  for (const auto& [status, n] : counts) summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", n, status);
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>onnxpress batch</title>\n<style>"
      "body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}"
      "td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:nth-child(-n+3),th{{text-align:left}}"
      ".ok{{background:#e6f4e6}}.bad{{background:#fbe3e3}}.gate{{background:#fff4d6}}</style></head><body>\n"
      "<h1>onnxpress batch</h1>\n<p>recipe {} &middot; {} models: {}{}</p>\n<table>\n<tr><th>model</th><th>status</th>"
      "<th>input</th><th>size before</th><th>size after</th><th>smaller</th><th>latency before (ms)</th>"
      "<th>latency after (ms)</th><th>speedup</th><th>accuracy before</th><th>accuracy after</th><th>SNR (dB)</th>"
      "<th>time (s)</th><th>peak RSS (MB)</th><th>error</th></tr>\n",
      cellText(header.value("recipe", json())), records.size(), summary,
      header.value("shard", json()).is_null() ? "" : " &middot; shard " + cellText(header["shard"]));
  for (const json& r : records) {
    const std::string status = r.value("status", "");
    const char* cls = status == "ok" ? "ok" : status == "gate-failed" ? "gate" : "bad";
    html += fmt::format(
        "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        cls, link(r, "report.html", cellText(r.value("name", json()))), link(r, "log.txt", cellText(status)),
        cellText(r.value("input", json())), cellText(r.value("size_before", json()), "{:.0f}"),
        cellText(r.value("size_after", json()), "{:.0f}"), cellText(r.value("size_ratio", json()), "{:.2f}x"),
        cellText(r.value("latency_before_ms", json())), cellText(r.value("latency_after_ms", json())),
        cellText(r.value("speedup", json()), "{:.2f}x"), cellText(r.value("accuracy_before", json()), "{:.4f}"),
        cellText(r.value("accuracy_after", json()), "{:.4f}"), cellText(r.value("fidelity_snr_db", json()), "{:.1f}"),
        cellText(r.value("seconds", json()), "{:.1f}"), cellText(r.value("peak_rss_mb", json()), "{:.0f}"),
        cellText(r.value("error", json())));
  }
  return html + "</table>\n</body></html>\n";
}

}  // namespace

Status writeBatchIndex(const std::string& outDir, std::vector<json> records, const json& header) {
  std::sort(records.begin(), records.end(),
            [](const json& a, const json& b) { return a.value("index", 0) < b.value("index", 0); });
  std::map<std::string, int> counts;
  for (const json& r : records) ++counts[r.value("status", "")];
  json statuses = json::array();
  for (const BatchStatus& s : batchStatuses())
    statuses.push_back({{"status", s.name}, {"exit_code", s.exitCode}, {"meaning", s.meaning}});
  const json index = {{"schema", "onnxpress.batch-index"},
                      {"schema_version", 1},
                      {"batch", header},
                      {"counts", counts},
                      {"exit_code", batchExitCode(records)},
                      {"statuses", statuses},
                      {"models", records}};
  const std::string dir = outDir.empty() ? "." : outDir;
  RETURN_IF_ERROR(writeFileAtomically(dir + "/index.json", jsonText(index, 2) + "\n"));
  RETURN_IF_ERROR(writeFileAtomically(dir + "/index.csv", csvOf(records)));
  return writeFileAtomically(dir + "/index.html", htmlOf(records, header, counts));
}

Expected<json> readBatchIndex(const std::string& dir) {
  const std::string path = dir + "/index.json";
  std::ifstream in(path);
  if (!in) return invalidInput("{}: no batch index here (run onnxpress batch first)", path);
  json index = json::parse(in, nullptr, false);
  if (index.is_discarded() || index.value("schema", "") != "onnxpress.batch-index" || !index.contains("models") ||
      !index["models"].is_array())
    return invalidInput("{}: not an onnxpress batch index", path);
  return index;
}

}  // namespace onnxpress::cli
