// Compression report: the JSON matches docs/report.schema.json field for field,
// the Markdown and HTML carry the tables, ratios and charts, the energy estimate
// follows its formula, and zstd sizes come from real compression.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "TestUtil.h"
#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/report/EnergyEstimate.h"
#include "onnxpress/report/ReportFormats.h"
#include "onnxpress/report/SvgChart.h"
#include "onnxpress/report/ZstdSize.h"

namespace onnxpress {
namespace {

using nlohmann::json;
using test::parseModel;
using test::TempDir;

ModelFigures figures(int64_t fileBytes, int64_t parameters, int64_t macs) {
  ModelFigures f;
  f.fileBytes = fileBytes;
  f.zstdBytes = fileBytes * 3 / 4;
  f.parameters = parameters;
  f.nonzeroParameters = parameters / 2;
  f.parameterBytes = parameters * 4;
  f.nodes = 10;
  f.macs = macs;
  return f;
}

/// A report with every optional figure filled in.
CompressionReport fullReport() {
  CompressionReport r;
  r.toolVersion = "0.1.0";
  r.inputPath = "models/in.onnx";
  r.outputPath = "out/out.onnx";
  r.pipeline = "eliminate-dead{functions=true opsets=true}";
  PassEntry pass;
  pass.pass = "eliminate-dead";
  pass.options = "functions=true opsets=true";
  pass.changed = true;
  pass.statistics = {{"nodes removed", 2}};
  pass.seconds = 0.002;
  pass.parameters = 250;
  pass.macs = 5000;
  pass.fidelity = Fidelity{16, 0.01, 0.001, 0.9999, 40.0};
  r.passes = {pass};

  r.before = figures(4000, 1000, 20000);
  r.after = figures(1000, 250, 5000);
  r.before.peakActivationBytes = 2048;
  r.after.peakActivationBytes = 1024;
  r.before.latency = Latency{2.0, 2.5, 50};
  r.after.latency = Latency{1.0, 1.25, 50};
  r.before.ortLatency = Latency{0.5, 0.6, 50};
  r.after.ortLatency = Latency{0.25, 0.3, 50};
  EnergyCounts counts;
  counts.macs[static_cast<size_t>(MacClass::Fp32)] = 20000;
  counts.weightBytes = 4000;
  counts.activationBytes = 800;
  r.before.energy = estimateEnergy(counts);
  counts.macs = {};
  counts.macs[static_cast<size_t>(MacClass::Int8)] = 5000;
  counts.weightBytes = 1000;
  r.after.energy = estimateEnergy(counts);

  r.quality.dataPath = "eval.npz";
  r.quality.accuracySamples = 1000;
  r.quality.accuracyBefore = 0.912;
  r.quality.accuracyAfter = 0.908;
  r.quality.fidelity = Fidelity{16, 0.02, 0.002, 0.9998, 35.5};

  LayerRow conv{"conv1", "Conv", 200, 200, 200, 800, 800, 15000, 15000, 999.0, 1.0};
  LayerRow fc{"fc|1<x>", "Gemm", 800, 50, 50, 3200, 200, 5000, 5000, 12.5, 0.98};
  r.layers = {conv, fc};
  r.gates = {{"max-accuracy-drop", 1.0, 0.4, "%", true, ""}, {"max-latency", 1.0, 1.2, "ms", false, ""}};
  return r;
}

/// A report with nothing optional measured.
CompressionReport minimalReport() {
  CompressionReport r;
  r.inputPath = "in.onnx";
  r.outputPath = "out.onnx";
  r.pipeline = "eliminate-dead{functions=true opsets=true}";
  r.before = figures(4000, 1000, 20000);
  r.after = figures(4000, 1000, 20000);
  return r;
}

// ---- a validator for the subset of JSON Schema that docs/report.schema.json uses --------------
// type (a name or a list of names), const, required, properties, items. Objects that list
// their properties may not carry any other key, so the schema documents every field.

bool hasType(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "null") return value.is_null();
  ADD_FAILURE() << "schema uses unknown type " << type;
  return false;
}

void validate(const json& schema, const json& value, const std::string& path, std::vector<std::string>& errors) {
  if (schema.contains("type")) {
    const json types = schema["type"].is_array() ? schema["type"] : json::array({schema["type"]});
    bool matched = false;
    for (const json& t : types) matched = matched || hasType(value, t.get<std::string>());
    if (!matched) {
      errors.push_back(path + ": expected " + types.dump() + ", got " + value.type_name());
      return;
    }
  }
  if (schema.contains("const") && value != schema["const"])
    errors.push_back(path + ": expected " + schema["const"].dump() + ", got " + value.dump());
  if (value.is_object() && schema.contains("properties")) {
    for (const json& key : schema.value("required", json::array()))
      if (!value.contains(key.get<std::string>())) errors.push_back(path + ": missing " + key.get<std::string>());
    for (const auto& [key, child] : value.items()) {
      if (!schema["properties"].contains(key)) errors.push_back(path + ": undocumented field " + key);
      else validate(schema["properties"][key], child, path + "." + key, errors);
    }
  }
  if (value.is_array() && schema.contains("items"))
    for (size_t i = 0; i < value.size(); ++i)
      validate(schema["items"], value[i], path + "[" + std::to_string(i) + "]", errors);
}

json loadSchema() {
  std::ifstream in(std::string(ONNXPRESS_SOURCE_DIR) + "/docs/report.schema.json");
  EXPECT_TRUE(in.good()) << "cannot read docs/report.schema.json";
  return json::parse(in);
}

std::vector<std::string> schemaErrors(const json& report) {
  std::vector<std::string> errors;
  validate(loadSchema(), report, "$", errors);
  return errors;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

/// The <svg ...>...</svg> element with `id`, or "" when absent.
std::string svgById(const std::string& html, const std::string& id) {
  const size_t start = html.find("<svg id=\"" + id + "\"");
  if (start == std::string::npos) return "";
  const size_t end = html.find("</svg>", start);
  return end == std::string::npos ? "" : html.substr(start, end + 6 - start);
}

size_t countOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// ---- JSON -------------------------------------------------------------------------------------

TEST(ReportJson, FullReportHasEverySchemaFieldWithItsType) {
  const json j = reportToJson(fullReport());
  const auto errors = schemaErrors(j);
  EXPECT_TRUE(errors.empty()) << joined(errors);
  // Optional parts are really present in this report, so the validator saw their fields.
  EXPECT_TRUE(j["passes"][0].contains("fidelity"));
  EXPECT_TRUE(j["before"]["energy"].is_object());
  EXPECT_TRUE(j["quality"]["accuracy"].is_object());
  EXPECT_TRUE(j["after"]["latency"]["onnxruntime"].is_object());
}

TEST(ReportJson, MinimalReportHasNullsWhereNothingWasMeasured) {
  const json j = reportToJson(minimalReport());
  const auto errors = schemaErrors(j);
  EXPECT_TRUE(errors.empty()) << joined(errors);
  EXPECT_TRUE(j["before"]["latency"]["builtin"].is_null());
  EXPECT_TRUE(j["before"]["energy"].is_null());
  EXPECT_TRUE(j["before"]["peak_activation_bytes"].is_null());
  EXPECT_TRUE(j["quality"]["accuracy"].is_null());
  EXPECT_TRUE(j["quality"]["fidelity"].is_null());
  EXPECT_TRUE(j["quality"]["data"].is_null());
  EXPECT_TRUE(j["ratios"]["latency_median_ms"].is_null());
  EXPECT_TRUE(j["gates_passed"].get<bool>());
}

TEST(ReportJson, ValidatorRejectsMissingMistypedAndUndocumentedFields) {
  json j = reportToJson(fullReport());
  j["before"].erase("zstd_bytes");
  j["layers"][0]["macs_after"] = "many";
  j["quality"]["surprise"] = 1;
  j["schema_version"] = 2;
  const std::string errors = joined(schemaErrors(j));
  EXPECT_NE(errors.find("$.before: missing zstd_bytes"), std::string::npos) << errors;
  EXPECT_NE(errors.find("$.layers[0].macs_after: expected"), std::string::npos) << errors;
  EXPECT_NE(errors.find("$.quality: undocumented field surprise"), std::string::npos) << errors;
  EXPECT_NE(errors.find("$.schema_version: expected 1"), std::string::npos) << errors;
}

TEST(ReportJson, ValuesRatiosAndGates) {
  const json j = reportToJson(fullReport());
  EXPECT_EQ(j["schema"], "onnxpress.report");
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["tool"]["version"], "0.1.0");
  EXPECT_EQ(j["pipeline"], "eliminate-dead{functions=true opsets=true}");
  EXPECT_EQ(j["passes"][0]["statistics"]["nodes removed"], 2);
  EXPECT_DOUBLE_EQ(j["ratios"]["file_bytes"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(j["ratios"]["macs"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(j["ratios"]["latency_median_ms"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j["ratios"]["peak_activation_bytes"].get<double>(), 2.0);
  EXPECT_NEAR(j["quality"]["accuracy"]["drop"].get<double>(), 0.004, 1e-12);
  EXPECT_EQ(j["before"]["energy"]["estimate"], true);
  EXPECT_EQ(j["after"]["energy"]["macs_by_class"]["int8"], 5000);
  EXPECT_EQ(j["layers"][1]["name"], "fc|1<x>");
  EXPECT_EQ(j["gates"][1]["passed"], false);
  EXPECT_EQ(j["gates_passed"], false);
}

// ---- Markdown, HTML, summary -------------------------------------------------------------------

TEST(ReportMarkdown, HasTablesRatiosAndEscapedCells) {
  const std::string md = reportToMarkdown(fullReport());
  EXPECT_NE(md.find("| figure | before | after | change |"), std::string::npos) << md;
  EXPECT_NE(md.find("| file size | 3.9 KiB | 1000 B | 4.00x smaller |"), std::string::npos) << md;
  EXPECT_NE(md.find("| MACs | 20,000 | 5,000 | 4.00x fewer |"), std::string::npos) << md;
  EXPECT_NE(md.find("| latency median (built-in) | 2.00 ms | 1.00 ms | 2.00x faster |"), std::string::npos) << md;
  EXPECT_NE(md.find("| top-1 accuracy (1000 samples) | 91.20% | 90.80% | -0.40 pp |"), std::string::npos) << md;
  EXPECT_NE(md.find("| nodes | 10 | 10 | same (1.00x) |"), std::string::npos) << md;
  EXPECT_NE(md.find("energy per inference (estimate)"), std::string::npos) << md;
  EXPECT_NE(md.find("## Energy per inference (estimate)"), std::string::npos) << md;
  EXPECT_NE(md.find("| pass | options | changed |"), std::string::npos) << md;
  EXPECT_NE(md.find("| layer | op |"), std::string::npos) << md;
  EXPECT_NE(md.find("| fc\\|1<x> | Gemm | 800 | 50 |"), std::string::npos) << md;  // pipe escaped
  EXPECT_NE(md.find("| max-latency | 1 ms | 1.2 ms | FAILED |"), std::string::npos) << md;
}

TEST(ReportHtml, SelfContainedWithThreeCharts) {
  const std::string html = reportToHtml(fullReport());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);

  const std::string size = svgById(html, kLayerSizeChartId);
  ASSERT_FALSE(size.empty());
  EXPECT_NE(size.find("conv1 (Conv)"), std::string::npos);
  EXPECT_NE(size.find("3.1 KiB"), std::string::npos);  // fc before: 3200 bytes
  EXPECT_NE(size.find("200 B"), std::string::npos);    // fc after
  EXPECT_GE(countOf(size, "<rect"), 2u * 2u);          // two bars per layer (plus legend swatches)

  const std::string error = svgById(html, kLayerErrorChartId);
  ASSERT_FALSE(error.empty());
  EXPECT_NE(error.find("12.5 dB"), std::string::npos);
  EXPECT_NE(error.find("identical"), std::string::npos);

  const std::string tradeoff = svgById(html, kTradeoffChartId);
  ASSERT_FALSE(tradeoff.empty());
  EXPECT_EQ(countOf(tradeoff, "<circle"), 2u);
  EXPECT_NE(tradeoff.find("original"), std::string::npos);
  EXPECT_NE(tradeoff.find("compressed"), std::string::npos);
  EXPECT_NE(tradeoff.find("top-1 accuracy"), std::string::npos);
  EXPECT_NE(tradeoff.find("2.00 ms median"), std::string::npos);
  EXPECT_NE(tradeoff.find("1.00 ms median"), std::string::npos);

  // User text is escaped everywhere: the layer name never appears raw.
  EXPECT_EQ(html.find("fc|1<x>"), std::string::npos);
  EXPECT_NE(html.find("fc|1&lt;x&gt;"), std::string::npos);
  EXPECT_NE(html.find("4.00x smaller"), std::string::npos);
  EXPECT_NE(html.find("Energy per inference (estimate)"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"badge fail\">FAILED</span>"), std::string::npos);
}

TEST(ReportHtml, ChartsSayWhatIsMissing) {
  const std::string html = reportToHtml(minimalReport());
  EXPECT_NE(svgById(html, kLayerSizeChartId).find("no per-layer figures"), std::string::npos);
  EXPECT_NE(svgById(html, kLayerErrorChartId).find("not measured"), std::string::npos);
  EXPECT_NE(svgById(html, kTradeoffChartId).find("no accuracy or fidelity"), std::string::npos);
  EXPECT_EQ(html.find("Energy per inference"), std::string::npos);  // no estimate, no section
}

TEST(ReportHtml, TradeoffFallsBackToFidelity) {
  CompressionReport r = fullReport();
  r.quality.accuracyBefore.reset();
  r.quality.accuracyAfter.reset();
  const std::string tradeoff = svgById(reportToHtml(r), kTradeoffChartId);
  EXPECT_NE(tradeoff.find("fidelity: cosine"), std::string::npos);
  EXPECT_NE(tradeoff.find("cosine 0.999800"), std::string::npos);
}

TEST(ReportSummary, HeadlineRowsAndGates) {
  const std::string s = reportSummary(fullReport());
  EXPECT_NE(s.find("file size"), std::string::npos) << s;
  EXPECT_NE(s.find("4.00x smaller"), std::string::npos) << s;
  EXPECT_NE(s.find("parameters"), std::string::npos) << s;
  EXPECT_NE(s.find("MACs"), std::string::npos) << s;
  EXPECT_NE(s.find("2.00x faster"), std::string::npos) << s;
  EXPECT_NE(s.find("-0.40 pp"), std::string::npos) << s;
  EXPECT_NE(s.find("gates: 1 of 2 passed; max-latency measured 1.2 ms, threshold 1 ms"), std::string::npos) << s;
  EXPECT_EQ(s.find("nonzero"), std::string::npos) << s;  // headline only
}

// ---- writeReport -------------------------------------------------------------------------------

TEST(WriteReport, FormatByExtensionAtomically) {
  TempDir dir;
  const CompressionReport r = fullReport();
  ASSERT_TRUE(writeReport(r, dir.file("r.json")));
  ASSERT_TRUE(writeReport(r, dir.file("r.md")));
  ASSERT_TRUE(writeReport(r, dir.file("r.html")));
  std::ifstream jsonFile(dir.file("r.json"));
  EXPECT_EQ(json::parse(jsonFile), reportToJson(r));
  std::stringstream html;
  html << std::ifstream(dir.file("r.html")).rdbuf();
  EXPECT_EQ(html.str(), reportToHtml(r));

  const Status bad = writeReport(r, dir.file("r.txt"));
  EXPECT_EQ(bad.code(), ErrorCode::Usage);
  EXPECT_NE(bad.message().find(".json, .md or .html"), std::string::npos);
  EXPECT_FALSE(writeReport(r, dir.file("missing/r.json")));

  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    names.insert(entry.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"r.json", "r.md", "r.html"}));  // no temporary files left
}

// ---- energy estimate ---------------------------------------------------------------------------

TEST(EnergyEstimate, FollowsTheFormula) {
  EnergyCounts counts;
  counts.macs[static_cast<size_t>(MacClass::Fp32)] = 12;
  counts.macs[static_cast<size_t>(MacClass::Int8)] = 100;
  counts.weightBytes = 48;
  counts.activationBytes = 28;
  const EnergyEstimate e = estimateEnergy(counts);
  EXPECT_NEAR(e.computePj, 12 * (3.7 + 0.9) + 100 * (0.2 + 0.03), 1e-9);
  EXPECT_NEAR(e.weightPj, 48 / 4.0 * 640, 1e-9);
  EXPECT_NEAR(e.activationPj, 28 / 4.0 * 5, 1e-9);
  EXPECT_NEAR(e.totalPj(), 55.2 + 23 + 7680 + 35, 1e-9);
  EXPECT_EQ(e.totalMacs(), 112);
}

TEST(EnergyEstimate, CountsAFloatMatMul) {
  // 12 MACs x 4.6 pJ + 48 weight bytes x 160 pJ + (16 read + 12 written) x 1.25 pJ = 7770.2 pJ
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,3] Y)
<float[4,3] W = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0}>
{
  Y = MatMul(X, W)
}
)");
  ASSERT_TRUE(inferShapes(m));
  const EnergyEstimate e = estimateEnergy(m);
  EXPECT_EQ(e.counts.macs[static_cast<size_t>(MacClass::Fp32)], 12);
  EXPECT_EQ(e.counts.weightBytes, 48);
  EXPECT_EQ(e.counts.activationBytes, 28);
  EXPECT_EQ(e.counts.unknownNodes, 0);
  EXPECT_NEAR(e.totalPj(), 7770.2, 1e-9);
}

