// Half-precision fallback: runs nodes with float16/bfloat16 inputs on kernels that
// compute in float32, as ONNX Runtime's InsertCastTransformer does on its CPU EP.
//
// Before (a kernel with no 16-bit path):     After (wrapped):
//   x16 ─ Kernel ─ error / wrong dtype         x16 ─ widen ─ Kernel(float32) ─ y32 ─ round ─ y16
//
// Preconditions / behaviour:
//   - Decided per run by the inputs' dtypes: when no input is float16 or bfloat16 the
//     wrapper calls the kernel straight away (one dtype test per input), so float models
//     pay nothing measurable.
//   - Ops that only move or select data, and control flow, already take 16-bit tensors and
//     are never wrapped: Identity, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Expand,
//     Tile, Concat, Split, Slice, Gather, GatherElements, GatherND, DepthToSpace,
//     SpaceToDepth, Shape, Size, Cast, CastLike, ConstantOfShape, Where, If, Loop, Scan
//     (all dispatch on element size or copy; subgraphs run their own wrapped kernels).
//   - Every 16-bit input is widened to float32; float32 inputs are passed as they are.
//   - Every float32 output is rounded back to the 16-bit type of the first 16-bit input,
//     unless the node declares that output float32 (LayerNormalization's Mean/InvStdDev).
//
// Math: widening is exact; rounding is round-to-nearest-even (Eigen's half/bfloat16
// conversions), overflowing to ±inf like 16-bit hardware.
#pragma once

#include "onnxpress/ir/Graph.h"
#include "onnxpress/runtime/Kernel.h"

namespace onnxpress::runtime {

/// `kernel` for `node`, computing in float32 whenever an input is float16/bfloat16;
/// `kernel` itself for ops that handle 16-bit tensors natively.
KernelFn withHalfPrecisionFallback(const Node& node, KernelFn kernel);

/// A float32/float16/bfloat16 tensor converted to `to` (one of those three), rounding to nearest even.
TensorData convertFloatElements(const TensorData& x, DataType to, int threads);

}  // namespace onnxpress::runtime
