// convert-opset{target=N}: move the model to another ai.onnx opset.
//
// Before (opset 11):                        After (target=13):
//   x ─ Squeeze{axes=[0]} ─ y                 x ─ Squeeze(axes_const=[0]) ─ y
//   opset_import ai.onnx 11                   opset_import ai.onnx 13, ir_version >= 7
//
// Preconditions: every ai.onnx node has an adapter between its version and the
// target in onnx's version converter (onnx/version_converter, the library the
// Python `onnx.version_converter` wraps). The linked onnx 1.12 knows opsets up to
// 17, so targets above that are refused, as is any op the converter cannot carry
// (the error names it). Other domains are left as they are.
//
// Math: none; node-by-node adapters rewrite attributes into inputs and back, as
// the spec changes between versions. The IR version is raised to the lowest one
// that the target opset requires (ONNX versioning table), never lowered.
//
// This is the one pass that goes through protobuf: the converter works on a ModelProto.
#pragma once

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct ConvertOpsetOptions {
  int64_t target = 13;
  template <class V>
  void visitOptions(V& v) {
    v("target", target, "ai.onnx opset to convert to (7 to 17 with the linked onnx)");
  }
  Status validate() const;
};

class ConvertOpsetPass final : public PassBase<ConvertOpsetPass, ConvertOpsetOptions> {
 public:
  static constexpr std::string_view kName = "convert-opset";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

/// The lowest IR version that may carry ai.onnx opset `opset`.
int64_t minimumIrVersionForOpset(int64_t opset);

}  // namespace onnxpress
