// onnxpress sensitivity MODEL --data DATA --technique prune|quantize [--levels 0.1,0.3,0.5,0.7,0.9]
//                             [--granularity unstructured|n:m|channel|neuron] [--n-m N:M] [--samples N]
//                             [--top K] [--threads N] [--json]
// --levels, --granularity and --n-m belong to prune; quantize's levels are fixed (int8, int4).
#include <iostream>

#include "Commands.h"
#include "onnxpress/driver/Sensitivity.h"
#include "onnxpress/support/Format.h"
#include "onnxpress/support/Progress.h"

namespace onnxpress::cli {
namespace {

struct SensitivityArgs {
  std::string model, data, technique, granularity = "unstructured", nm = "2:4";
  std::vector<double> levels = {0.1, 0.3, 0.5, 0.7, 0.9};
  int64_t samples = 256;
  size_t top = 10;
  int threads = 0;
  bool json = false;
  std::vector<std::string> pruneOptionsGiven;  // --levels, --granularity, --n-m when on the command line
};

// A curve point as the table shows it: top-1 in percent, or SNR in dB.
std::string pointText(const SensitivityResult& r, const SensitivityPoint& p) {
  if (r.accuracy) return fmt::format("{:.2f}", 100 * p.top1);
  return p.snrDb >= 999 ? "inf" : fmt::format("{:.1f}", p.snrDb);
}

std::string dropText(const SensitivityResult& r, const LayerSensitivity& l) {
  const SensitivityPoint& last = l.points.back();
  if (r.accuracy)
    return fmt::format("{:+.2f} points at {}", -100 * last.drop, last.label);
  const std::string snr = last.snrDb >= 999 ? std::string("inf") : fmt::format("{:.1f} dB", last.snrDb);
  return fmt::format("1 - cosine {:.3g} (SNR {}) at {}", last.drop, snr, last.label);
}

nlohmann::json resultJson(const SensitivityArgs& args, const SensitivityResult& r) {
  nlohmann::json layers = nlohmann::json::array();
  std::vector<nlohmann::json> rank(r.layers.size(), nullptr);
  for (size_t i = 0; i < r.ranking.size(); ++i) rank[r.ranking[i]] = i + 1;
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const LayerSensitivity& l = r.layers[i];
    nlohmann::json points = nlohmann::json::array();
    for (const SensitivityPoint& p : l.points)
      points.push_back({{"level", p.level},
                        {"label", p.label},
                        {"top1", r.accuracy ? nlohmann::json(p.top1) : nlohmann::json(nullptr)},
                        {"snr_db", r.accuracy ? nlohmann::json(nullptr) : nlohmann::json(p.snrDb)},
                        {"cosine", r.accuracy ? nlohmann::json(nullptr) : nlohmann::json(p.cosine)},
                        {"drop", p.drop},
                        {"changed", p.changed}});
    const bool measured = l.error.empty();
    layers.push_back({{"name", l.name},
                      {"op_type", l.opType},
                      {"params", l.params},
                      {"points", points},
                      {"drop_at_max", measured ? nlohmann::json(l.dropAtMax) : nlohmann::json(nullptr)},
                      {"area", measured ? nlohmann::json(l.area) : nlohmann::json(nullptr)},
                      {"rank", rank[i]},
                      {"error", measured ? nlohmann::json(nullptr) : nlohmann::json(l.error)}});
  }
  nlohmann::json ranking = nlohmann::json::array();
  for (size_t i : r.ranking) ranking.push_back(r.layers[i].name);
  nlohmann::json baseline = r.accuracy ? nlohmann::json{{"top1", r.baselineTop1}}
                                       : nlohmann::json{{"snr_db", 999}, {"cosine", 1.0}};
  return {{"schema", "onnxpress.sensitivity"}, {"schema_version", 1},
          {"model", args.model},               {"data", args.data},
          {"technique", args.technique},
          {"granularity", r.granularity.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.granularity)},
          {"metric", r.accuracy ? "top1" : "fidelity"},
          {"samples", r.samples},              {"levels", r.levels},
          {"baseline", baseline},              {"layers", layers},
          {"ranking", ranking},                {"seconds", r.seconds},
          {"threads", r.threads}};
}

