// onnxpress quantize MODEL -o OUT [--mode static|dynamic|weight-only|fp16|bf16]
//     [--format qdq|qoperator] [--weight-type T] [--activation-type T] [--per-channel]
//     [--symmetric] [--reduce-range] [--block-size N] [--calib-data DATA]
//     [--calib-method M] [--percentile P] [--calib-samples N] [--op-types LIST]
//     [--exclude-nodes REGEX] [--exclude-op-types LIST] [--keep-io-types] [repairs]
//     [compress's --eval-data, --report, gates, ... --json]
//
// Sugar for `compress --passes simplify,quantize{...}`: the flags become the quantize pass's
// options (one options struct, include/onnxpress/passes/quantization/Quantize.h) and
// the run, measurements, reports and gates are compress's. Without --eval-data the
// per-layer SQNR is measured on the calibration data.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "Commands.h"
#include "CompressRun.h"
#include "onnxpress/pass/PassOptions.h"
#include "onnxpress/passes/quantization/OpsetUpgrade.h"
#include "onnxpress/passes/quantization/Quantize.h"

namespace onnxpress::cli {
namespace {

struct QuantizeArgs {
  CompressArgs compress;
  // Pass options as written; an empty one is left to the pass's default.
  std::string mode, format, weightType, activationType, blockSize, calibMethod, percentile, calibSamples;
  std::string opTypes, excludeNodes, excludeOpTypes, smoothQuantAlpha;
  bool perChannel = false, symmetric = false, reduceRange = false, keepIoTypes = false, matmulNBits = false;
  bool biasCorrection = false, equalize = false, smoothQuant = false;
  bool noSimplify = false;
};

RawOptions passOptions(const QuantizeArgs& args) {
  RawOptions raw;
  auto add = [&](const char* key, const std::string& value) {
    if (!value.empty()) raw.emplace_back(key, value);
  };
  auto flag = [&](const char* key, bool on) {
    if (on) raw.emplace_back(key, "true");
  };
  add("mode", args.mode);
  add("format", args.format);
  add("weight-type", args.weightType);
  add("activation-type", args.activationType);
  flag("per-channel", args.perChannel);
  flag("symmetric", args.symmetric);
  flag("reduce-range", args.reduceRange);
  add("block-size", args.blockSize);
  add("calib-method", args.calibMethod);
  add("percentile", args.percentile);
  add("calib-samples", args.calibSamples);
  add("op-types", args.opTypes);
  add("exclude-nodes", args.excludeNodes);
  add("exclude-op-types", args.excludeOpTypes);
  flag("keep-io-types", args.keepIoTypes);
  flag("matmul-nbits", args.matmulNBits);
  flag("bias-correction", args.biasCorrection);
  flag("equalize", args.equalize);
  flag("smoothquant", args.smoothQuant);
  add("smoothquant-alpha", args.smoothQuantAlpha);
  return raw;
}

Status runQuantize(const QuantizeArgs& args) {
  RawOptions raw = passOptions(args);
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
  cmd->add_option("--mode", args->mode, "static (default), dynamic, weight-only, fp16 or bf16");
  cmd->add_option("--format", args->format,
                  "static: qdq (default: QuantizeLinear/DequantizeLinear pairs, for ORT, TensorRT, onnxruntime-web) or "
                  "qoperator (QLinearConv, QLinearMatMul, com.microsoft QLinearAdd/Mul/pools)");
  cmd->add_option("--weight-type", args->weightType, "int8 (default), uint8, int4 or uint4");
  cmd->add_option("--activation-type", args->activationType, "static: uint8 (default) or int8");
  cmd->add_flag("--per-channel", args->perChannel, "one weight scale per output channel (needs opset 13: upgraded)");
  cmd->add_flag("--symmetric", args->symmetric,
                "symmetric activations and unsigned weights too (signed weights are always symmetric)");
  cmd->add_flag("--reduce-range", args->reduceRange, "7-bit weights, for CPUs without VNNI");
  cmd->add_option("--block-size", args->blockSize, "weight-only: weights per scale along K (power of two >= 16; default 128)");
  cmd->add_option("--calib-data", args->compress.calibData,
                  "DATA (.npz or directory) to calibrate on; checked against the model's inputs before any work");
  cmd->add_option("--calib-method", args->calibMethod, "minmax (default), percentile, entropy or mse");
  cmd->add_option("--percentile", args->percentile, "with --calib-method percentile: P in (50, 100] (default 99.999)");
  cmd->add_option("--calib-samples", args->calibSamples, "samples of --calib-data to use (default: all)");
  cmd->add_option("--op-types", args->opTypes, "ops to quantize, comma separated (default: the mode's set)");
  cmd->add_option("--exclude-nodes", args->excludeNodes, "regex: nodes whose name it matches stay float");
  cmd->add_option("--exclude-op-types", args->excludeOpTypes,
                  "ops left in float, comma separated (fp16/bf16: added to the default blocklist)");
  cmd->add_flag("--keep-io-types", args->keepIoTypes, "fp16/bf16: graph inputs and outputs stay float32");
  cmd->add_flag("--matmul-nbits", args->matmulNBits, "weight-only int4: com.microsoft MatMulNBits instead of DequantizeLinear");
  cmd->add_flag("--bias-correction", args->biasCorrection, "static: correct biases by the mean output error on the calibration data");
  cmd->add_flag("--equalize", args->equalize, "static: cross-layer equalization of Conv/Gemm pairs first (CNNs)");
  cmd->add_flag("--smoothquant", args->smoothQuant, "static: SmoothQuant for MatMul inputs (transformers)");
  cmd->add_option("--smoothquant-alpha", args->smoothQuantAlpha, "SmoothQuant migration strength in [0, 1] (default 0.5)");
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