TEST(EnergyEstimate, QdqWeightsCountAsInt8) {
  // The int8 weight behind DequantizeLinear sets the MAC class; the dequantized
  // weight moves no activations: 12 x 0.23 + (12 + 4) x 160 + 28 x 1.25 = 2597.76 pJ.
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,3] Y)
<int8[4,3] Wq = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, float s = {0.5}>
{
  W = DequantizeLinear(Wq, s)
  Y = MatMul(X, W)
}
)");
  ASSERT_TRUE(inferShapes(m));
  const EnergyEstimate e = estimateEnergy(m);
  EXPECT_EQ(e.counts.macs[static_cast<size_t>(MacClass::Int8)], 12);
  EXPECT_EQ(e.counts.macs[static_cast<size_t>(MacClass::Fp32)], 0);
  EXPECT_EQ(e.counts.weightBytes, 16);
  EXPECT_EQ(e.counts.activationBytes, 28);
  EXPECT_NEAR(e.totalPj(), 2597.76, 1e-9);
}

TEST(EnergyEstimate, UnknownShapesAreCounted) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,4] X) => (float[N,4] Y)
{
  Y = Relu(X)
}
)");
  ASSERT_TRUE(inferShapes(m));
  const EnergyEstimate e = estimateEnergy(m);
  EXPECT_EQ(e.counts.unknownNodes, 1);
  EXPECT_EQ(e.counts.activationBytes, 0);
}

