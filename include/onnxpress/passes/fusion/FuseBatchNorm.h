// fuse-bn: fold an inference BatchNormalization into the Conv, ConvTranspose or Gemm
// that feeds it.
//
// Before:                                        After:
//   x ─ Conv(W, b?) ─ t ─ BatchNormalization ─ y    x ─ Conv(W', b') ─ y
//                          (scale, B, mean, var)
//   (likewise ConvTranspose(W, b?) and Gemm(A, B, C?) with Gemm output [N, C])
//
// Preconditions:
//   - BatchNormalization in inference form: training_mode = 0, spatial = 1 (opset < 9),
//     only output 0 read; scale, B, mean and var constant, one value per channel.
//   - The producer's output is read by the BatchNormalization alone, in the same graph.
//   - Weight and bias constant (initializers or Constant nodes) of a float type
//     (float32, float64, float16, bfloat16); new tensors keep that type.
//   - Gemm: opset >= 7; its bias C, if present, unidirectionally broadcastable to [M, N].
//
// Math: s = scale / sqrt(var + epsilon), shift = B - mean * s, per output channel c.
//   Conv           W'[c, ...] = W[c, ...] * s[c]            (W is [M, C/group, k...])
//   ConvTranspose  W'[i, j, ...] = W[i, j, ...] * s[g*Cout/group + j]
//                  with g = i / (Cin/group)                  (W is [Cin, Cout/group, k...])
//   Gemm           column n of op(B) scaled by s[n] (row n of B when transB = 1);
//                  C' = s * (beta * C) + shift broadcast to [1 or M, N], beta' = 1
//   bias           b' = b * s + shift (b = 0 when absent; a bias input is created)
// The weight is always replaced by a new initializer, so a weight another node
// shares is never mutated; the old one is dropped when nothing else reads it.
#pragma once

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

class FuseBatchNormPass final : public PassBase<FuseBatchNormPass, NoOptions> {
 public:
  static constexpr std::string_view kName = "fuse-bn";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
