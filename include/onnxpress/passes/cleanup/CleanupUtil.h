// Helpers shared by the clean-up passes (fold-constants, eliminate-identity,
// dedupe-constants): rewiring values without breaking graph outputs, reading small
// integer parameters that are attributes or constant inputs depending on the
// opset, what is known of a value's dims, and ONNX Slice arithmetic.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "onnxpress/ir/Graph.h"

namespace onnxpress::cleanup {

/// Whether `node` is in the default ai.onnx domain.
bool isDefaultDomain(const Node& node);

/// replaceValue() that keeps graph outputs well-formed: a subgraph output is only
/// rewired to a value computed by a node of that subgraph (not to an outer value,
/// input or initializer), and a main-graph output keeps its declared type along
/// with its name. False (nothing changed) when that is not possible.
bool replaceKeepingInterface(Value* from, Value* to);

/// Elements of the constant integer (or bool) tensor behind `v`; nullopt when `v`
/// is null, not a constant, or not of an integer type.
std::optional<std::vector<int64_t>> constantInts(const Value* v);

/// What is known of `v`'s dims: a constant's dims, else its type's (possibly
/// symbolic or unknown dims); nullopt when even the rank is unknown.
std::optional<std::vector<Dim>> knownDims(const Value* v);

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
