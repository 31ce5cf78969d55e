// fuse-transpose: merge Transpose chains, drop identity ones, fold them into constants
// and into Gemm's transA/transB.
//
// Before:                                   After:
//   x ─ Transpose(p1) ─ Transpose(p2) ─ y      x ─ Transpose(q) ─ y       q[i] = p1[p2[i]]
//   x ─ Transpose(p1) ─ Transpose(p1⁻¹) ─ y    x ─ y                      (identity: removed)
//   W(const) ─ Transpose(p) ─ y                W' (new initializer) ─ y
//   x ─ Transpose([1,0]) ─ Gemm(·, B)          x ─ Gemm<transA = !transA>(·, B)   (likewise B)
//
// Preconditions:
//   - A missing perm means reversed dims and needs the input's rank (inferShapes()
//     runs first); a Transpose whose perm cannot be known is left alone.
//   - When the first Transpose of a pair has other readers it stays for them; only this
//     reader is rewired.
//   - An identity is only forwarded when the replaced value can hand its uses over
//     (replaceKeepingInterface: not a main-graph output fed by an input or
//     initializer, not a subgraph output fed from outside the subgraph's own nodes);
//     otherwise the merged identity Transpose stays. Folded constants likewise.
//   - Constants are folded for any byte-sized element type; a Transpose of a constant
//     whose readers are all Gemm A/B inputs is folded into the Gemm instead.
//
// Math: Transpose(x, p) has out[i0..in-1] = x[j] with j[p[k]] = i_k, i.e. output axis k
// is input axis p[k]. Applying p2 after p1 gives output axis k = input axis p1[p2[k]].
// Gemm computes op(A)·op(B) with op = transpose when transA/transB is 1, so a rank-2
// Transpose feeding A or B is the same as toggling the flag.
//
// Statistics: "Transpose pairs merged", "Transposes cancelled" (identity compositions
// and identity Transposes removed), "Transposes folded into Gemm", "Transposes folded
// into constants".
#pragma once

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

class FuseTransposePass final : public PassBase<FuseTransposePass, NoOptions> {
 public:
  static constexpr std::string_view kName = "fuse-transpose";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
