// lowrank: replace a large weight layer by two thinner ones from a truncated SVD.
//
// Before:                         After:
//   x ─ Gemm(W[K,N], C) ─ y         x ─ Gemm(P[K,r]) ─ h ─ Gemm(Q[r,N], C) ─ y
//   x ─ MatMul(W[K,N]) ─ y          x ─ MatMul(P[K,r]) ─ h ─ MatMul(Q[r,N]) ─ y
//   x ─ Conv(W[Co,Ci,kh,kw], b) ─ y
//      conv-mode=channel:           x ─ Conv(Q[r,Ci,kh,kw]) ─ h ─ Conv 1x1(P[Co,r,1,1], b) ─ y
//      conv-mode=spatial:           x ─ Conv kh×1 (V[r,Ci,kh,1]) ─ h ─ Conv 1×kw (H[Co,r,1,kw], b) ─ y
//
// Preconditions: the weight is a float constant (initializer or Constant node, any
// float dtype, kept) with at least `min-params` elements; Gemm's B and MatMul's
// second input are rank 2; Conv has group=1 and a constant weight. Gemm keeps
// transA on the first layer and alpha, beta and C on the second; at opsets below 11,
// where Gemm's C is required, the first layer gets a zero scalar C. The first Conv
// keeps the original strides, pads (or auto_pad) and dilations, so the output
// shape is unchanged. Graph inputs and outputs keep their names and shapes.
//
// Math: W (as a matrix) = U S V^T. Kept rank r = ceil(ratio * R), R = min(rows, cols),
// or with energy > 0 the smallest r with sum_{i<r} s_i^2 >= energy * sum s_i^2.
// P = U_r sqrt(S_r), Q = sqrt(S_r) V_r^T, W ≈ P Q is the Frobenius-optimal rank-r
// approximation (Eckart–Young); its error is sqrt(sum_{i>=r} s_i^2). Parameters go
// from rows*cols to r*(rows+cols); with only-if-smaller a layer is skipped unless
// that is fewer.
//   Gemm/MatMul: W[K,N] itself (B^T when transB=1).
//   channel:     W[Co, Ci*kh*kw] = P[Co,r] Q[r, Ci*kh*kw]: Q is a full conv into r
//                channels, P a 1x1 conv out of them (any spatial rank, 1x1 included).
//   spatial:     (Jaderberg et al. 2014, scheme 2) M[(ci,y),(co,x)] = W[co,ci,y,x],
//                M ≈ P Q with V[k,ci,y] = P[(ci,y),k] a vertical kh×1 conv Ci→r and
//                H[co,k,x] = Q[k,(co,x)] a horizontal 1×kw conv r→Co. Each conv owns
//                one axis' stride, dilation and padding (the pads and auto_pad of a
//                separable conv split per axis exactly). Only 2-D convs with kh,kw > 1;
//                others use channel mode.
#pragma once

#include <string>
#include <vector>

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct LowRankOptions {
  double ratio = 0.5;
  double energy = 0;
  std::vector<std::string> opTypes = {"Gemm", "MatMul", "Conv"};
  int64_t minParams = 4096;
  bool onlyIfSmaller = true;
  std::string convMode = "channel";

  template <class V>
  void visitOptions(V& v) {
    v("ratio", ratio, "kept rank as a fraction of the full rank, in (0,1]");
    v("energy", energy, "when > 0: keep the smallest rank holding this fraction of the squared singular values");
    v("op-types", opTypes, "ops to factorize: Gemm, MatMul, Conv");
    v("min-params", minParams, "skip layers whose weight has fewer elements");
    v("only-if-smaller", onlyIfSmaller, "skip a layer unless its factors have fewer parameters");
    v("conv-mode", convMode, "channel (kxk conv then 1x1) or spatial (kx1 then 1xk, 2-D convs)");
  }
  Status validate() const;
};

class LowRankPass final : public PassBase<LowRankPass, LowRankOptions> {
 public:
  static constexpr std::string_view kName = "lowrank";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
