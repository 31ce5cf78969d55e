// ONNX Slice arithmetic shared by the clean-up passes (fold-constants,
// eliminate-identity). General IR helpers are in ir/GraphUtil.h.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "onnxpress/ir/Graph.h"

namespace onnxpress::cleanup {

/// A Slice node's parameters, axes and steps filled with their defaults
/// (0..n-1 and 1). Axes are as written (possibly negative).
struct SliceSpec {
  std::vector<int64_t> starts, ends, axes, steps;
};
/// Reads a Slice's parameters: attributes before opset 10, constant inputs 1..4
/// from opset 10. Nullopt when a parameter is not constant or the lengths disagree.
std::optional<SliceSpec> sliceSpec(const Node& slice, int64_t opset);

/// ONNX Slice clamping of one axis of size `dim`: the first index taken and the
/// exclusive bound, to be walked with `step` (nonzero).
std::pair<int64_t, int64_t> clampSliceRange(int64_t start, int64_t end, int64_t step, int64_t dim);

/// The indices Slice takes along an axis of size `dim`.
std::vector<int64_t> sliceIndices(int64_t start, int64_t end, int64_t step, int64_t dim);

}  // namespace onnxpress::cleanup
