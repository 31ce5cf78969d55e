// The sweep the fusion passes (fuse-bn, fuse-matmul-add, fuse-transpose,
// fuse-patterns) share. Matching helpers (isOp, onlyUser, scalarConstant, ...) are in
// ir/GraphUtil.h.
//
// The fusion passes walk each graph in topological order and anchor every match at
// the LAST node of its pattern. A rewrite then only destroys the anchor and its
// ancestors, which the walk has already passed, so the snapshot it iterates stays
// valid without extra bookkeeping (forEachFusionSweep below).
#pragma once

#include <functional>

#include "onnxpress/ir/Model.h"

namespace onnxpress::fusion {

/// Runs `visit` on every node of every graph (subgraphs too) in topological order,
/// repeating each graph's sweep while a visit reports a change (at most `maxSweeps`).
/// `visit` may destroy its node and the node's ancestors, but nothing downstream.
void forEachFusionSweep(Model& model, const std::function<bool(Node*)>& visit, int maxSweeps = 4);

}  // namespace onnxpress::fusion
