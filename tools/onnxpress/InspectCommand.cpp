// onnxpress inspect MODEL [--json]
#include <fmt/ranges.h>

#include <filesystem>
#include <iostream>

#include "Commands.h"
#include "onnxpress/analysis/ModelSummary.h"
#include "onnxpress/support/Format.h"

namespace onnxpress::cli {
namespace {

nlohmann::json slotJson(const TensorSlot& s) {
  nlohmann::json shape = nullptr;
  if (s.hasShape) {
    shape = nlohmann::json::array();
    for (const auto& d : s.dims) {
      if (d == "?") shape.push_back(nullptr);
      else if (!d.empty() && (std::isdigit(static_cast<unsigned char>(d[0])) || d[0] == '-')) shape.push_back(std::stoll(d));
      else shape.push_back(d);
    }
  }
  return {{"name", s.name}, {"dtype", s.dtype}, {"shape", shape}};
}

std::string shapeText(const TensorSlot& s) {
  if (!s.isTensor) return "-";
  if (!s.hasShape) return "(unknown rank)";
  std::string out = "[";
  for (size_t i = 0; i < s.dims.size(); ++i) out += (i ? ", " : "") + s.dims[i];
  return out + "]";
}

std::string opsetName(const std::string& domain) { return domain.empty() ? "ai.onnx" : domain; }

// Bytes of the external data files beside the model at `path`.
int64_t externalDataBytes(const std::string& path, const ModelSummary& s) {
  int64_t total = 0;
  for (const std::string& file : s.externalDataFiles)
    total += std::max<int64_t>(0, fileSize((std::filesystem::path(path).parent_path() / file).string()));
  return total;
}

nlohmann::json summaryJson(const std::string& path, const ModelSummary& s) {
  nlohmann::json j;
  j["schema"] = "onnxpress.inspect";
  j["schema_version"] = 1;
  j["model"] = path;
  j["file_bytes"] = fileSize(path);
  j["external_data_bytes"] = externalDataBytes(path, s);
  j["ir_version"] = s.irVersion;
  j["producer"] = {{"name", s.producerName}, {"version", s.producerVersion}};
  j["opset_imports"] = nlohmann::json::array();
  for (const auto& o : s.opsets) j["opset_imports"].push_back({{"domain", opsetName(o.domain)}, {"version", o.version}});
  j["inputs"] = nlohmann::json::array();
  for (const auto& in : s.inputs) j["inputs"].push_back(slotJson(in));
  j["outputs"] = nlohmann::json::array();
  for (const auto& out : s.outputs) j["outputs"].push_back(slotJson(out));
  nlohmann::json byDtype = nlohmann::json::object();
  for (const auto& [dtype, t] : s.parametersByDtype)
    byDtype[dtype] = {{"tensors", t.tensors}, {"elements", t.elements}, {"bytes", t.bytes}};
  j["parameters"] = {{"count", s.parameterCount},
                     {"bytes", s.parameterBytes},
                     {"by_dtype", byDtype},
                     {"initializer_tensors", s.initializerTensors},
                     {"constant_node_tensors", s.constantNodeTensors},
                     {"subgraph_constant_tensors", s.subgraphConstantTensors}};
  j["nodes"] = {{"count", s.nodeCount},
                {"subgraph_nodes", s.subgraphNodeCount},
                {"subgraphs", s.subgraphCount},
                {"functions", s.functionCount},
                {"op_histogram", s.opHistogram},
                {"subgraph_op_histogram", s.subgraphOpHistogram}};
  j["external_data_files"] = s.externalDataFiles;
  return j;
}

void printHuman(const std::string& path, const ModelSummary& s) {
  std::string out;
  out += fmt::format("model       {} ({}", path, humanBytes(fileSize(path)));
  if (!s.externalDataFiles.empty())
    out += fmt::format(" + {} of external data in {}", humanBytes(externalDataBytes(path, s)),
                       fmt::join(s.externalDataFiles, ", "));
  out += ")\n";
  out += fmt::format("ir version  {}\n", s.irVersion);
  out += fmt::format("producer    {}\n",
                     s.producerName.empty() ? "(unknown)" : s.producerName + " " + s.producerVersion);
  std::string opsets;
  for (const auto& o : s.opsets) opsets += (opsets.empty() ? "" : ", ") + opsetName(o.domain) + " " + std::to_string(o.version);
  out += fmt::format("opsets      {}\n\n", opsets);

  TextTable io({"", "name", "dtype", "shape"});
  for (const auto& in : s.inputs) io.addRow({"input", in.name, in.dtype, shapeText(in)});
  for (const auto& o : s.outputs) io.addRow({"output", o.name, o.dtype, shapeText(o)});
  out += io.render("");

  out += fmt::format("\nparameters  {} ({})\n", withThousands(s.parameterCount), humanBytes(s.parameterBytes));
  TextTable params({"dtype", "tensors", "elements", "bytes"});
  for (const auto& [dtype, t] : s.parametersByDtype)
    params.addRow({dtype, withThousands(t.tensors), withThousands(t.elements), humanBytes(t.bytes)});
  out += params.render();
  out += fmt::format("  from {} initializers and {} Constant nodes ({} of them inside subgraphs)\n",
                     s.initializerTensors, s.constantNodeTensors, s.subgraphConstantTensors);

  out += fmt::format("\nnodes       {} in the main graph", withThousands(s.nodeCount));
  if (s.subgraphCount) out += fmt::format(", {} more in {} subgraphs", withThousands(s.subgraphNodeCount), s.subgraphCount);
  if (s.functionCount) out += fmt::format(", {} local functions", s.functionCount);
  out += "\n";
  std::vector<std::pair<std::string, int64_t>> ops(s.opHistogram.begin(), s.opHistogram.end());
  std::stable_sort(ops.begin(), ops.end(), [](auto& a, auto& b) { return a.second > b.second; });
  TextTable hist({"op", "count", "in subgraphs"});
  for (const auto& [op, n] : ops) {
    auto sub = s.subgraphOpHistogram.find(op);
    hist.addRow({op, std::to_string(n), sub == s.subgraphOpHistogram.end() ? "" : std::to_string(sub->second)});
  }
  for (const auto& [op, n] : s.subgraphOpHistogram)
    if (!s.opHistogram.count(op)) hist.addRow({op, "0", std::to_string(n)});
  out += hist.render();
  std::string ext;
  for (const auto& f : s.externalDataFiles) ext += (ext.empty() ? "" : ", ") + f;
  out += fmt::format("\nexternal data  {}\n", ext.empty() ? "none" : ext);
  std::cout << out;
}

}  // namespace

void addInspectCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("inspect", "Show a model's interface, parameters and operators");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("MODEL", *path, "ONNX model file")->required();
  cmd->add_flag("--json", *json, "machine-readable output (schema onnxpress.inspect v1, see docs/cli.md)");
  cmd->callback([&action, path, json] {
    action = [path, json]() -> Status {
      ASSIGN_OR_RETURN(Model model, loadForCommand(*path));
      ModelSummary summary = summarizeModel(model);
      if (*json) printJson(summaryJson(*path, summary));
      else printHuman(*path, summary);
      return Status::ok();
    };
  });
}

}  // namespace onnxpress::cli
