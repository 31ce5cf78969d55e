// drop-layers: remove whole residual blocks, keeping only their skip connection.
//
// Before:                                   After (block dropped):
//   s ─┬─ Conv ─ Relu ─ Conv ─ t ─┐            s ─ (Add's readers)
//      └──────────────────────────Add ─ y
//   x ─┬─ LayerNorm ─ Attention(mask) ─┐       x ─ (Add's readers)
//      └───────────────────────────────Add
//
// A residual block is an Add (or a two-input Sum) of a skip value s and a branch
// output t where
//   - t depends on s, and the branch is every node that is an ancestor of t and a
//     descendant of s; branch nodes may also read constants and side inputs that do
//     not depend on s (an attention mask, an encoder memory);
//   - no value the branch computes is read outside it (t only by the Add), none is a
//     graph output, and no branch node has a subgraph;
//   - the branch reads the values of s, not only its shape (so x + PositionalTable(
//     Shape(x)) is not a block);
//   - s and t have the same element type and the same static or symbolic shape
//     (from shape inference), so the Add does not broadcast.
// This covers torch ResNet/MobileNetV2 identity blocks and pre-LN (x + f(LN(x))) and
// post-LN (LN(x + f(x))) transformer sublayers. An Add of two branches of x (a ResNet
// block with a downsampling skip) has no such s and is not a block. Blocks are
// numbered from 0 in topological order, main graph first, then If/Loop/Scan bodies.
//
// Preconditions: exactly one of `every` (drop blocks offset, offset+every, ...) and
// `indices` is set; an index past the last block is a usage error naming the count.
// A block nested in a dropped block goes with it. Graph input/output names and
// shapes stay: when s cannot take the place of an Add that is a graph output (s is a
// graph input, say), the Add becomes Identity(s).
//
// Math: dropping replaces y = s + t by y = s, i.e. the block becomes the identity
// (stochastic-depth style layer dropping). The branch nodes and constants only they
// read are removed. "parameters before/after" count the constants the dropped
// branches read before and those still present after; "MACs before" the branches'
// MACs (static shapes only).
#pragma once

#include <vector>

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct DropLayersOptions {
  int64_t every = 0;
  std::vector<int64_t> indices;
  int64_t offset = 0;

  template <class V>
  void visitOptions(V& v) {
    v("every", every, "drop every Nth residual block (0: off; set this or indices)");
    v("indices", indices, "residual blocks to drop, numbered from 0 in topological order");
    v("offset", offset, "with every: the first block dropped");
  }
  Status validate() const;
};

class DropLayersPass final : public PassBase<DropLayersPass, DropLayersOptions> {
 public:
  static constexpr std::string_view kName = "drop-layers";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
