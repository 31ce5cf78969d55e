// Queries and small rewrites over the IR that every pass family, the analyses and
// the report share: the default domain, constants (initializers or Constant
// nodes) read and made, rewiring values, what is known of a value's type and dims,
// and use-list queries. Lower layers than passes may use it; it depends on ir/ only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "onnxpress/ir/Graph.h"
#include "onnxpress/ir/Model.h"

namespace onnxpress {

/// Whether `node` is in the default ai.onnx domain (the importer and Node store it as "").
inline bool isDefaultDomain(const Node& node) { return node.domain().empty(); }

/// The constant tensor behind `v`: its initializer, or the `value` attribute of the
/// Constant node that produces it. Null for anything a caller could override (an
/// initializer that is also a graph input), sparse initializers, and the other
/// Constant forms (value_float, value_ints, ...; see constantValue()).
const Tensor* constantTensor(const Value* v);

/// Like constantTensor() but also materializes value_float(s)/value_int(s) and
/// sparse_value Constants; returns a copy.
std::optional<Tensor> constantValue(const Value* v);

/// Whether `v` is a compile-time constant (constantValue() would succeed).
bool isConstant(const Value* v);

/// True for a value a node computes at run time (not a graph input, not a constant).
inline bool isActivation(const Value* v) { return v->producer() && !isConstant(v); }

/// Elements of a float32/float64/float16/bfloat16 tensor as float; nullopt otherwise.
std::optional<std::vector<float>> floatValues(const Tensor& t);
/// Elements of an integer or bool tensor as int64; nullopt otherwise.
std::optional<std::vector<int64_t>> intValues(const Tensor& t);

/// A tensor of float-like `dtype` (float32/float64/float16/bfloat16) holding `values`.
Tensor makeFloatTensor(DataType dtype, std::vector<int64_t> dims, std::span<const float> values);
/// An int64 tensor holding `values` (1-D unless dims given).
Tensor makeInt64Tensor(std::vector<int64_t> values, std::optional<std::vector<int64_t>> dims = std::nullopt);

/// Adds `tensor` as an initializer of `graph` under a fresh name derived from `base`.
Value* addInitializer(Graph& graph, const std::string& base, Tensor tensor);

/// Redirects every use of `from` to `to` and destroys `from`'s producer when that
/// leaves all its outputs unused; `to`, when a node output of the same graph, then
/// takes `from`'s name. False (graph unchanged) when a main-graph output name cannot
/// move (see Graph::replaceAllUsesWith).
bool replaceValue(Value* from, Value* to);

/// Whether a value feeds a graph output of its own graph.
bool feedsGraphOutput(const Value* v);

/// The static shape of `v` from its type, if its rank and every dim are known.
std::optional<std::vector<int64_t>> staticShape(const Value* v);
/// The element type of `v`, or Undefined.
DataType elementType(const Value* v);

/// Copies onto `to` the type of `from` (used when a rewrite creates a value that stands for another).
void copyType(const Value* from, Value* to);

/// Whether `n` is a default-domain node of type `op`.
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
/// The same, only for a constant of a float type (isFloatType).
std::optional<std::vector<int64_t>> floatConstantDims(const Value* v);

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

/// replaceValue() that keeps graph outputs well-formed: a subgraph output is only
/// rewired to a value computed by a node of that subgraph (not to an outer value,
/// input or initializer), and a main-graph output keeps its declared type along
/// with its name. False (nothing changed) when that is not possible.
bool replaceKeepingInterface(Value* from, Value* to);

/// Elements of the constant integer (or bool) tensor behind `v`; nullopt when `v`
/// is null, not a constant, or not of an integer type.
std::optional<std::vector<int64_t>> constantInts(const Value* v);

/// What is known of `v`'s dims: a constant's dims, else its type's (possibly
/// symbolic or unknown dims); nullopt when even the rank is unknown.
std::optional<std::vector<Dim>> knownDims(const Value* v);

}  // namespace onnxpress
