// Multiply-accumulate counts from static shapes (run inferShapes() first).
//
// Conv: N * Cout * prod(out spatial) * (Cin/group) * prod(kernel)
// ConvTranspose: N * Cin * prod(in spatial) * (Cout/group) * prod(kernel)
// Gemm / MatMul: batch * M * N * K (broadcast batch dims)
// Attention-free elementwise ops count 0 MACs; they are memory-bound and show up
// in bytes moved instead. An op whose shapes are not all static counts 0 and is
// listed as unknown.
#pragma once

#include <cstdint>
#include <optional>

#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/ir/Model.h"

namespace onnxpress {

/// MACs of one node, or nullopt when the shapes it needs are not static.
/// Ops with no multiply-accumulate work return 0.
std::optional<int64_t> nodeMacs(const Node& node);

struct MacTotals {
  int64_t macs = 0;
  int64_t unknownNodes = 0;  // MAC-carrying nodes whose shapes were not static
};
/// Sum over the main graph (subgraph bodies are counted once each).
MacTotals countMacs(const Graph& graph);

/// MACs of `model` for inputs of the given shapes: a copy gets those input shapes,
/// forgets every intermediate and output type, and is re-inferred from its inputs
/// (so symbolic dims such as batch resolve everywhere). The model is not changed.
Expected<MacTotals> countMacsForInputs(const Model& model, const InputShapes& shapes);

}  // namespace onnxpress
