// The quantize pass: checks the options and the model, then hands over to the mode.
#include "onnxpress/passes/quantization/Quantize.h"

#include <algorithm>
#include <map>
#include <memory>

#include "onnxpress/passes/quantization/DynamicQuantization.h"
#include "onnxpress/passes/quantization/FloatConversion.h"
#include "onnxpress/passes/quantization/MixedPrecision.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"
#include "onnxpress/passes/quantization/StaticQuantization.h"
#include "onnxpress/passes/quantization/WeightOnlyQuantization.h"

namespace onnxpress {
namespace {

Status oneOf(const char* key, const std::string& value, const std::vector<std::string>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return Status::ok();
  std::string list;
  for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return usageError("{} '{}' is not one of {}", key, value, list);
}

// An option that only means something in some modes is an error elsewhere, not ignored.
Status onlyIn(bool given, const char* key, bool allowed, const char* modes) {
  return given && !allowed ? usageError("{} applies to {} only", key, modes) : Status::ok();
}

}  // namespace

Status QuantizeOptions::validate() const {
  RETURN_IF_ERROR(oneOf("mode", mode, {"static", "dynamic", "weight-only", "fp16", "bf16"}));
  RETURN_IF_ERROR(oneOf("format", format, {"qdq", "qoperator"}));
  RETURN_IF_ERROR(oneOf("weight-type", weightType, {"int8", "uint8", "int4", "uint4"}));
  RETURN_IF_ERROR(oneOf("activation-type", activationType, {"uint8", "int8"}));
  RETURN_IF_ERROR(oneOf("calib-method", calibMethod, {"minmax", "percentile", "entropy", "mse"}));
  if (!(percentile > 50 && percentile <= 100)) return usageError("percentile {} is not in (50, 100]", percentile);
  if (minWeights < 0) return usageError("min-weights {} is negative", minWeights);
  if (calibSamples < 0) return usageError("calib-samples {} is negative", calibSamples);
  if (blockSize < 16 || (blockSize & (blockSize - 1)) != 0)
    return usageError("block-size {} is not a power of two >= 16", blockSize);
  ASSIGN_OR_RETURN(const quant::FidelityTarget target, quant::parseFidelityTarget(minFidelity));
  if (target.active() && !target.automatic && mode != "static" && mode != "dynamic")
    return usageError("min-fidelity applies to mode=static and mode=dynamic only");
  if (fallbackSamples < 0) return usageError("fallback-samples {} is negative", fallbackSamples);
  if (smoothQuantAlpha < 0 || smoothQuantAlpha > 1)
    return usageError("smoothquant-alpha {} is not in [0, 1]", smoothQuantAlpha);
  const bool isStatic = mode == "static", isFloat = mode == "fp16" || mode == "bf16";
  const bool fourBit = weightType == "int4" || weightType == "uint4";
  RETURN_IF_ERROR(onlyIn(format != "qdq", "format=qoperator", isStatic, "mode=static"));
  RETURN_IF_ERROR(onlyIn(fourBit, "weight-type int4/uint4", isStatic || mode == "weight-only",
                         "mode=weight-only and mode=static"));
  RETURN_IF_ERROR(onlyIn(fourBit && format == "qoperator", "weight-type int4/uint4", false, "format=qdq"));
  RETURN_IF_ERROR(onlyIn(fourBit && reduceRange, "reduce-range", false, "8-bit weights"));
  RETURN_IF_ERROR(onlyIn(keepIoTypes, "keep-io-types", isFloat, "mode=fp16 and mode=bf16"));
  RETURN_IF_ERROR(onlyIn(matmulNBits, "matmul-nbits", mode == "weight-only", "mode=weight-only"));
  RETURN_IF_ERROR(onlyIn(biasCorrection, "bias-correction", isStatic, "mode=static"));
  RETURN_IF_ERROR(onlyIn(equalize, "equalize", isStatic, "mode=static"));
  RETURN_IF_ERROR(onlyIn(smoothQuant, "smoothquant", isStatic, "mode=static"));
  RETURN_IF_ERROR(onlyIn(calibMethod != "minmax", "calib-method", isStatic, "mode=static"));
  return Status::ok();
}

Expected<PassResult> QuantizePass::run(Model& model, PassContext& context) {
  RETURN_IF_ERROR(quant::requireUnquantized(model, options_.mode));
  const int64_t unlisted = quant::unlistInitializerInputs(model);
  ASSIGN_OR_RETURN(const quant::FidelityTarget target, quant::parseFidelityTarget(options_.minFidelity));
  std::map<std::string, quant::TensorRange> ranges;  // static: calibrated once for every try of the fallback
  const quant::QuantizeOnce once = [&](Model& m, const QuantizeOptions& options) -> Expected<QuantizationResult> {
    if (options.mode == "static") return quant::quantizeStatic(m, options, context, &ranges);
    if (options.mode == "dynamic") return quant::quantizeDynamic(m, options);
    if (options.mode == "weight-only") return quant::quantizeWeightOnly(m, options);
    return quant::convertFloat(m, options);
  };
  Expected<QuantizationResult> result = QuantizationResult{};
  // auto is for static mode: dynamic int8 kept >= 99% of the task metric on most corpus
  // models, where a 30 dB target would have kept whole transformers float (MiniLM).
  const bool fallback = target.active() && (target.automatic ? options_.mode == "static" && context.calibrationData
                                                             : options_.mode == "static" || options_.mode == "dynamic");
  if (fallback) {
    if (!context.calibrationData)
      return usageError("min-fidelity needs data to measure on: give --calib-data DATA");
    auto plan = std::make_shared<QuantizationPlan>();
    result = quant::quantizeWithFallback(model, options_, target, *context.calibrationData, options_.fallbackSamples,
                                         context.threads, once, *plan);
    if (result) context.records.emit(std::move(plan));
  } else {
    result = once(model, options_);
  }
  if (!result) return result.status();
  for (QuantizedTensorInfo& tensor : result->quantized)
    context.records.emit(std::make_shared<QuantizedTensorInfo>(std::move(tensor)));
  PassResult generic = std::move(static_cast<PassResult&>(*result));
  generic.bump("initializers no longer listed as graph inputs (IR < 4)", unlisted);
  return generic;
}

}  // namespace onnxpress
