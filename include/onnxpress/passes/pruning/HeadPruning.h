// prune granularity=head: remove whole attention heads (pruneHeads() in PruneTargets.h).
//
// Before (one block, H heads of width d, as torch/HF export it):
//   Q = Transpose[0,2,1,3](Reshape[B,S,H,d](MatMul(x, Wq) + bq))     V: the same with Wv, bv
//   K = Transpose[0,2,3,1](Reshape[B,S,H,d](MatMul(x, Wk) + bk))
//   P = Softmax(MatMul(Q, K) / sqrt(d) + mask)                        [B,H,S,S]
//   y = MatMul(Reshape[B,S,H*d](Transpose[0,2,1,3](MatMul(P, V))), Wo) + bo
// After (H' = H - removed heads):
//   the same graph with Wq, Wk, Wv [hidden, H'*d] and bq, bk, bv [H'*d] (the kept
//   heads' columns), Wo [H'*d, hidden] (their rows), and H' (H'*d) in the Reshape
//   shapes; bo and y are unchanged.
//
// Matched, in every graph and subgraph, starting from the scores MatMul:
//   - Q, K, V: MatMul(x, W) with a constant 2-D weight, an optional Add of a constant
//     bias [.., H*d], Reshape to 4 dims whose last two are (H, d), (-1, d) or (H, -1),
//     given as one constant or as a Concat whose trailing inputs are constants (the
//     leading dims may come from Shape/Gather/Unsqueeze); then Transpose [0,2,1,3]
//     (K: [0,2,3,1], or [0,2,1,3] followed by [0,1,3,2]).
//   - between the MatMuls: elementwise Mul/Div/Add/Sub whose other operand broadcasts
//     over the head axis (rank <= 2, or a fixed 1 at the head axis: a scale, a
//     [B,1,1,S] mask), then Softmax over the last axis (an explicit last axis before
//     opset 13), optionally Dropout/Identity, then MatMul(probabilities, V);
//     elementwise ops on the Q and K paths obey the same rule.
//   - then Transpose [0,2,1,3], Reshape to 3 dims whose last is H*d or -1, and
//     MatMul(., Wo) with a constant [H*d, hidden] weight.
//   - every value in between has exactly one reader (none is a graph output), except
//     that the projection outputs and the merged context may also be read by Shape
//     nodes that only take the two leading dims (batch and sequence) through Gather
//     or Slice. Q/K and V head widths may differ; H must agree everywhere.
// Anything else (fused QKV weights, per-head masks or biases [B,H,S,S], Shape reads
// of the head dims, a value leaving the block) leaves the block untouched and counts
// as "attention blocks skipped" (a Softmax feeding a MatMul that no block explains).
//
// Options: `sparsity` (or a per-layer NAME=S whose NAME is one of the block's four
// projection MatMuls or their weights) sets the heads removed per block,
// round(S * H); 0 leaves the block alone and removing all H is a usage error naming
// the block, as is a per-layer NAME that names no matched block. `exclude-nodes` (searched in the four projection MatMul names) protects
// a block. `criterion`: l1 (sum |w|) or l2 (sqrt sum w^2) over head h's Wq, Wk, Wv
// columns and Wo rows, or random (seeded by `seed`); the lowest scores go, ties to
// the lower head index.
//
// Math: per head h, y = bo + sum_h softmax(Q_h K_h^T / sqrt(d) + mask) V_h Wo[h rows].
// Removing head h drops exactly its term; the other heads' Q_h, K_h, V_h do not
// depend on it, so the result equals the model with head h's Wo rows zeroed.
// Statistics: "heads removed", "attention blocks pruned", "attention blocks
// skipped", "parameters before" / "parameters after" (elements of the Q, K, V and
// output weights and biases rewritten, as channel pruning counts them).
#pragma once

#include <cstdint>
#include <vector>

#include "onnxpress/ir/Model.h"

namespace onnxpress {

/// One multi-head attention block head pruning can rewrite.
struct AttentionBlock {
  Node* query = nullptr;   // MatMul(x, Wq), Wq [hidden, heads * keyDim] at input 1
  Node* key = nullptr;     // MatMul(x, Wk), Wk [hidden, heads * keyDim]
  Node* value = nullptr;   // MatMul(x, Wv), Wv [hidden, heads * valueDim]
  Node* output = nullptr;  // MatMul(context, Wo), Wo [heads * valueDim, hidden]
  int64_t heads = 0, keyDim = 0, valueDim = 0;
};

/// The blocks of `model` (main graph first, then subgraphs) in graph order. Infers
/// shapes first (the mask's broadcast and Concat lengths need them).
std::vector<AttentionBlock> findAttentionBlocks(Model& model);

}  // namespace onnxpress