// ---- zstd --------------------------------------------------------------------------------------

TEST(ZstdSize, CompressesRepetitiveBytesAndNotRandomOnes) {
  TempDir dir;
  std::string repetitive;
  for (int i = 0; i < 100000; ++i) repetitive += "onnxpress ";
  test::writeFile(dir.file("text.bin"), repetitive);
  auto small = zstdCompressedSize(dir.file("text.bin"));
  ASSERT_TRUE(small) << small.status().message();
  EXPECT_GT(*small, 0);
  EXPECT_LT(*small, static_cast<int64_t>(repetitive.size()) / 100);

  std::mt19937 rng(7);
  std::string noise(1 << 16, '\0');
  for (char& c : noise) c = static_cast<char>(rng() & 0xFF);
  test::writeFile(dir.file("noise.bin"), noise);
  auto large = zstdCompressedSize(dir.file("noise.bin"));
  ASSERT_TRUE(large);
  EXPECT_GT(*large, static_cast<int64_t>(noise.size()) * 99 / 100);  // random bytes do not compress

  test::writeFile(dir.file("empty.bin"), "");
  auto empty = zstdCompressedSize(dir.file("empty.bin"));
  ASSERT_TRUE(empty);
  EXPECT_GT(*empty, 0);  // a frame header even for no content
  EXPECT_LT(*empty, 32);

  auto missing = zstdCompressedSize(dir.file("missing.onnx"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), ErrorCode::InvalidInput);
}

// ---- SVG ---------------------------------------------------------------------------------------

TEST(SvgChart, EscapesTextAndDrawsNegativeBars) {
  EXPECT_EQ(escapeXml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  BarChartSpec spec;
  spec.id = "c";
  spec.title = "t & u";
  spec.categories = {"<a>", "b"};
  spec.series = {{"snr", "#000", {-5.0, std::nullopt}}};
  const std::string svg = barChartSvg(spec);
  EXPECT_NE(svg.find("t &amp; u"), std::string::npos);
  EXPECT_NE(svg.find("&lt;a&gt;"), std::string::npos);
  EXPECT_NE(svg.find("n/a"), std::string::npos);
  EXPECT_EQ(countOf(svg, "<rect"), 2u);  // legend swatch + one bar
}

}  // namespace
}  // namespace onnxpress
