// onnxpress compress MODEL -o OUT (--passes PIPELINE | --recipe FILE) [--calib-data DATA]
//     [--eval-data DATA] [--report FILE ...] [gates] [--json]
//
// Runs the pipeline, writes OUT, measures both models (size, MACs, energy estimate,
// latency and peak memory in the built-in runtime, accuracy or fidelity on
// --eval-data), writes the reports and checks the gates. A gate that is not met
// exits with code 4 after everything was written, so CI keeps the evidence.
#include <spdlog/spdlog.h>

#include <iostream>

#include "Commands.h"
#include "CompressRun.h"
#include "onnxpress/report/ReportFormats.h"
#include "onnxpress/support/Format.h"

namespace onnxpress::cli {
namespace {

// The pipeline and what each pass did, for the terminal.
std::string passesTable(const CompressionReport& report) {
  TextTable table({"pass", "changed", "statistics", "parameters", "MACs", "fidelity", "time"});
  for (const auto& r : report.passes) {
    std::string stats;
    for (const auto& [k, v] : r.statistics) stats += (stats.empty() ? "" : ", ") + fmt::format("{} {}", k, v);
    const std::string fidelity =
        r.fidelity ? fmt::format("cos {:.6f}, SNR {:.1f} dB", r.fidelity->cosine, r.fidelity->snrDb) : "-";
    table.addRow({r.pass, r.changed ? "yes" : "no", stats.empty() ? "-" : stats, withThousands(r.parameters),
                  withThousands(r.macs), fidelity, fmt::format("{:.1f} ms", r.seconds * 1000)});
  }
  return fmt::format("pipeline  {}\n\n{}\n", report.pipeline, table.render(""));
}

}  // namespace

Status runCompression(const CompressArgs& args, Recipe recipe) {
  ASSIGN_OR_RETURN(CompressionReport report, compressModel(args, std::move(recipe)));
  if (args.json) printJson(reportToJson(report));
  else std::cout << passesTable(report) << reportSummary(report) << fmt::format("wrote {}\n", args.output);
  for (const Gate& gate : report.gates)
    if (!gate.passed)
      return {ErrorCode::GateFailed,
              fmt::format("gate {} not met: measured {:.4g}{} against a limit of {:.4g}{}{}", gate.name, gate.measured,
                          gate.unit, gate.threshold, gate.unit, gate.note.empty() ? "" : " (" + gate.note + ")")};
  return Status::ok();
}

void addCompressionOptions(CLI::App* cmd, CompressArgs& args) {
  cmd->add_option("--eval-data", args.evalData,
                  "DATA to measure accuracy (with labels) and fidelity of OUT against MODEL, after every pass too");
  cmd->add_option("--report", args.reports, "write the report: FILE.json, FILE.md or FILE.html (repeatable)");
  cmd->add_option("--max-accuracy-drop", args.maxAccuracyDrop,
                  "gate: top-1 may drop at most this much (0.01 or 1%); needs labelled --eval-data");
  cmd->add_option("--min-size-reduction", args.minSizeReduction, "gate: file size before/after must reach this ratio");
  cmd->add_option("--min-speedup", args.minSpeedup,
                  "gate: median latency before/after in the built-in runtime must reach this ratio");
  cmd->add_option("--target", args.target,
                  "deployment target: a profile name (onnxpress targets) or file; sets pass defaults and checks the "
                  "output (the report's deployability section; a gate)");
  cmd->add_option("--save-recipe", args.saveRecipe, "write the run as a recipe (.yaml or .json), defaults expanded");
  cmd->add_option("--fidelity-samples", args.fidelitySamples,
                  "samples for per-pass and per-layer fidelity (--eval-data, else --calib-data); 0: not measured")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--eval-samples", args.evalSamples, "samples of --eval-data for accuracy (0: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-n,--iterations", args.iterations, "timed runs per model for latency (0: latency not measured)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-t,--threads", args.threads, "threads for the built-in runtime (0: all cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--ort", args.ort,
                "also time both models in ONNX Runtime (needs Python with onnxruntime: $ONNXPRESS_PYTHON, "
                "./.venv/bin/python or python3)");
  cmd->add_flag("--external-data", args.externalData,
                "store weights in OUT.data beside the model (automatic above protobuf's 2 GB limit)");
  cmd->add_flag("--verify-each", args.verifyEach, "run the IR verifier after every pass (always on in debug builds)");
  cmd->add_flag("--json", args.json, "print the report as JSON (schema onnxpress.report v1) instead of the summary");
}

void addCompressCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("compress", "Run a pass pipeline on a model, write it, and report what it cost");
  auto args = std::make_shared<CompressArgs>();
  cmd->add_option("MODEL", args->model, "input ONNX model")->required();
  cmd->add_option("-o,--output", args->output, "output ONNX file (never the input)")->required();
  cmd->add_option("--passes", args->pipeline,
                  "pass pipeline, e.g. 'fold-constants,lowrank{ratio=0.5}' (see 'onnxpress passes')");
  cmd->add_option("--recipe", args->recipe, "recipe file (.yaml or .json): pipeline, data, gates and reports");
  cmd->add_option("--calib-data", args->calibData, "DATA for passes that calibrate (.npz or directory)");
  cmd->add_option("--train-data", args->trainData, "DATA for passes that train (distill, finetune); labels optional for distill");
  addCompressionOptions(cmd, *args);
  cmd->footer("Exit codes: 0 ok, 1 usage, 2 invalid model or data, 3 internal error, 4 a gate was not met\n"
              "(OUT and the reports are written first, so CI can keep them).");
  cmd->callback([&action, args] {
    action = [args]() -> Status {
      ASSIGN_OR_RETURN(Recipe recipe, compressRecipe(*args));
      return runCompression(*args, std::move(recipe));
    };
  });
}

}  // namespace onnxpress::cli
