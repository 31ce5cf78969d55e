// prune: remove weights. One pass, one options struct, for every granularity; the
// `prune` command and `compress --passes prune{...}` share it.
//
//   unstructured  zero the smallest-magnitude weights of each layer (scope=layer) or
//                 under one threshold for all layers (scope=global)
//   n:m           in every group of M consecutive weights along the reduction
//                 dimension (Conv: Cin*kh*kw per output channel; Gemm/MatMul: K), keep
//                 the N largest: the 2:4 pattern of Ampere sparse tensor cores / TensorRT
//   channel       remove whole output channels of Conv/Gemm/MatMul and shrink every
//   neuron        consumer (BN, activations, grouped/depthwise conv, residual Add groups,
//                 Concat offsets, Flatten/Reshape into Gemm); neuron = the same for
//                 Gemm/MatMul hidden units (FFN intermediate neurons)
//   head          remove attention heads in the MatMul/Reshape/Transpose pattern of
//                 torch/HF exports (Q/K/V projections, output projection)
//   layer         drop residual blocks (see drop-layers) until `sparsity` of them are gone
//
// Before/After, preconditions and math are in each granularity's file header
// (UnstructuredPruning.h, ChannelPruning.h, HeadPruning.h; layer: Prune.cpp).
//
// scope=auto (the default) is global for unstructured pruning: one threshold lets
// small, sensitive layers (a first conv of 144 weights) keep more of their weights
// while large ones give up more, which is what keeps 50% sparsity within a point
// of top-1 on the sample (89.60% -> see docs/passes.md); every other granularity
// prunes layer by layer.
#pragma once

#include <string>
#include <vector>

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct PruneOptions {
  double sparsity = 0.5;
  std::string granularity = "unstructured";
  std::string nm = "2:4";
  std::string criterion = "l1";
  std::string scope = "auto";
  std::vector<std::string> perLayer;  // NAME=S entries; NAME is a node name (or its weight's name)
  std::string excludeNodes;           // ECMAScript regex on node names; matching nodes are never pruned
  std::vector<std::string> opTypes = {"Conv", "Gemm", "MatMul"};
  bool sparseStorage = false;
  int64_t seed = 0;
  template <class V>
  void visitOptions(V& v) {
    v("sparsity", sparsity, "fraction of weights (channels, heads, blocks) to remove, in [0, 1)");
    v("granularity", granularity, "unstructured, n:m, channel, neuron, head or layer (residual blocks)");
    v("n-m", nm, "with granularity=n:m: keep N of every M weights along the reduction dimension");
    v("criterion", criterion, "importance: l1, l2 (magnitude) or random (a baseline)");
    v("scope", scope,
      "layer (every layer at `sparsity`), global (one magnitude threshold across layers; unstructured only) or "
      "auto (global for unstructured, layer otherwise)");
    v("per-layer", perLayer, "NAME=S overrides per layer, comma separated; NAME must match a node");
    v("exclude-nodes", excludeNodes, "regex of node names never pruned");
    v("op-types", opTypes, "ops whose weights are pruned");
    v("sparse-storage", sparseStorage, "store pruned weights as ONNX sparse_initializer so the file shrinks (float32: above 2/3 zeros)");
    v("seed", seed, "seed for criterion=random");
  }
  Status validate() const;
  /// scope with auto resolved for this granularity.
  std::string effectiveScope() const { return scope != "auto" ? scope : granularity == "unstructured" ? "global" : "layer"; }
};

class PrunePass final : public PassBase<PrunePass, PruneOptions> {
 public:
  static constexpr std::string_view kName = "prune";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
