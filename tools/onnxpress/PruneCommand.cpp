// onnxpress prune MODEL -o OUT --sparsity S [--granularity G] [--n-m N:M]
//     [--criterion l1|l2|random] [--scope layer|global|auto] [--per-layer NAME=S,...|auto]
//     [--max-drop X --data DATA] [--exclude-nodes REGEX] [--sparse-storage]
//     [compress's --eval-data, --report, gates, ... --json]
//
// Sugar for `compress --passes prune{...}`: the flags are the prune pass's options,
// generated from PruneOptions::visitOptions (see PassOptionsCli.h), and the run,
// measurements, reports and gates are compress's. Usage errors (option values, a
// per-layer NAME that matches no layer) come before any work.
// `--per-layer auto` asks the sensitivity analysis for the per-layer sparsities that
// keep the accuracy drop on DATA within --max-drop.
#include <fmt/ranges.h>

#include <memory>
#include <vector>

#include "Commands.h"
#include "CompressRun.h"
#include "PassOptionsCli.h"
#include "onnxpress/driver/Sensitivity.h"
#include "onnxpress/data/Dataset.h"
#include "onnxpress/io/ModelIO.h"  // checkOutputPath
#include "onnxpress/pass/PassOptions.h"
#include "onnxpress/passes/pruning/Prune.h"
#include "onnxpress/passes/pruning/PruneTargets.h"
#include "onnxpress/support/Progress.h"

namespace onnxpress::cli {
namespace {

struct PruneArgs {
  CompressArgs compress;
  PassFlags pass;             // the prune pass's options, one --KEY each, as written
  std::string maxDrop, data;  // --per-layer auto
};

// NAME=S entries from the sensitivity analysis: per layer, the highest level whose
// drop on DATA (top-1 with labels, else 1 - cosine) stays within --max-drop.
Expected<std::string> choosePerLayer(const Model& model, const PruneOptions& options, const PruneArgs& args) {
  ASSIGN_OR_RETURN(const double maxDrop, parseFractionOrPercent("--max-drop", args.maxDrop));
  ASSIGN_OR_RETURN(Dataset data, Dataset::open(args.data));
  RETURN_IF_ERROR(data.validateFor(model.graph()));
  SensitivityOptions sensitivity;
  sensitivity.granularity = options.granularity;
  sensitivity.nm = options.nm;
  sensitivity.threads = args.compress.threads;
  Progress progress("sensitivity", 0);
  sensitivity.onStep = [&progress] { progress.tick(); };
  ASSIGN_OR_RETURN(std::vector<std::string> entries, chooseSparsityPerLayer(model, data, maxDrop, sensitivity));
  progress.finish();
  return fmt::format("{}", fmt::join(entries, ","));
}

Status runPrune(const PruneArgs& args) {
  const std::string granularity = args.pass.value("granularity");
  const bool automatic = args.pass.value("per-layer") == "auto";
  if (args.pass.value("sparsity").empty() && granularity != "n:m")
    return usageError("prune: --sparsity S is required (only --granularity n:m takes its sparsity from --n-m)");
  if (automatic && (args.maxDrop.empty() || args.data.empty()))
    return usageError("prune: --per-layer auto needs --max-drop X and --data DATA");
  if (!automatic && (!args.maxDrop.empty() || !args.data.empty()))
    return usageError("prune: --max-drop and --data go with --per-layer auto");
  if (automatic && (granularity == "head" || granularity == "layer"))
    return usageError("prune: --per-layer auto works with granularity unstructured, n:m, channel and neuron");

  // The given flags as the pass's raw options; `--per-layer auto` is the command's, not the pass's.
  RawOptions raw = args.pass.raw();
  if (automatic) std::erase_if(raw, [](const auto& option) { return option.first == "per-layer"; });
  ASSIGN_OR_RETURN(PruneOptions options, parseOptions<PruneOptions>("prune", raw));
  RETURN_IF_ERROR(checkOutputPath(args.compress.model, args.compress.output));
  {  // this copy of the model is gone before the run loads its own
    ASSIGN_OR_RETURN(Model model, loadForCommand(args.compress.model));
    const bool targeted = options.granularity != "layer" && options.granularity != "head";
    if (automatic) {
      ASSIGN_OR_RETURN(const std::string entries, choosePerLayer(model, options, args));
      if (!entries.empty()) raw.emplace_back("per-layer", entries);
    } else if (targeted) {
      RETURN_IF_ERROR(selectPruneTargets(model, options).status());  // a per-layer NAME that matches nothing
    }
  }

  Recipe recipe;
  recipe.pipeline.push_back({"prune", std::move(raw)});
  return runCompression(args.compress, std::move(recipe));
}

}  // namespace

void addPruneCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "prune", "Prune weights (unstructured, N:M, channels, heads or blocks) and report what it cost; "
               "the same as compress --passes prune{...}");
  auto args = std::make_shared<PruneArgs>();
  cmd->add_option("MODEL", args->compress.model, "input ONNX model")->required();
  cmd->add_option("-o,--output", args->compress.output, "output ONNX file (never the input)")->required();
  // --sparsity, --granularity, ..., --seed: the pass's options (PruneOptions::visitOptions)
  args->pass.add<PruneOptions>(cmd);
  args->pass.option("sparsity")
      ->description("fraction of weights (channels, heads, blocks) to remove, in [0, 1); required except for n:m")
      ->default_str("");  // no default here: the command asks for it
  args->pass.option("per-layer")->description(
      "NAME=S,... sparsity overrides by node or weight name, or auto (needs --max-drop and --data)");
  cmd->add_option("--max-drop", args->maxDrop, "with --per-layer auto: the top-1 drop allowed on --data (0.01 or 1%)");
  cmd->add_option("--data", args->data, "with --per-layer auto: labelled DATA for the sensitivity analysis");
  addCompressionOptions(cmd, args->compress);
  cmd->footer("Exit codes: 0 ok, 1 usage, 2 invalid model or data, 3 internal error, 4 a gate was not met\n"
              "(OUT and the reports are written first, so CI can keep them).");
  cmd->callback([&action, args] { action = [args] { return runPrune(*args); }; });
}

}  // namespace onnxpress::cli
