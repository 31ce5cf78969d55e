// fuse-reshape: collapse chains of shape-only ops into one.
//
// Before:                                        After:
//   x ─ Reshape(s1) ─ a ─ Reshape(s2) ─ y          x ─ Reshape(s2) ─ y
//   x ─ Unsqueeze([1]) ─ b ─ Unsqueeze([2]) ─ z    x ─ Unsqueeze([1,2]) ─ z
//
// Preconditions:
//   Reshape: s2 is constant and copies nothing from the intermediate shape (no 0
//   entries, or allowzero=1, where 0 means a zero-sized dim). -1 is fine: the
//   element count is the same before and after the first Reshape.
//   Unsqueeze: both axes constant (attribute before opset 13, input from 13) and
//   the rank of x known (to normalize negative axes).
//   The intermediate value may have other readers; it then stays for them.
//
// Math: Reshape only reinterprets the row-major element order, which both steps
// keep, so the last target alone decides the result. For Unsqueeze, with r = rank x,
// the output has rank r + |a1| + |a2|; positions a2 are the second step's new dims,
// and of the remaining positions (in order), those whose index lies in a1 are the
// first step's. Their union is the combined axes list.
#pragma once

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

class FuseReshapePass final : public PassBase<FuseReshapePass, NoOptions> {
 public:
  static constexpr std::string_view kName = "fuse-reshape";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
