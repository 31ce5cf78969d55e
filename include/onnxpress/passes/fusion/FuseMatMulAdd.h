// fuse-matmul-add: MatMul followed by a constant Add becomes one Gemm.
//
// Before:                                 After:
//   A ─ MatMul(·, B) ─ t ─ Add(·, C) ─ y     A ─ Gemm(·, B, C) ─ y
//   (or Add(C, t))
//
// Preconditions:
//   - A has rank 2 (from its type; inferShapes() runs first), B is a constant of
//     rank 2 [K, N], C is a constant of rank <= 2 whose shape broadcasts to [M, N]
//     without growing it: last dim 1 or N, first dim (rank 2) 1 or M with M static.
//   - The MatMul output is read by the Add alone, in the same graph.
//   - Element type float32, float64 or float16 (opset >= 7), or bfloat16 (opset >= 13).
//
// Math: Gemm(A, B, C) with alpha = beta = 1 and no transposes is A·B + C, where C is
// unidirectionally broadcast to [M, N]: exactly what the Add computed.
#pragma once

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

class FuseMatMulAddPass final : public PassBase<FuseMatMulAddPass, NoOptions> {
 public:
  static constexpr std::string_view kName = "fuse-matmul-add";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
