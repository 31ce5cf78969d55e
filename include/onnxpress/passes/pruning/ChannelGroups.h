// Channel dependency groups for structured pruning (the analysis half of
// granularity=channel/neuron; ChannelPruning.h has the pass documentation).
//
// A group is a set of channels that must be removed together: it starts at the
// output channel axis of a producer layer (Conv axis 1, Gemm/MatMul last axis) and
// follows that axis forward through every node that keeps channels apart. Each
// tracked value records which of its indices along one axis belong to which group
// (a Concat output holds several groups at different offsets; a Flatten output
// holds each channel as a block of H*W columns). Two tracked values meeting in an
// elementwise op (a residual Add) merge their groups. Anything the analysis cannot
// follow marks the groups it touches unprunable (`skipReason`); nothing is rewritten
// here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "onnxpress/ir/Graph.h"

namespace onnxpress::pruning {

/// Channel c of `group` covers indices [offset + c*block, offset + (c+1)*block) of a
/// tracked axis.
struct ChannelSegment {
  int group = 0;
  int64_t offset = 0;
  int64_t block = 1;
};

/// A value whose axis `axisFromEnd` (negative: -1 is the last axis, so broadcasting
/// never moves it) carries group channels. `rank` is -1 when unknown.
struct TrackedAxis {
  int64_t axisFromEnd = -1;
  int64_t rank = -1;
  std::vector<ChannelSegment> segments;
};

/// A constant input that shrinks when its group is pruned: along `axis`, the indices
/// the removed channels cover (offset/block as in ChannelSegment). With convGroups > 0
/// the constant is the weight [Cout, Cin/groups, k...] of a grouped Conv reading the
/// group: each conv group keeps its own input channels along axis 1.
struct ConstantSlice {
  Node* node = nullptr;
  size_t input = 0;
  int64_t axis = 0;
  int64_t offset = 0;
  int64_t block = 1;
  int64_t convGroups = 0;
};

/// A layer whose output channels are the group's channels (their weights rank them).
struct ChannelProducer {
  Node* node = nullptr;
  size_t order = 0;  // topological position: the group takes its first producer's sparsity
  double sparsity = 0;
};

struct ChannelGroup {
  int64_t channels = 0;
  std::vector<ChannelProducer> producers;
  std::vector<ConstantSlice> slices;
  std::vector<int64_t> blocks;  // removals are spread evenly over this many equal runs of channels
  std::string skipReason;       // non-empty: the group cannot be pruned
};

class ChannelGroups {
 public:
  /// Builds the groups of `graph` (its own nodes; subgraphs are analyzed separately),
  /// seeded at `producers`: Conv, Gemm and MatMul nodes with a constant weight at input
  /// 1, each with the sparsity it asks for.
  static ChannelGroups analyze(Graph& graph, int64_t opset, const std::unordered_map<const Node*, double>& producers);

  /// The root of `group` after merges.
  int find(int group) const;
  /// Root groups, in creation (topological) order.
  std::vector<int> roots() const;
  ChannelGroup& group(int root) { return groups_[static_cast<size_t>(find(root))]; }
  const ChannelGroup& group(int root) const { return groups_[static_cast<size_t>(find(root))]; }

  /// Every tracked value (their shapes shrink along the tracked axis).
  const std::unordered_map<Value*, TrackedAxis>& tracked() const { return tracked_; }
  /// Depthwise Convs inside groups: `group` must follow their input channel count.
  const std::vector<Node*>& depthwiseConvs() const { return depthwise_; }
  /// Reshapes inside groups whose constant shape entry `second` must follow the
  /// output's tracked axis.
  const std::vector<std::pair<Node*, size_t>>& reshapeDims() const { return reshapeDims_; }
  /// Producers that could not start a group (non-constant bias, odd weight shapes).
  int64_t unusableProducers() const { return unusableProducers_; }

 private:
  friend class ChannelGroupBuilder;
  mutable std::vector<int> parent_;
  std::vector<ChannelGroup> groups_;
  std::unordered_map<Value*, TrackedAxis> tracked_;
  std::vector<Node*> depthwise_;
  std::vector<std::pair<Node*, size_t>> reshapeDims_;
  int64_t unusableProducers_ = 0;
};

}  // namespace onnxpress::pruning
