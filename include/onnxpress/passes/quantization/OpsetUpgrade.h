// Opset upgrade for quantized models: int4/uint4 tensors and DequantizeLinear with
// block_size exist from ai.onnx opset 21 (which needs IR version 10), per-channel
// QuantizeLinear/DequantizeLinear from 13. The quantize modes call upgradeOpset() before
// they write such nodes.
//
// Before (opset 13):                          After (target=21):
//   x ─ ReduceMean{axes=[1]} ─ y                x ─ ReduceMean(x, axes=int64[1] {1}) ─ y
//   opset_import ai.onnx 13, ir_version 7       opset_import ai.onnx 21, ir_version 10
//
// Policy (kOpsetUpgradePolicy below; the CLI's --help quotes it): a checked bump of
// every ai.onnx node in the main graph, every If/Loop/Scan body and every model-local
// function (each from its own import), from the model's opset (>= 6) to the target
// (<= 21). It never needs shapes: onnx's version converter refused real models (a
// Softmax whose input rank it could not infer). Each form change of the ONNX changelog:
//   7   legacy broadcast (broadcast=1, axis) of Add Sub Mul Div Pow And Or Xor Equal
//       Greater Less -> numpy: a constant input 1 aligned at `axis` gets trailing 1-dims
//       (a non-constant one, or an unknown rank of input 0, is refused); Gemm broadcast
//       and BatchNormalization/Dropout is_test attributes dropped
//   9   BatchNormalization: spatial attribute removed (spatial=0 refused); Scan-8 refused
//   10  Upsample -> Resize (scales attribute of Upsample-7 -> input); Slice starts, ends,
//       axes attributes -> inputs; TopK k attribute -> input
//   11  Resize-10 (x, scales) -> (x, roi, scales) with coordinate_transformation_mode
//       asymmetric and nearest_mode floor (enlarging) or ceil (shrinking), as ONNX
//       Runtime runs Resize-10 and Upsample; roi omitted from 13. Clip min/max and Pad
//       pads/value attributes -> inputs (scalars of the input's float type); Scatter ->
//       ScatterElements
//   12  Dropout ratio attribute dropped (inference ignores it)
//   13  Softmax, LogSoftmax, Hardmax: the 2-D coercion at `axis` becomes
//       Flatten(axis) -> op(axis=-1) -> Reshape(Shape(x)), or just axis=-1 when the
//       rank is known and axis is the last; Squeeze/Unsqueeze axes, Split split and
//       ReduceSum axes attributes -> inputs
//   14  BatchNormalization training outputs removed (refused when read)
//   16  RoiAlign: coordinate_transformation_mode output_half_pixel written (the
//       default changed to half_pixel)
//   18  ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceMax, ReduceMean,
//       ReduceMin, ReduceProd, ReduceSumSquare: axes attribute -> input; Split without
//       a split input gets num_outputs
//   20  DFT axis attribute -> input; GridSample bilinear/bicubic -> linear/cubic
//   21  GroupNormalization refused (scale and bias changed meaning)
// An int64 list attribute becomes an initializer (a Constant node in function bodies,
// which hold no initializers); an empty list (all axes) becomes an omitted input. Every
// other op is valid at the target unchanged (new versions only add types, attributes
// or optional inputs with backward-compatible defaults). Then every ai.onnx import
// becomes `target` and ir_version max(ir_version, minimumIrVersionForOpset(target)).
// Nodes of other domains are never touched.
//
// Preconditions (usage errors otherwise, checked before anything changes, so a refusal
// leaves the model as it was): 7 <= opset, target <= 21; the refusals above; in function
// bodies an attribute that has to move must not be a reference to the caller's
// attribute. A model that imports no ai.onnx opset gets the import when it has no
// ai.onnx node (an invalid-input error otherwise).
//
// Statistics: "opset upgraded to N", "opset upgrade: <what>" per rewrite kind.
#pragma once

#include <cstdint>
#include <string_view>

#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/Pass.h"
#include "onnxpress/support/Status.h"

namespace onnxpress::quant {

/// The policy in one paragraph, for --help.
inline constexpr std::string_view kOpsetUpgradePolicy =
    "per-channel scales need ai.onnx opset 13, int4/uint4 weights and blocked DequantizeLinear opset 21 "
    "(IR version 10). Models from opset 6 on are upgraded node by node without shape inference: legacy "
    "broadcast attributes become numpy broadcasting, every "
    "attribute that became an input moves (Slice, TopK, Clip, Pad, Squeeze/Unsqueeze, Split, reductions, "
    "DFT), Upsample and Resize-10 become Resize with their old coordinate rules, Softmax/LogSoftmax/Hardmax "
    "keep their 2-D meaning through Flatten/Reshape, and the few ops whose meaning changed (Scan-8, "
    "BatchNormalization spatial=0 or read training outputs, GroupNormalization across 21) are refused. "
    "Ops of other domains are left alone.";

/// Makes `model` import ai.onnx >= `target` (<= 21) following the policy above; nothing
/// happens when it already does. Rewrites and the new opset are recorded in `result`.
Status upgradeOpset(Model& model, int64_t target, PassResult& result);

}  // namespace onnxpress::quant
