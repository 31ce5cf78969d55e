// onnxpress compare A.onnx B.onnx --data DATA [--samples N] [--per-layer] [--atol X] [--rtol Y]
//                   [--divergence-drop DB] [--divergence-floor DB] [--fail-on-mismatch] [--threads N] [--json]
#include <iostream>

#include "Commands.h"
#include "ComparisonOutput.h"
#include "onnxpress/analysis/CompareModels.h"
#include "onnxpress/support/Format.h"
#include "onnxpress/support/Progress.h"

namespace onnxpress::cli {
namespace {

struct CompareArgs {
  std::string a, b, data;
  int64_t samples = 0;
  int threads = 0;
  bool perLayer = false, failOnMismatch = false, json = false;
  double atol = 1e-5, rtol = 1e-5;
  double divergenceDropDb = 20, divergenceFloorDb = 20;
};

std::string divergenceText(const TensorComparison& t, const CompareArgs& args) {
  const double drop = t.inputSnrDb - t.snrDb;
  if (drop > args.divergenceDropDb)
    return fmt::format("SNR {:.1f} dB against its inputs' {:.1f} dB (drop {:.1f} dB > {:g})", t.snrDb, t.inputSnrDb,
                       drop, args.divergenceDropDb);
  return fmt::format("SNR {:.1f} dB, below the floor of {:g} dB", t.snrDb, args.divergenceFloorDb);
}

Status runCompare(const CompareArgs& args) {
  if (args.atol < 0 || args.rtol < 0) return usageError("--atol and --rtol must be >= 0");
  ASSIGN_OR_RETURN(Dataset data, Dataset::open(args.data));
  ASSIGN_OR_RETURN(Model a, loadForCommand(args.a));
  ASSIGN_OR_RETURN(Model b, loadForCommand(args.b));

  CompareOptions options;
  options.samples = args.samples;
  options.threads = args.threads;
  options.perLayer = args.perLayer;
  options.atol = args.atol;
  options.rtol = args.rtol;
  options.divergenceDropDb = args.divergenceDropDb;
  options.divergenceFloorDb = args.divergenceFloorDb;
  options.labelA = args.a;
  options.labelB = args.b;
  Progress progress("comparing", args.samples > 0 ? std::min(args.samples, data.size()) : data.size());
  options.onSample = [&] { progress.tick(); };
  ASSIGN_OR_RETURN(ModelComparison result, compareModels(a, b, data, options));
  progress.finish();

  const TensorComparison* first = result.firstDivergence ? &result.layers[*result.firstDivergence] : nullptr;
  if (args.json) {
    nlohmann::json outputs = nlohmann::json::array();
    for (const TensorComparison& o : result.outputs) {
      nlohmann::json entry = errorStatsJson(o.stats, true);
      entry["name"] = o.name;
      outputs.push_back(entry);
    }
    nlohmann::json layers = nullptr;
    if (args.perLayer) {
      layers = nlohmann::json::array();
      for (const TensorComparison& l : result.layers) {
        nlohmann::json entry = errorStatsJson(l.stats, true);
        entry.update({{"name", l.name}, {"node", l.node}, {"op", l.op}, {"input_snr_db", l.inputSnrDb},
                      {"diverges", l.diverges},
                      {"not_comparable", l.notComparable.empty() ? nlohmann::json(nullptr) : nlohmann::json(l.notComparable)}});
        layers.push_back(entry);
      }
    }
    nlohmann::json divergence = nullptr;
    if (first)
      divergence = {{"name", first->name}, {"node", first->node}, {"op", first->op},
                    {"snr_db", first->stats.fidelity.snrDb}, {"input_snr_db", first->inputSnrDb},
                    {"reason", divergenceText(*first, args)}};
    printJson({{"schema", "onnxpress.compare"}, {"schema_version", 1}, {"a", args.a}, {"b", args.b},
               {"data", args.data}, {"samples", result.samples}, {"atol", args.atol}, {"rtol", args.rtol},
               {"outputs", outputs}, {"overall", errorStatsJson(result.overall, true)},
               {"all_close", result.outputsAllClose()}, {"layers", layers},
               {"divergence_rule", {{"drop_db", args.divergenceDropDb}, {"floor_db", args.divergenceFloorDb},
                                    {"snr_ceiling_db", kSnrCeilingDb}}},
               {"first_divergence", divergence}});
  } else {
    std::string out = fmt::format("A          {} (reference)\nB          {}\ndata       {} ({} samples)\n"
                                  "tolerance  |B - A| <= {:g} + {:g} |A|\n\n",
                                  args.a, args.b, args.data, result.samples, args.atol, args.rtol);
    TextTable outputs(errorStatsHeader({"output"}, {"allclose"}));
    for (const TensorComparison& o : result.outputs)
      outputs.addRow(errorStatsRow({o.name}, o.stats, {o.stats.allClose ? "pass" : "FAIL"}));
    out += outputs.render("");
    if (args.perLayer) {
      TextTable layers(errorStatsHeader({"tensor", "op"}, {"input SNR", "allclose", ""}));
      for (const TensorComparison& l : result.layers) {
        if (!l.notComparable.empty()) {
          layers.addRow({l.name, l.op, "-", "-", "-", "-", "-", "-", "-", "not comparable: " + l.notComparable});
          continue;
        }
        layers.addRow(errorStatsRow({l.name, l.op}, l.stats,
                          {fmt::format("{:.1f}", l.inputSnrDb), l.stats.allClose ? "pass" : "FAIL",
                           l.diverges ? "<- diverges" : ""}));
      }
      out += fmt::format("\nper tensor, in A's topological order (SNR capped at {:g} dB for the divergence rule)\n",
                         kSnrCeilingDb) +
             layers.render("");
      out += first ? fmt::format("\nfirst divergence: '{}' from {}: {}\n", first->name, first->node,
                                 divergenceText(*first, args))
                   : fmt::format("\nno divergence: every tensor within {:g} dB of its inputs' SNR and above {:g} dB\n",
                                 args.divergenceDropDb, args.divergenceFloorDb);
    }
    std::cout << out;
  }
  if (!args.failOnMismatch) return Status::ok();
  for (const TensorComparison& o : result.outputs)
    if (!o.stats.allClose)
      return {ErrorCode::GateFailed, fmt::format("output '{}' of {} differs from {} beyond atol {:g}, rtol {:g} ({})",
                                                 o.name, args.b, args.a, args.atol, args.rtol, o.stats.firstMismatch)};
  return Status::ok();
}

}  // namespace

void addCompareCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("compare", "Run two models on the same DATA and measure how far B is from A");
  auto args = std::make_shared<CompareArgs>();
  cmd->add_option("A", args->a, "reference ONNX model")->required();
  cmd->add_option("B", args->b, "ONNX model measured against A (same inputs and outputs)")->required();
  cmd->add_option("--data", args->data, "DATA (.npz or directory) fed to both")->required();
  cmd->add_option("--samples", args->samples, "compare on the first N samples (default: all)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--per-layer", args->perLayer,
                "also compare every tensor both models produce, and find the first divergence");
  cmd->add_option("--atol", args->atol, "allclose absolute tolerance")->capture_default_str();
  cmd->add_option("--rtol", args->rtol, "allclose relative tolerance")->capture_default_str();
  cmd->add_option("--divergence-drop", args->divergenceDropDb,
                  "a tensor diverges when its SNR is this many dB below its inputs'")
      ->capture_default_str();
  cmd->add_option("--divergence-floor", args->divergenceFloorDb, "a tensor diverges when its SNR is below this (dB)")
      ->capture_default_str();
  cmd->add_flag("--fail-on-mismatch", args->failOnMismatch, "exit 4 when an output fails allclose");
  cmd->add_option("-t,--threads", args->threads, "worker threads (0: all cores)")->capture_default_str();
  cmd->add_flag("--json", args->json, "machine-readable output (schema onnxpress.compare v1)");
  cmd->callback([&action, args] { action = [args] { return runCompare(*args); }; });
}

}  // namespace onnxpress::cli
