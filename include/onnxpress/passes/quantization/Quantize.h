// quantize: one pass, one options struct, for every quantization mode; the
// `quantize` command and `compress --passes quantize{...}` share it.
//
//   static       calibrate activation ranges on --calib-data with the built-in runtime
//                (streamed: running min/max, then fixed-range histograms), then write
//                QDQ (QuantizeLinear/DequantizeLinear around Conv, Gemm, MatMul, Add,
//                Mul, pools; see StaticQuantization.h) or QOperator (QLinearConv,
//                QLinearMatMul, com.microsoft QLinearAdd; see QOperatorConversion.h)
//   dynamic      int8 weights; activations quantized at run time by
//                DynamicQuantizeLinear into MatMulInteger / ConvInteger, LSTM into
//                com.microsoft DynamicQuantizeLSTM (see DynamicQuantization.h)
//   weight-only  int8/int4 weights, blockwise, dequantized in the graph: opset-21
//                DequantizeLinear with block_size, or com.microsoft MatMulNBits
//                (see WeightOnlyQuantization.h)
//   fp16, bf16   float32 tensors stored and computed in 16 bits, out-of-range values
//                clamped and counted (see FloatConversion.h)
//
// Accuracy repairs (static mode): cross-layer equalization and bias correction for
// CNNs, SmoothQuant for transformer MatMuls; each is off unless asked for.
//
// Defaults follow ONNX Runtime's quantizer (uint8 asymmetric activations, int8 symmetric
// weights, QDQ) except where accuracy on real models needs otherwise: per-channel
// weights, and signal filter banks (and, in dynamic mode, tiny weights) left float.
#pragma once

#include <string>
#include <vector>

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct QuantizeOptions {
  std::string mode = "static";
  std::string format = "qdq";
  std::string weightType = "int8";
  std::string activationType = "uint8";
  bool perChannel = true;
  bool symmetric = false;
  bool reduceRange = false;
  int64_t blockSize = 128;
  int64_t minWeights = 1024;  // kTinyWeightElements
  std::string calibMethod = "minmax";
  double percentile = 99.999;
  int64_t calibSamples = 0;
  std::vector<std::string> opTypes;  // empty: the mode's default op types
  std::string excludeNodes;
  std::vector<std::string> excludeOpTypes;
  bool keepIoTypes = false;
  bool matmulNBits = false;
  bool biasCorrection = false;
  bool equalize = false;
  bool smoothQuant = false;
  double smoothQuantAlpha = 0.5;
  std::string minFidelity = "auto";
  int64_t fallbackSamples = 32;
  template <class V>
  void visitOptions(V& v) {
    v("mode", mode, "static, dynamic, weight-only, fp16 or bf16");
    v("format", format, "static mode: qdq (QuantizeLinear/DequantizeLinear pairs, for ORT, TensorRT, onnxruntime-web) or "
      "qoperator (QLinearConv, QLinearMatMul, com.microsoft QLinearAdd/Mul/pools)");
    v("weight-type", weightType, "int8, uint8, int4 or uint4 (int4/uint4: weight-only, or static with opset 21)");
    v("activation-type", activationType, "uint8 or int8");
    v("per-channel", perChannel,
      "one scale per output channel of Conv/Gemm/MatMul weights (upgrades the model to opset 13 when below; "
      "--per-channel=false for per-tensor)");
    v("symmetric", symmetric,
      "symmetric ranges for activations and unsigned weights too (signed weights are always symmetric)");
    v("reduce-range", reduceRange, "7-bit weights, for CPUs without VNNI where u8s8 products can saturate");
    v("min-weights", minWeights,
      "dynamic: MatMul/Gemm/Conv weights with fewer values stay float (a DynamicQuantizeLinear costs more than "
      "int8 saves there); 0 quantizes all");
    v("block-size", blockSize, "weight-only: weights per scale along the reduction dim (power of two, >= 16)");
    v("calib-method", calibMethod, "static: minmax, percentile, entropy (KL divergence) or mse");
    v("percentile", percentile, "calib-method=percentile: the percentile of values kept, in (50, 100]");
    v("calib-samples", calibSamples, "samples of the calibration data used (0: all)");
    v("op-types", opTypes, "ops to quantize (default: the mode's set, see docs/quantization.md)");
    v("exclude-nodes", excludeNodes, "regex of node names left in float");
    v("exclude-op-types", excludeOpTypes, "ops left in float, comma separated (fp16/bf16: added to the default blocklist)");
    v("keep-io-types", keepIoTypes, "fp16/bf16: graph inputs and outputs stay float32 (Casts are inserted)");
    v("matmul-nbits", matmulNBits, "weight-only: write com.microsoft MatMulNBits instead of DequantizeLinear+MatMul");
    v("bias-correction", biasCorrection, "static: shift biases by the mean output error measured on calibration data");
    v("equalize", equalize, "static: cross-layer equalization of consecutive Conv/Gemm weights before quantizing");
    v("smoothquant", smoothQuant, "static: migrate activation outliers of MatMul inputs into the weights");
    v("smoothquant-alpha", smoothQuantAlpha, "smoothquant migration strength in [0, 1]");
    v("min-fidelity", minFidelity,
      "static/dynamic: keep the layers that lose the most float until the outputs on the calibration data reach "
      "this SNR (30dB) or cosine (0.999) against the float model; the plan is replayable as exclude-nodes. auto: "
      "30dB in static mode, off in dynamic mode; off: never");
    v("fallback-samples", fallbackSamples, "min-fidelity: calibration samples (spread evenly over the data) the fidelity is measured on (0: all)");
  }
  Status validate() const;
};

class QuantizePass final : public PassBase<QuantizePass, QuantizeOptions> {
 public:
  static constexpr std::string_view kName = "quantize";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
  bool needsCalibrationData() const override {
    return options_.mode == "static" ||
           ((options_.mode == "dynamic") && options_.minFidelity != "auto" && options_.minFidelity != "off");
  }
};

}  // namespace onnxpress
