// Bias correction (quantize{bias-correction=true}): shift the quantized biases of
// Conv and Gemm by the mean output error the quantization introduced, measured on
// calibration data. Nagel et al. 2019 (section 4.2) derive the shift analytically
// from BatchNormalization statistics; here it is measured, so it also covers the
// activations' rounding and models without BatchNormalization.
//
// Before (QDQ, as the static quantizer writes it):
//   x_dq ─ Conv(DQ(W_q, W_scale), DQ(b_q, b_scale)) ─ y
// After:
//   x_dq ─ Conv(DQ(W_q, W_scale), DQ(b_q + round(delta / b_scale), b_scale)) ─ y
//   A Conv/Gemm without bias gets one: DQ(round(delta / b_scale) as int32, b_scale, 0)
//   with b_scale = input scale * weight scale (read from the DequantizeLinear nodes
//   feeding inputs 0 and 1), added only when some code is non-zero.
//
// Preconditions:
//   - `quantized` was written from `floatModel` in QDQ form: a Conv/Gemm of its main
//     graph is a target when its weight (input 1) is a DequantizeLinear output of a
//     constant; its output value has the same name in `floatModel` (else statistic
//     "skipped layers missing from the float model"). Other layers are left alone.
//   - The bias (input 2), when present, is DequantizeLinear(b_q: int32 constant with one
//     code per channel, b_scale: float constant [C] or scalar, zero point) read by this
//     layer only, b_q read by that DequantizeLinear only; other biases are skipped
//     ("skipped layers with an unsupported bias", "skipped layers with a shared bias").
//     A missing bias needs constant scales on the input and weight DequantizeLinear
//     nodes (input scale scalar; weight scale scalar or [C]).
//   - Gemm: transA any, beta != 0, output [M, C]. Conv: output [N, C, ...].
//   - Main graph only.
//
// Math, per output channel c (axis 1 of a Conv output, the last axis of a Gemm's):
//   delta_c = mean(y_float[:, c]) - mean(y_quant[:, c]) over the first `samples`
//   samples of `data` (0: all); Gemm's bias enters as beta * C, so
//   b_q[c] += round_half_even(delta_c / (beta * b_scale[c])), saturated to int32.
// Both models run once over the data, sample by sample (forEachSample), and only two
// running sums per channel of each layer are kept, so memory does not grow with the
// data. All layers are corrected at once from that single pass. Sequential correction
// (layer by layer, re-measuring after each upstream layer is fixed) is more accurate,
// since a layer's measured error then excludes what upstream corrections remove, but
// costs one pass over the data per layer.
#pragma once

#include <cstdint>

#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/Pass.h"

namespace onnxpress::quant {

/// Corrects the biases of `quantized` against `floatModel`; returns the number of
/// layers whose bias changed or was added (statistic "biases corrected").
Expected<int64_t> correctBias(const Model& floatModel, Model& quantized, Dataset& data, int64_t samples, int threads,
                              PassResult& result);

}  // namespace onnxpress::quant
