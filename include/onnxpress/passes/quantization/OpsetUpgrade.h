// Opset upgrade for quantized models: int4/uint4 tensors and DequantizeLinear with
// block_size exist from ai.onnx opset 21 (which needs IR version 10), per-channel
// QuantizeLinear/DequantizeLinear from 13. The quantize modes call upgradeOpset() before
// they write such nodes.
//
// Before (opset 13):                          After (target=21):
//   x ─ ReduceMean{axes=[1]} ─ y                x ─ ReduceMean(x, axes=int64[1] {1}) ─ y
//   opset_import ai.onnx 13, ir_version 7       opset_import ai.onnx 21, ir_version 10
//
// Policy (kOpsetUpgradePolicy below; the CLI's --help quotes it):
//   1. opset < 17: onnx's version converter (the linked onnx 1.12, the convert-opset
//      pass) carries the model to min(target, 17); it knows opsets up to 17 only. Its
//      refusals (an op without an adapter) are returned as they are.
//   2. 17 (or the model's opset, if higher) -> target (<= 21): a checked bump of every
//      ai.onnx node in the main graph, every If/Loop/Scan body and every model-local
//      function. Each change of the ONNX changelog between opsets 18 and 21 is handled:
//        18  ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceMax, ReduceMean,
//            ReduceMin, ReduceProd, ReduceSumSquare: the `axes` attribute becomes input 1,
//            an int64 initializer (a Constant node in function bodies, which hold no
//            initializers). No attribute: nothing changes (all axes, as before).
//        18  Split without a `split` input: num_outputs = its number of outputs (Split-18
//            needs one of the two; Split-13 split evenly, which num_outputs keeps).
//        20  DFT: the `axis` attribute (default 1) becomes input 2, an int64 scalar
//            (DFT-20's axis input defaults to -2, so it is always written).
//        20  GridSample: mode "bilinear" -> "linear", "bicubic" -> "cubic" (renamed).
//        21  GroupNormalization: refused (usage error naming the node): its scale and
//            bias changed from one value per group to one per channel.
//      Checked as still valid unchanged (the opset-17 form means the same at 21; the new
//      version only adds types, attributes or optional inputs with backward-compatible
//      defaults): Pad (18 axes input, 19 wrap mode, 21 types), Resize (18 antialias,
//      axes, keep_aspect_ratio_policy; 19 half_pixel_symmetric), ScatterElements and
//      ScatterND (18 reduction max/min), LpPool (18 ceil_mode = 0), OptionalGetElement,
//      OptionalHasElement (18), AveragePool (19 dilations), Cast, CastLike (19 saturate,
//      float8; 21 int4), Constant, ConstantOfShape, DequantizeLinear, QuantizeLinear
//      (19 float8; 21 block_size, int4), Equal (19 string), Identity, If, Loop, Scan,
//      Reshape, Shape, Size (19/21 types), IsInf, IsNaN (20 types), ReduceMax, ReduceMin
//      (20 bool), Flatten, QLinearMatMul, Squeeze, Transpose, Unsqueeze (21 types).
//      Ops new in 18..21 (BitwiseAnd/Not/Or/Xor, CenterCropPad, Col2Im, Mish, DeformConv,
//      AffineGrid, Gelu, ImageDecoder, RegexFullMatch, StringConcat, StringSplit) cannot
//      occur below their version. Nodes of other domains are never touched.
//      Then every ai.onnx import (model and functions) becomes `target` and ir_version
//      becomes max(ir_version, minimumIrVersionForOpset(target)), 10 for opset 21.
//   3. target <= the model's opset: nothing to do.
//
// Preconditions (usage errors otherwise, checked before anything changes, so a refusal
// leaves the model as it was): target <= 21; no GroupNormalization when crossing 21;
// in step 2, a model-local function importing ai.onnx below 17 is refused (the converter
// of step 1 does not carry functions; with target <= 17 they stay as convert-opset leaves
// them); in function bodies an attribute that has to move (axes, axis, mode) must not
// be a reference to the caller's attribute. A model that imports no ai.onnx opset gets
// the import when it has no ai.onnx node (an invalid-input error otherwise).
//
// Step 1 replaces the model's graph: every Node*/Value* into it is invalid afterwards.
//
// Statistics: "opset converted to 17 (onnx version converter)", "opset upgraded to N",
// "opset upgrade: <what>" per rewrite kind.
#pragma once

#include <cstdint>
#include <string_view>

#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/Pass.h"
#include "onnxpress/support/Status.h"

namespace onnxpress::quant {

/// The policy in one paragraph, for --help.
inline constexpr std::string_view kOpsetUpgradePolicy =
    "int4/uint4 weights and blocked DequantizeLinear need ai.onnx opset 21 (IR version 10). A model "
    "below opset 17 is first converted to 17 by onnx's version converter (the linked onnx knows opsets up to "
    "17); from 17 on, the opset is bumped node by node: the axes attribute of ReduceL1/L2/LogSum/LogSumExp/"
    "Max/Mean/Min/Prod/SumSquare becomes an input (18), Split without a split input gets num_outputs (18), "
    "DFT's axis attribute becomes an input (20), GridSample modes bilinear/bicubic become linear/cubic (20), "
    "and GroupNormalization, whose scale and bias changed meaning at 21, is refused. Every other opset-17 op "
    "is valid at 21 unchanged; ops of other domains are left alone.";

/// Makes `model` import ai.onnx >= `target` (<= 21) following the policy above; nothing
/// happens when it already does. Rewrites and the new opset are recorded in `result`.
Status upgradeOpset(Model& model, int64_t target, PassResult& result);

}  // namespace onnxpress::quant
