// onnxpress quantize MODEL -o OUT [--mode static|dynamic|weight-only|fp16|bf16]
//     [--format qdq|qoperator] [--weight-type T] [--activation-type T] [--per-channel]
//     [--symmetric] [--reduce-range] [--block-size N] [--calib-data DATA]
//     [--calib-method M] [--percentile P] [--calib-samples N] [--op-types LIST]
//     [--exclude-nodes REGEX] [--exclude-op-types LIST] [--keep-io-types] [repairs]
//     [compress's --eval-data, --report, gates, ... --json]
//
// Sugar for `compress --passes simplify,quantize{...}`: the flags are the quantize pass's
// options, generated from its one options struct (QuantizeOptions::visitOptions in
// include/onnxpress/passes/quantization/Quantize.h, see PassOptionsCli.h), and
// the run, measurements, reports and gates are compress's. Without --eval-data the
// per-layer SQNR is measured on the calibration data.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "Commands.h"
#include "CompressRun.h"
#include "PassOptionsCli.h"
#include "onnxpress/pass/PassOptions.h"
#include "onnxpress/passes/quantization/OpsetUpgrade.h"
#include "onnxpress/passes/quantization/Quantize.h"

namespace onnxpress::cli {
namespace {

struct QuantizeArgs {
  CompressArgs compress;
  PassFlags pass;  // the quantize pass's options, one --KEY each, as written
  bool noSimplify = false;
};

Status runQuantize(const QuantizeArgs& args) {
  RawOptions raw = args.pass.raw();
  ASSIGN_OR_RETURN(QuantizeOptions options, parseOptions<QuantizeOptions>("quantize", raw));
  const bool calibrates = options.mode == "static";
  if (calibrates && args.compress.calibData.empty())
    return usageError("quantize: --mode static needs --calib-data DATA (random data is never used for calibration)");
  if (!calibrates && !args.compress.calibData.empty() && args.compress.evalData.empty())
    spdlog::info("quantize: --mode {} does not calibrate; --calib-data is used for the per-layer SQNR only",
                 options.mode);
  Recipe recipe;
  if (!args.noSimplify) recipe.pipeline.push_back({"simplify", {}});
  recipe.pipeline.push_back({"quantize", std::move(raw)});
  return runCompression(args.compress, std::move(recipe));
}

}  // namespace

void addQuantizeCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "quantize", "Quantize a model (static QDQ/QOperator, dynamic, weight-only int8/int4, fp16/bf16) and report "
                  "what it cost; the same as compress --passes simplify,quantize{...}");
  auto args = std::make_shared<QuantizeArgs>();
  cmd->add_option("MODEL", args->compress.model, "input ONNX model (float32)")->required();
  cmd->add_option("-o,--output", args->compress.output, "output ONNX file (never the input)")->required();
  // --mode, --format, ..., --smoothquant-alpha: the pass's options (QuantizeOptions::visitOptions)
  args->pass.add<QuantizeOptions>(cmd);
  cmd->add_option("--calib-data", args->compress.calibData,
                  "DATA (.npz or directory) to calibrate on; checked against the model's inputs before any work");
  cmd->add_flag("--no-simplify", args->noSimplify,
                "quantize the graph as it is; by default `simplify` runs first (folds BatchNormalization and "
                "constants, fuses patterns) as ONNX Runtime's quant_pre_process does");
  addCompressionOptions(cmd, args->compress);
  cmd->footer(fmt::format(
      "Opset: {}\n--per-channel (opset 13) and dynamic mode (opset 11) upgrade lower opsets the same way.\n"
      "A model that is already quantized is refused. Without --eval-data, per-layer SQNR is measured on\n"
      "--calib-data.\n"
      "Exit codes: 0 ok, 1 usage, 2 invalid model or data, 3 internal error, 4 a gate was not met\n"
      "(OUT and the reports are written first, so CI can keep them).",
      quant::kOpsetUpgradePolicy));
  cmd->callback([&action, args] { action = [args] { return runQuantize(*args); }; });
}

}  // namespace onnxpress::cli
