// prune granularity=channel and granularity=neuron: structured pruning that removes
// whole output channels (Conv) or output features (Gemm/MatMul: neuron, e.g. the
// intermediate units of a transformer FFN) and shrinks every consumer, so the model
// is smaller and faster in any runtime. Entry point: pruneChannels() in PruneTargets.h.
//
// Before (C channels):                        After (C - k channels):
//   x ─ Conv(W[C,Ci,..], b[C]) ─ BN[C] ─ Relu     x ─ Conv(W[C-k,Ci,..], b[C-k]) ─ BN[C-k] ─ Relu
//     ─ Conv(V[Co,C,..]) ─ y                        ─ Conv(V[Co,C-k,..]) ─ y
//   residual:  a = Conv_A(..)[C], b = Conv_B(..)[C], Add(a, b): the same k channels go
//              from Conv_A and Conv_B (one group; their importances add up)
//   depthwise: Conv(group=C, W[C*m,1,..]) follows its input: W[(C-k)*m,1,..], group=C-k
//   grouped:   Conv(group=G, W[Co,C/G,..]) reading the channels: k/G channels go from
//              each conv group (W[Co,(C-k)/G,..], each group keeps its own)
//   Concat:    Concat(a[Ca], b[Cb]) ─ Conv(V[..,Ca+Cb,..]): each producer prunes its own
//              channels; V loses the columns at their offsets
//   Flatten:   [N,C,H,W] ─ Flatten ─ Gemm(B[C*H*W,F]): channel c removes B rows
//              c*H*W..(c+1)*H*W-1 (Reshape to [N,C*H*W] likewise; a constant target
//              shape entry shrinks with it)
//   neuron:    x ─ MatMul(W1[D,F]) ─ Add(b1[F]) ─ Gelu ─ MatMul(W2[F,D]) becomes
//              x ─ MatMul(W1[D,F-k]) ─ Add(b1[F-k]) ─ Gelu ─ MatMul(W2[F-k,D])
//
// Groups (see ChannelGroups.h): each selected Conv/Gemm/MatMul (channel; neuron: Gemm
// and MatMul only) starts a group at its output channel axis. The group follows that
// axis through BatchNormalization/InstanceNormalization (parameters sliced), unary
// elementwise ops (Relu, Clip, Sigmoid, Gelu, Dropout, Identity, Cast, ...),
// broadcasting elementwise ops (a constant operand that varies along the channels,
// [C] or [C,1,1], is sliced; a scalar stays; a second tracked operand merges the two
// groups), pools, depthwise Convs, Concat, Flatten/Reshape that merge the channel
// axis with the following dims, Transpose, Squeeze/Unsqueeze, and Reduce*, Slice,
// Pad and Resize (by scales) over other axes. It ends in consumers that reduce over
// channels (Conv, ConvTranspose, Gemm, MatMul: the weight's input axis is sliced).
// Anything else - a graph output, a use inside a subgraph, Softmax or
// LayerNormalization over the channels, a Reshape that splits them, a non-constant
// operand that varies along them - leaves the group unpruned ("groups skipped").
// Layers excluded from pruning (exclude-nodes, op-types) keep their output channels
// but still lose the input channels their producers remove. Every kept channel is computed as before; consumers
// lose exactly the contributions of removed channels; graph input/output shapes never
// change.
//
// Preconditions: weights and the tensors sliced with them (biases, BN parameters,
// per-channel constants, Reshape target shapes) are constants: initializers or
// Constant nodes, any dtype, kept; the new tensors are initializers under the old
// names when those are free. A target whose round(sparsity * C) would remove all of
// its C output channels is a usage error naming it, before any change. Each graph
// (main graph, If/Loop/Scan bodies) is analyzed on its own. Only scope=layer.
//
// Math: a group of C channels takes the sparsity of its first producer in topological
// order and removes its k = round(sparsity * C) least important channels (ties: lower
// index first). Importance of channel c = sum over the group's producers of the L1
// norm (criterion=l1) or L2 norm (l2) of that producer's output-channel weights
// (Conv W[c,...], Gemm B[:,c] or B[c,:] with transB, MatMul B[...,:,c]);
// criterion=random draws uniform scores from `seed`. When a grouped Conv produces or
// reads the group (G conv groups), the channels split into G equal runs and each loses
// round(sparsity * C/G) (a group that would lose a whole run is skipped). A channel's
// removal is exact with respect to the masked model: the pruned model equals the
// original with those channels' producer weights, biases and per-channel shifts set
// so that the channels are zero wherever they are read (e.g. zero weights and bias,
// BN scale and B zero, followed by zero-preserving activations).
//
// Statistics: "channels removed" (output channels removed, summed over producer
// layers), "groups pruned", "groups skipped", and "parameters before"/"parameters
// after" over the constants the pass rewrote.
#pragma once

#include "onnxpress/passes/pruning/PruneTargets.h"
