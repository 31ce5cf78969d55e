// Residual blocks: what drop-layers removes and prune{granularity=layer} ranks.
//
// A residual block is an Add (or two-input Sum) y = s + t of a skip value s and a
// branch output t computed from s; the exact conditions (t read only by the Add, no
// branch value read outside the branch, same static or symbolic shape, ...) are in
// DropLayers.h. Blocks are numbered from 0 in topological order, main graph first,
// then If/Loop/Scan bodies, outermost first.
#pragma once

#include <vector>

#include "onnxpress/ir/Model.h"

namespace onnxpress::substitution {

struct ResidualBlock {
  Node* add = nullptr;
  Value* skip = nullptr;
  std::vector<Node*> branch;  // topological order
};

/// Every residual block of `model`, in drop-layers' numbering. Infers shapes first
/// (blocks need the shapes of skip and branch); a cyclic graph has no blocks.
std::vector<ResidualBlock> findResidualBlocks(Model& model);

}  // namespace onnxpress::substitution
