// Matching and clean-up helpers shared by the fusion passes (fuse-bn, fuse-matmul-add,
// fuse-transpose, fuse-patterns).
//
// The fusion passes walk each graph in topological order and anchor every match at
// the LAST node of its pattern. A rewrite then only destroys the anchor and its
// ancestors, which the walk has already passed, so the snapshot it iterates stays
// valid without extra bookkeeping (forEachFusionSweep below).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "onnxpress/ir/Graph.h"
#include "onnxpress/ir/Model.h"

namespace onnxpress::fusion {

/// Whether `n` is a default-domain ("" or "ai.onnx") node of type `op`.
bool isOp(const Node* n, std::string_view op);

/// The producer of `v` when it is a default-domain `op` node in v's own graph, else null.
Node* producerOp(const Value* v, std::string_view op);

/// The node reading `v` through its only use, in v's own graph. Null when `v` has
/// several uses (Mul(v, v) counts twice), feeds a graph output or is read by a subgraph.
Node* onlyUser(const Value* v);

/// A constant with exactly one element, read as double (float or integer types).
struct ScalarConstant {
  double value = 0;
  DataType dtype = DataType::Undefined;
  size_t rank = 0;  // a [1,1] constant still broadcasts the rank of what it meets
};
std::optional<ScalarConstant> scalarConstant(const Value* v);

/// Relative comparison of a constant read from a `dtype` tensor with an expected value;
/// the tolerance is 1e-4, widened to the rounding step of float16 and bfloat16.
bool approxEqual(double actual, double expected, DataType dtype = DataType::Float);

/// float16, float32, float64 or bfloat16.
bool isFloatType(DataType t);

/// The rank of `v` if its type or constant value tells it.
std::optional<int64_t> knownRank(const Value* v);
/// The dims of a constant without copying initializer bytes; nullopt if not constant.
std::optional<std::vector<int64_t>> constantDims(const Value* v);

/// Elements of a float-like tensor as double (exact for float64); nullopt otherwise.
std::optional<std::vector<double>> doubleValues(const Tensor& t);
/// A `dtype` (float-like) tensor holding `values`; float64 keeps full precision.
Tensor makeTensorFromDoubles(DataType dtype, std::vector<int64_t> dims, const std::vector<double>& values);

/// Destroys each of `nodes` (in any order, duplicates allowed) once all its outputs are
/// unused, then releases constants their inputs leave unused (see releaseIfUnused).
/// Nodes that are still read elsewhere stay.
void eraseIfDead(const std::vector<Node*>& nodes);
/// For each unused value: drops its initializer (unless a graph input) or destroys its
/// Constant producer. Duplicates are fine; anything still in use is left alone.
void releaseIfUnused(const std::vector<Value*>& values);

/// Runs `visit` on every node of every graph (subgraphs too) in topological order,
/// repeating each graph's sweep while a visit reports a change (at most `maxSweeps`).
/// `visit` may destroy its node and the node's ancestors, but nothing downstream.
void forEachFusionSweep(Model& model, const std::function<bool(Node*)>& visit, int maxSweeps = 4);

}  // namespace onnxpress::fusion
