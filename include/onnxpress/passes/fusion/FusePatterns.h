// fuse-patterns: recognize decomposed LayerNormalization, Gelu, HardSwish and
// HardSigmoid (as PyTorch and Paddle export them) and emit the single ONNX op.
//
// Before:                                              After:
//   layernorm (opset >= 17):
//     x ─ ReduceMean ─ m; d = Sub(x, m)                  x ─ LayerNormalization
//     d ─ Pow(·, 2) ─ ReduceMean ─ Add(eps) ─ Sqrt ─ s        <axis = -k, epsilon = eps>
//     Div(d, s) | Mul(d, Reciprocal(s))                         (x, gamma or ones, beta?)
//     [─ Mul(gamma)] [─ Add(beta)]
//   gelu (opset >= 20; com.microsoft Gelu/FastGelu below when the model imports it):
//     0.5 * x * (1 + Erf(x / 1.41421))  (any association of the product; x * 0.70711 too)
//                                                         x ─ Gelu
//     0.5 * x * (1 + Tanh(0.79788 * (x + 0.044715 * x^3)))  x ─ Gelu<approximate = "tanh">
//   hardswish (opset >= 14):
//     x * HardSigmoid<alpha = 1/6, beta = 0.5>(x)      x ─ HardSwish
//     x * Clip(x + 3, 0, 6) / 6   (or * 1/6, any association)
//   hardsigmoid (opset >= 6):
//     Clip(x + 3, 0, 6) / 6   (or * 1/6)                x ─ HardSigmoid<alpha = 1/6, beta = 0.5>
//
// Preconditions:
//   - Every intermediate is read only inside the pattern, in the same graph; x may
//     have other readers. Constants match with relative tolerance 1e-4 (1e-3 for
//     float16, 8e-3 for bfloat16 constants) and are single-element tensors whose rank
//     does not exceed x's (they would otherwise broadcast the result's rank).
//   - layernorm: both ReduceMeans keep dims and reduce the same trailing k axes (axes
//     attribute before opset 18, constant input from 18; negative or positive, the
//     rank from inferShapes()); the k normalized dims of x are static; gamma and beta
//     are constants that broadcast within those dims (they are expanded to them).
//   - Element type float16, float32, float64 (and bfloat16 for LayerNormalization and
//     Gelu), as the emitted op allows.
//
// Math: LayerNormalization(axis = -k) is exactly (x - E[x]) / sqrt(Var[x] + eps) * gamma
// + beta over the last k axes. Gelu(x) = x * 0.5 * (1 + erf(x / sqrt 2)); its tanh
// form is 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). HardSigmoid(x) =
// max(0, min(1, x/6 + 1/2)) = Clip(x + 3, 0, 6) / 6, and HardSwish(x) = x * that.
// The rewrite only replaces the last node's output, so correctness does not depend on
// the single-use checks; they keep it from duplicating work.
//
// Statistics: "LayerNormalization fused", "Gelu fused", "HardSwish fused",
// "HardSigmoid fused".
#pragma once

#include <string>
#include <vector>

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct FusePatternsOptions {
  std::vector<std::string> patterns{"layernorm", "gelu", "hardswish", "hardsigmoid"};
  template <class V>
  void visitOptions(V& v) {
    v("patterns", patterns, "rewrites to apply, any of: layernorm, gelu, hardswish, hardsigmoid");
  }
  Status validate() const;
};

class FusePatternsPass final : public PassBase<FusePatternsPass, FusePatternsOptions> {
 public:
  static constexpr std::string_view kName = "fuse-patterns";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
