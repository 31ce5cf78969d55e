// Shape inference for the IR, through onnx's own (onnx/shape_inference), with
// data propagation so Shape-derived constants resolve.
//
// The model goes to protobuf without its large weights (they become typed graph
// inputs, so inference sees their shapes but copies no bytes beyond 1 KiB per
// tensor), onnx infers, and every value whose type gains information takes the
// inferred type. Subgraphs are matched node by node. Inference errors in a node
// (unknown domains, opsets newer than the linked onnx) are not fatal: what could
// be inferred is kept.
#pragma once

#include "onnxpress/ir/Model.h"
#include "onnxpress/support/Status.h"

namespace onnxpress {

struct ShapeInferenceResult {
  int64_t valuesTyped = 0;   // values whose type gained information
  std::string firstError;    // onnx's first complaint, if any ("" when clean)
};

/// Infers types and shapes; fails only if the model cannot be exported at all.
Expected<ShapeInferenceResult> inferShapes(Model& model);

}  // namespace onnxpress