std::string resultText(const SensitivityArgs& args, const SensitivityResult& r) {
  std::string out = fmt::format("model        {}\n", args.model);
  if (r.accuracy)
    out += fmt::format("data         {} ({} samples, top-1 accuracy; baseline {:.2f}%)\n", args.data, r.samples,
                       100 * r.baselineTop1);
  else
    out += fmt::format("data         {} ({} samples, no labels: fidelity against the original model)\n", args.data,
                       r.samples);
  const bool quantize = r.technique == "quantize";
  if (quantize) {
    std::string levels;
    for (const QuantizeSensitivityLevel& l : kQuantizeSensitivityLevels)
      levels += fmt::format("{}{} in blocks of {}", levels.empty() ? "" : ", ", l.label, l.blockSize);
    out += fmt::format("technique    quantize, weight-only ({}), one layer at a time\n\n", levels);
  } else {
    out += fmt::format("technique    prune, granularity {}, one layer at a time\n\n", r.granularity);
  }
  const std::string what = quantize ? "quantized" : "pruned";
  out += r.accuracy ? fmt::format("top-1 accuracy (%) with only that layer {} to each level:\n", what)
                    : fmt::format("SNR (dB) of the outputs against the original with only that layer {} to each "
                                  "level:\n",
                                  what);
  std::vector<std::string> header = {"layer", "op", "params"};
  for (const std::string& label : r.labels) header.push_back(label);
  TextTable table(header);
  for (const LayerSensitivity& l : r.layers) {
    std::vector<std::string> row = {l.name, l.opType, withThousands(l.params)};
    for (size_t i = 0; i < r.levels.size(); ++i) row.push_back(i < l.points.size() ? pointText(r, l.points[i]) : "-");
    table.addRow(row);
  }
  out += table.render();
  for (const LayerSensitivity& l : r.layers)
    if (!l.error.empty()) out += fmt::format("  not measured: {}: {}\n", l.name, l.error);

  if (!r.ranking.empty()) {
    const size_t shown = std::min(args.top, r.ranking.size());
    out += fmt::format("\nmost sensitive layers (largest drop at {}, then area under the drop curve):\n",
                       r.labels.back());
    TextTable ranking({"#", "layer", "drop"});
    for (size_t i = 0; i < shown; ++i) {
      const LayerSensitivity& l = r.layers[r.ranking[i]];
      ranking.addRow({std::to_string(i + 1), l.name, dropText(r, l)});
    }
    out += ranking.render();
    if (shown < r.ranking.size()) out += fmt::format("  ({} more; --top K shows more)\n", r.ranking.size() - shown);
  }
  out += fmt::format("\nmeasured {} layers x {} levels on {} samples in {:.2f} seconds ({} threads)\n",
                     r.layers.size(), r.levels.size(), r.samples, r.seconds, r.threads);
  return out;
}

Status runSensitivity(const SensitivityArgs& args) {
  if (args.technique != "prune" && !args.pruneOptionsGiven.empty())
    return usageError("{} applies to --technique prune", args.pruneOptionsGiven.front());
  ASSIGN_OR_RETURN(Dataset data, Dataset::open(args.data));
  ASSIGN_OR_RETURN(Model model, loadForCommand(args.model));
  SensitivityOptions options;
  options.technique = args.technique;
  options.levels = args.levels;
  options.granularity = args.granularity;
  options.nm = args.nm;
  options.samples = args.samples;
  options.threads = args.threads;
  ASSIGN_OR_RETURN(int64_t steps, sensitivitySteps(model, options));
  Progress progress("sensitivity", steps);
  options.onStep = [&] { progress.tick(); };
  ASSIGN_OR_RETURN(SensitivityResult result, analyzeSensitivity(model, data, options));
  progress.finish();
  if (args.json) {
    printJson(resultJson(args, result));
    return Status::ok();
  }
  std::cout << resultText(args, result);
  return Status::ok();
}

}  // namespace

void addSensitivityCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "sensitivity", "How much each layer, compressed alone at several levels, costs in accuracy or fidelity");
  auto args = std::make_shared<SensitivityArgs>();
  cmd->add_option("MODEL", args->model, "ONNX model file")->required();
  cmd->add_option("--data", args->data,
                  "DATA (.npz or directory): top-1 accuracy with 'labels', else fidelity against MODEL")
      ->required();
  cmd->add_option("--technique", args->technique,
                  "prune (sparsity levels) or quantize (weight-only int8 and int4; MatMul and Gemm layers)")
      ->required()
      ->check(CLI::IsMember({"prune", "quantize"}));
  CLI::Option* levels = cmd->add_option("--levels", args->levels, "prune: sparsity levels in (0, 1), comma separated")
                            ->delimiter(',')
                            ->capture_default_str();
  CLI::Option* granularity =
      cmd->add_option("--granularity", args->granularity, "prune: unstructured, n:m, channel or neuron")
          ->check(CLI::IsMember({"unstructured", "n:m", "channel", "neuron"}))
          ->capture_default_str();
  CLI::Option* nm =
      cmd->add_option("--n-m", args->nm,
                      "prune with --granularity n:m: keep N of every M weights (the one level is 1 - N/M)")
          ->capture_default_str();
  cmd->add_option("--samples", args->samples, "evaluate on the first N samples (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--top", args->top, "how many of the most sensitive layers to list")->capture_default_str();
  cmd->add_option("-t,--threads", args->threads, "worker threads (0: all cores)")->capture_default_str();
  cmd->add_flag("--json", args->json, "machine-readable output (schema onnxpress.sensitivity v1)");
  const std::vector<std::pair<std::string, CLI::Option*>> pruneOnly = {
      {"--levels", levels}, {"--granularity", granularity}, {"--n-m", nm}};
  cmd->callback([&action, args, pruneOnly] {
    for (const auto& [name, option] : pruneOnly)
      if (option->count() > 0) args->pruneOptionsGiven.push_back(name);
    action = [args] { return runSensitivity(*args); };
  });
}

}  // namespace onnxpress::cli
