// What the prune pass hands each granularity: the layers the options select.
#pragma once

#include <vector>

#include "onnxpress/passes/pruning/Prune.h"

namespace onnxpress {

/// A layer to prune (a Conv, Gemm or MatMul with a constant weight) and the
/// sparsity it gets (options.sparsity, or its per-layer override).
struct PruneTarget {
  Node* node = nullptr;
  size_t weightIndex = 1;  // input index of the constant weight
  double sparsity = 0;
};

/// Resolves op-types, exclude-nodes and per-layer into targets, over the main graph
/// and subgraphs. A per-layer NAME that matches no node (by node name or weight name)
/// is a usage error naming it; so is a per-layer sparsity outside [0, 1).
Expected<std::vector<PruneTarget>> selectPruneTargets(Model& model, const PruneOptions& options);

// One function per granularity, each in its own file.
Expected<PassResult> pruneUnstructured(Model& model, const PruneOptions& options,
                                       const std::vector<PruneTarget>& targets);  // unstructured and n:m
Expected<PassResult> pruneChannels(Model& model, const PruneOptions& options,
                                   const std::vector<PruneTarget>& targets);  // channel and neuron
Expected<PassResult> pruneHeads(Model& model, const PruneOptions& options);
/// Rewrites pruned (mostly zero) initializers as sparse_initializer entries when that is smaller.
Expected<PassResult> storeSparse(Model& model);

}  // namespace onnxpress
