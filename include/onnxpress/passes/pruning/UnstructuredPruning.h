// prune{granularity=unstructured} and prune{granularity=n:m}: zero individual weights
// in place; prune{sparse-storage}: store mostly-zero initializers as ONNX
// sparse_initializer entries.
//
// Before:                                   After (unstructured, sparsity=0.5):
//   X ─ Conv(W[16,8,3,3], B) ─ Y               X ─ Conv(W', B) ─ Y
//                                              W' = W with its 576 least important weights 0
//                                           After (n:m=2:4): in every group of 4 consecutive
//                                              weights along the reduction dim, 2 are 0
//                                           After (sparse-storage): W' is a sparse_initializer
//                                              {values [NNZ], int64 linear indices [NNZ], dims}
//
// Preconditions: the layers come from selectPruneTargets (Conv, Gemm or MatMul reading
// a constant float weight at input 1: an initializer or a Constant node, in the main
// graph or a subgraph). A weight is pruned once, however many layers read it, at the
// highest sparsity among them; it is left alone (statistic "weights skipped (read by
// other nodes)") when anything but a selected layer reads it (an excluded node, a
// Gather of tied embeddings, a graph output), so exclude-nodes always holds. Biases
// and every other input are never touched.
//
// Math:
//   importance  l1: |w|; l2: w^2, which orders weights exactly as |w| does, so l1 and
//               l2 give the same masks here (they differ for channel, head and layer
//               granularities, which sum over groups); random: uniform in [0, 1),
//               drawn from mt19937_64(seed) element by element in layer order.
//   unstructured, scope=layer: each weight loses its round(s * n) least important
//               elements (ties: lower flat index first), s its layer's sparsity.
//   unstructured, scope=global: the weights whose sparsity is `sparsity` (no per-layer
//               override) share one threshold: the round(s * total) least important
//               elements over all of them go (ties: earlier layer, then lower index).
//               Raw magnitudes are compared across layers, not normalized per layer,
//               so layers with small weights lose more (a layer may lose all of its
//               weights). Weights with a per-layer override are pruned on their own.
//   n:m         `sparsity` is ignored (a per-layer 0 keeps a layer dense). The
//               reduction dimension, along which groups of M consecutive weights
//               keep their N most important (ties: lower index kept):
//                 Conv W[Co, Ci/group, k...]   axis 1: M consecutive input channels at
//                                              each kernel position, per output channel
//                                              (TensorRT's and NVIDIA ASP's layout);
//                                              Ci/group not a multiple of M: skipped,
//                                              "Conv weights skipped (input channels not
//                                              a multiple of M)"
//                 Gemm B, transB=0: [K, N]     axis 0: M consecutive rows, per column
//                 Gemm B, transB=1: [N, K]     axis 1: M consecutive columns, per row
//                 MatMul B[..., K, N]          axis -2, per column (and batch); B[K]: K
//               For Gemm/MatMul a trailing group of r < M weights (K not a multiple of M) keeps
//               ceil(N * r / M) of them, so no group is sparser than N:M. A weight
//               read with two different layouts is skipped.
//   Zeroing writes +0.0; every other element keeps its bits, in any float dtype.
//   Statistics: "layers pruned", "weights pruned" (tensors), "weight parameters"
//   (their elements), "weights zeroed" (newly), "zero fraction (ppm)" (zeros among
//   the pruned weights afterwards, old zeros included).
//
// Sparse storage (storeSparse): a float initializer (any graph, not a graph input)
// becomes a sparse_initializer with values [NNZ] and int64 linear indices [NNZ]
// (ascending) when NNZ * (element size + 8) is smaller than its dense bytes, i.e. for
// float32 above 2/3 zeros. -0.0 counts as nonzero, so densifying restores every bit.
// Constant-node weights stay dense. The model's IR version is raised to 6 (the first
// with sparse initializers) when it is lower. Later passes no longer see the weight
// as a constant, so put sparse storage last. Statistics: "sparse initializers",
// "dense bytes", "sparse bytes".
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "onnxpress/ir/Graph.h"

namespace onnxpress {

/// The weight of an n:m layer viewed as row-major [outer, length, inner]: groups run
/// along `length` for each (outer, inner) pair.
struct ReductionLayout {
  int64_t outer = 1, length = 0, inner = 1;
  bool operator==(const ReductionLayout&) const = default;
};

/// The layout of `layer`'s weight (input 1) with dims `weightDims`; nullopt for an op
/// or a weight rank this file does not know (such weights are not pruned).
std::optional<ReductionLayout> reductionLayout(const Node& layer, const std::vector<int64_t>& weightDims);

}  // namespace onnxpress
