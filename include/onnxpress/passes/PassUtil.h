// Small helpers every pass shares: reading constants, making initializers,
// replacing a node's output, and static shapes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "onnxpress/ir/Graph.h"
#include "onnxpress/ir/Model.h"

namespace onnxpress {

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

/// The single node reading `v`, or null when it has zero or several readers or feeds a graph output.
Node* soleConsumer(const Value* v);

/// Copies onto `to` the type of `from` (used when a rewrite creates a value that stands for another).
void copyType(const Value* from, Value* to);

}  // namespace onnxpress
