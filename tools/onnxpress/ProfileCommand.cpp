// onnxpress profile MODEL [--data DATA | --shape NAME=D0xD1x...] [--iterations N] [--warmup N] [--threads N]
//                         [--top K] [--target-size SIZE] [--target-latency MS] [--json]
#include <filesystem>
#include <iostream>

#include "Commands.h"
#include "onnxpress/analysis/ModelSummary.h"
#include "onnxpress/analysis/Profile.h"
#include "onnxpress/support/Format.h"
#include "onnxpress/support/Progress.h"

namespace onnxpress::cli {
namespace {

struct ProfileArgs {
  std::string model, data, targetSize;
  std::vector<std::string> shapes;
  int threads = 0, iterations = 10, warmup = 1;
  size_t top = 5;
  double targetLatencyMs = 0;
  bool hasTargetLatency = false;
  bool json = false;
};

/// "2MB" -> 2000000, "1.5MiB" -> 1572864, "500000" -> 500000. KB/MB/GB are powers
/// of 1000, KiB/MiB/GiB powers of 1024; B or no unit means bytes.
Expected<int64_t> parseByteSize(const std::string& text) {
  static const std::pair<const char*, double> kUnits[] = {
      {"KiB", 1024.0}, {"MiB", 1024.0 * 1024}, {"GiB", 1024.0 * 1024 * 1024}, {"KB", 1e3}, {"MB", 1e6},
      {"GB", 1e9},     {"B", 1.0},           {"", 1.0}};
  size_t used = 0;
  double number = -1;
  try {
    number = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string unit = text.substr(used);
  unit.erase(0, unit.find_first_not_of(' '));
  for (const auto& [name, scale] : kUnits)
    if (used > 0 && unit == name && number > 0) return static_cast<int64_t>(number * scale);
  return usageError("--target-size '{}': expected a positive size such as 2MB, 1.5MiB or 500000", text);
}

// The model file plus its external data files.
int64_t modelBytes(const std::string& path, const Model& model) {
  int64_t bytes = fileSize(path);
  for (const std::string& file : summarizeModel(model).externalDataFiles)
    bytes += std::max<int64_t>(0, fileSize((std::filesystem::path(model.sourceDirectory) / file).string()));
  return bytes;
}

std::string shareText(double share) { return fmt::format("{:.1f}%", share * 100); }
std::string msText(double seconds) { return fmt::format("{:.3f}", seconds * 1000); }
std::string macsText(const std::optional<int64_t>& macs) { return macs ? withThousands(*macs) : "?"; }

std::string gapText(const TargetGap& gap, const std::string& adjective) {
  if (gap.met()) return gap.ratio > 0 ? fmt::format("met, {:.2f}x headroom", 1 / gap.ratio) : "met";
  return fmt::format("needs {:.2f}x {}", gap.ratio, adjective);
}

nlohmann::json gapJson(const TargetGap& gap, const char* unit) {
  return {{std::string("target_") + unit, gap.target},
          {std::string("current_") + unit, gap.current},
          {"ratio", gap.ratio},
          {"met", gap.met()}};
}

Status runProfile(const ProfileArgs& args) {
  if (!args.data.empty() && !args.shapes.empty())
    return usageError("give --data or --shape, not both (with --data the shapes come from the data)");
  if (args.hasTargetLatency && args.targetLatencyMs <= 0)
    return usageError("--target-latency must be positive (milliseconds)");
  ASSIGN_OR_RETURN(InputShapes shapes, parseInputShapes(args.shapes));
  std::optional<int64_t> targetBytes;
  if (!args.targetSize.empty()) {
    ASSIGN_OR_RETURN(targetBytes, parseByteSize(args.targetSize));
  }
  ASSIGN_OR_RETURN(Model model, loadForCommand(args.model));

  InputFeed feed;
  std::string source;
  if (!args.data.empty()) {
    ASSIGN_OR_RETURN(Dataset data, Dataset::open(args.data));
    RETURN_IF_ERROR(data.validateFor(model.graph()));
    ASSIGN_OR_RETURN(feed, datasetFeed(data, 0));
    source = fmt::format("sample 0 of {}", args.data);
  } else {
    ASSIGN_OR_RETURN(feed, randomFeed(model.graph(), shapes));
    source = "random (floats in [-1, 1], integers 0 or 1)";
  }

  ProfileOptions options;
  options.iterations = args.iterations;
  options.warmup = args.warmup;
  options.threads = args.threads;
  Progress progress("profiling", 1 + args.warmup + args.iterations);
  options.onRun = [&] { progress.tick(); };
  ASSIGN_OR_RETURN(ModelProfile profile, profileModel(model, feed, options));
  progress.finish();

  const int64_t sizeBytes = modelBytes(args.model, model);
  const double latencyMs = profile.medianLatencySeconds * 1000;
  std::optional<TargetGap> sizeGap, latencyGap;
  if (targetBytes) sizeGap = targetGap(static_cast<double>(sizeBytes), static_cast<double>(*targetBytes));
  if (args.hasTargetLatency) latencyGap = targetGap(latencyMs, args.targetLatencyMs);
  const auto byLatency = topLayers(profile.layers, RankBy::Latency, args.top);
  const auto byMacs = topLayers(profile.layers, RankBy::Macs, args.top);
  const std::string peakNode = profile.peak.atNode ? profile.peak.atNode->describe() : "";

  if (args.json) {
    nlohmann::json inputs = nlohmann::json::object();
    for (const auto& [name, t] : feed) inputs[name] = {{"dtype", dataTypeName(t.dtype())}, {"shape", t.shape()}};
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerProfile& l : profile.layers)
      layers.push_back({{"name", l.name}, {"op", l.op}, {"parameters", l.parameters}, {"weight_bytes", l.weightBytes},
                        {"macs", l.macs ? nlohmann::json(*l.macs) : nlohmann::json(nullptr)},
                        {"output_bytes", l.outputBytes}, {"median_ms", l.medianSeconds * 1000},
                        {"latency_share", l.latencyShare}});
    auto names = [&](const std::vector<size_t>& idx) {
      nlohmann::json out = nlohmann::json::array();
      for (size_t i : idx) out.push_back(profile.layers[i].name);
      return out;
    };
    nlohmann::json targets = nlohmann::json::object();
    if (sizeGap) targets["size"] = gapJson(*sizeGap, "bytes");
    if (latencyGap) targets["latency"] = gapJson(*latencyGap, "ms");
    printJson({{"schema", "onnxpress.profile"}, {"schema_version", 1}, {"model", args.model},
               {"input", {{"source", args.data.empty() ? "random" : "data"},
                          {"data", args.data.empty() ? nlohmann::json(nullptr) : nlohmann::json(args.data)},
                          {"tensors", inputs}}},
               {"threads", profile.threads}, {"warmup", profile.warmup}, {"iterations", profile.iterations},
               {"totals", {{"file_bytes", sizeBytes}, {"parameters", profile.parameters},
                           {"parameter_bytes", profile.parameterBytes}, {"macs", profile.macs},
                           {"unknown_mac_nodes", profile.unknownMacNodes}, {"latency_ms_median", latencyMs},
                           {"peak_activation_bytes", profile.peak.bytes},
                           {"peak_at_node", peakNode.empty() ? nlohmann::json(nullptr) : nlohmann::json(peakNode)},
                           {"activations_without_size", profile.peak.unknownValues}}},
               {"layers", layers}, {"top_by_latency", names(byLatency)}, {"top_by_macs", names(byMacs)},
               {"targets", targets}});
    return Status::ok();
  }

  std::string out = fmt::format("model      {}\n", args.model);
  for (const auto& [name, t] : feed)
    out += fmt::format("input      {} {}{}: {}\n", name, dataTypeName(t.dtype()), runtime::shapeToString(t.shape()), source);
  out += fmt::format("runtime    built-in, {} threads, median of {} runs after {} warm-up runs\n\n", profile.threads,
                     profile.iterations, profile.warmup + 1);
  TextTable layers({"node", "op", "params", "weights", "MACs", "output", "ms", "share"});
  for (const LayerProfile& l : profile.layers)
    layers.addRow({l.name, l.op, withThousands(l.parameters), humanBytes(l.weightBytes), macsText(l.macs),
                   humanBytes(l.outputBytes), msText(l.medianSeconds), shareText(l.latencyShare)});
  out += layers.render("") + "\n";

  TextTable totals({"model", ""});
  totals.addRow({"file size", humanBytes(sizeBytes)});
  totals.addRow({"parameters", fmt::format("{} ({})", withThousands(profile.parameters), humanBytes(profile.parameterBytes))});
  totals.addRow({"MACs", withThousands(profile.macs) + (profile.unknownMacNodes
                                                            ? fmt::format(" (+ {} nodes of unknown shape)", profile.unknownMacNodes)
                                                            : "")});
  totals.addRow({"latency", fmt::format("{:.3f} ms (median)", latencyMs)});
  totals.addRow({"peak activations", humanBytes(profile.peak.bytes) + (peakNode.empty() ? "" : ", during " + peakNode)});
  out += totals.render("") + "\n";

  TextTable slowest({"slowest nodes", "op", "share", "ms"});
  for (size_t i : byLatency)
    slowest.addRow({profile.layers[i].name, profile.layers[i].op, shareText(profile.layers[i].latencyShare),
                    msText(profile.layers[i].medianSeconds)});
  TextTable heaviest({"most MACs", "op", "MACs", "share"});
  for (size_t i : byMacs)
    heaviest.addRow({profile.layers[i].name, profile.layers[i].op, macsText(profile.layers[i].macs),
                     shareText(profile.macs ? static_cast<double>(*profile.layers[i].macs) / static_cast<double>(profile.macs) : 0)});
  out += slowest.render("") + "\n" + heaviest.render("");

  if (sizeGap || latencyGap) {
    TextTable targets({"target", "current", "wanted", "verdict"});
    if (sizeGap) targets.addRow({"size", humanBytes(sizeBytes), humanBytes(*targetBytes), gapText(*sizeGap, "smaller")});
    if (latencyGap)
      targets.addRow({"latency", fmt::format("{:.3f} ms", latencyMs), fmt::format("{:.3f} ms", args.targetLatencyMs),
                      gapText(*latencyGap, "faster")});
    out += "\n" + targets.render("");
  }
  std::cout << out;
  return Status::ok();
}

}  // namespace

void addProfileCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("profile", "Per-node parameters, MACs, memory and latency share; bottlenecks; targets");
  auto args = std::make_shared<ProfileArgs>();
  cmd->add_option("MODEL", args->model, "ONNX model file")->required();
  cmd->add_option("--data", args->data, "DATA (.npz or directory): its first sample is the input");
  cmd->add_option("--shape", args->shapes,
                  "NAME=D0xD1x... (or D0,D1,...) for an input with symbolic dims, when inputs are random (no --data)");
  cmd->add_option("-n,--iterations", args->iterations, "timed runs; times are their medians")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", args->warmup, "untimed runs after the first (observed) run")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-t,--threads", args->threads, "worker threads (0: all cores)")->capture_default_str();
  cmd->add_option("--top", args->top, "how many bottlenecks to list")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--target-size", args->targetSize,
                  "size to reach: bytes, or with a unit (KB, MB, GB = 1000^n; KiB, MiB, GiB = 1024^n)");
  auto* latency = cmd->add_option("--target-latency", args->targetLatencyMs, "median latency to reach, in ms");
  cmd->add_flag("--json", args->json, "machine-readable output (schema onnxpress.profile v1)");
  cmd->callback([&action, args, latency] {
    args->hasTargetLatency = latency->count() > 0;
    action = [args] { return runProfile(*args); };
  });
}

}  // namespace onnxpress::cli
