// Bias correction (quantize{bias-correction=true}): shift the quantized biases of
// Conv and Gemm so that each layer's OWN weight rounding no longer moves the mean of
// its output. This is the empirical form of Nagel et al. 2019 (section 4.2): for a
// linear layer y = W x, quantizing W to W_q = W + eps adds E[eps x] = eps E[x] to the
// mean output, and subtracting that from the bias cancels it. Nagel et al. derive E[x]
// from the preceding BatchNormalization; here it is measured on the calibration data,
// at the layer's actual (quantized) input, so it needs no BatchNormalization.
// Each layer removes only the error of its own weights: the error that reaches it
// from upstream layers is left to their corrections (measuring the whole output error
// of every layer at once corrected that upstream error twice). The activations'
// quantization error (rounding, and the mean shift that clipping causes) is not
// corrected.
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
//     graph is a target when its weight (input 1) is a DequantizeLinear of constants
//     (int8/uint8/int4/uint4/int32 codes; per tensor, per axis or blocked; else
//     "skipped layers with an unreadable weight"). The node of
//     `floatModel` producing the same output name is the float layer (else statistic
//     "skipped layers missing from the float model"); its input 1 must be a float32
//     constant of the same shape and its op the same ("skipped layers without a
//     matching float weight"). Other layers are left alone.
//   - The bias (input 2), when present, is DequantizeLinear(b_q: int32 constant with one
//     code per channel, b_scale: float constant [C] or scalar, zero point) read by this
//     layer only, b_q read by that DequantizeLinear only; other biases are skipped
//     ("skipped layers with an unsupported bias", "skipped layers with a shared bias").
//     A missing bias needs constant scales on the input and weight DequantizeLinear
//     nodes (input scale scalar; weight scale scalar or [C]).
//   - Conv: weight [M, C/group, k...], M divisible by group, consistent window
//     attributes ("skipped layers with an unsupported geometry"); input [N, C, ...].
//   - Gemm: transA, transB any, beta != 0, input A 2-D.
//   - The layer's input 0 is computed (or fed) as float32 of the expected shape; a
//     layer whose input was never seen so is "skipped layers not measured". Main
//     graph only.
//
// Math, with eps = W_q - W (the dequantized weight minus the float one), over the
// first `samples` samples of `data` (0: all) run through `quantized`:
//   Conv  delta_m = -sum_{j < C/group, k} eps[m, j, k] * mean_{n, o} x[n, g(m) C/group + j, o s + k d - p]
//         with g(m) = m / (M / group): the mean, over every batch item n and output
//         position o, of the input element that kernel offset k reads (zero in the
//         padding, so borders are exact: one running sum per input channel and
//         kernel offset, i.e. the mean of each row of im2col(x)).
//   Gemm  y = alpha op(A) op(B) + beta C, op(B) = W as [K, N]:
//         delta_n = -alpha * sum_k eps[k, n] * mean_r op(A)[r, k]; the bias shifts by delta_n / beta.
//   b_q[c] += round_half_even(delta_c / (beta * b_scale[c])) (beta = 1 for Conv), saturated to int32.
// One run of the quantized model, sample by sample (forEachSample); the float model is
// only read for its weights. Memory: the running input sums (C * prod(k) per Conv, K
// per Gemm) and one layer's weights at a time; it does not grow with the data.
#pragma once

#include <cstdint>

#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/Pass.h"

namespace onnxpress::quant {

/// Corrects the biases of `quantized` for the weight rounding relative to `floatModel`;
/// returns the number of layers whose bias changed or was added (statistic "biases corrected").
Expected<int64_t> correctBias(const Model& floatModel, Model& quantized, Dataset& data, int64_t samples, int threads,
                              PassResult& result);

}  // namespace onnxpress::quant
