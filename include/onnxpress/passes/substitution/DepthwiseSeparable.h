// dwsep: replace a standard convolution by a depthwise one followed by a pointwise one.
//
// Before:                               After:
//   x ─ Conv(W[Co,Ci,kh,kw], b) ─ y       x ─ Conv(D[Ci,1,kh,kw], group=Ci) ─ h ─ Conv 1x1(P[Co,Ci,1,1], b) ─ y
//
// Preconditions: Conv with group=1, a kernel of more than one element (any spatial
// rank) and a constant float weight (initializer or Constant node, any float
// dtype, kept) of at least `min-params` elements. The depthwise conv keeps the
// original strides, pads (or auto_pad) and dilations, so the output shape is
// unchanged; the bias moves to the pointwise conv. With only-if-smaller a conv is
// skipped unless Ci*k + Co*Ci < Co*Ci*k (k = kernel elements).
//
// Math: the replacement computes y[o] = sum_i P[o,i] sum_s D[i,s] x_i(s), i.e. the
// weight W[o,i,s] = P[o,i] D[i,s]: for each input channel i the Co×k slice
// M_i[o,s] = W[o,i,s] becomes rank 1. The Frobenius error splits over i, so the
// least-squares optimum is each slice's best rank-1 approximation, from its SVD:
// M_i ≈ s1 u v^T, D[i,:] = sqrt(s1) v, P[:,i] = sqrt(s1) u. The squared error is
// sum_i (|M_i|^2 - s1(M_i)^2); "relative weight error (ppm)" reports
// 1e6 * sqrt(error / |W|^2) over all replaced convs.
#pragma once

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct DepthwiseSeparableOptions {
  int64_t minParams = 0;
  bool onlyIfSmaller = true;

  template <class V>
  void visitOptions(V& v) {
    v("min-params", minParams, "skip convs whose weight has fewer elements");
    v("only-if-smaller", onlyIfSmaller, "skip a conv unless the separable pair has fewer parameters");
  }
  Status validate() const;
};

class DepthwiseSeparablePass final : public PassBase<DepthwiseSeparablePass, DepthwiseSeparableOptions> {
 public:
  static constexpr std::string_view kName = "dwsep";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
