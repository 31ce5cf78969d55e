// Type: the IR's form of ONNX TypeProto (tensor, sparse tensor, sequence, map,
// optional, opaque), with symbolic dims kept by name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "onnxpress/ir/DataType.h"

namespace onnxpress {

struct Dim {
  enum class Kind { Unknown, Value, Param };
  Kind kind = Kind::Unknown;
  int64_t value = 0;
  std::string param;
  std::string denotation;

  static Dim fixed(int64_t v) { return {Kind::Value, v, {}, {}}; }
  static Dim symbolic(std::string name) { return {Kind::Param, 0, std::move(name), {}}; }
  /// A negative dim_value (some exporters write -1 for "any") is kept as written but is not fixed.
  bool isFixed() const { return kind == Kind::Value && value >= 0; }
  /// "3", "batch" or "?".
  std::string toString() const;
  bool operator==(const Dim&) const = default;
};

struct Type {
  enum class Kind { None, Tensor, SparseTensor, Sequence, Map, Optional, Opaque };
  Kind kind = Kind::None;
  DataType elemType = DataType::Undefined;  // Tensor, SparseTensor; key type for Map
  bool hasShape = false;                    // false: rank unknown
  std::vector<Dim> dims;
  std::vector<Type> inner;  // Sequence/Optional element, Map value: exactly one entry
  std::string opaqueDomain, opaqueName;
  std::string denotation;

  static Type tensor(DataType elem, std::vector<Dim> dims) {
    Type t;
    t.kind = Kind::Tensor;
    t.elemType = elem;
    t.hasShape = true;
    t.dims = std::move(dims);
    return t;
  }
  bool isTensor() const { return kind == Kind::Tensor; }
  /// Static element count, if every dim is fixed.
  std::optional<int64_t> staticElementCount() const;
  /// "float32[batch,1,28,28]", "seq(float32[?])", ...
  std::string toString() const;
  bool operator==(const Type&) const = default;
};

}  // namespace onnxpress
