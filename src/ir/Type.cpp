#include "onnxpress/ir/Type.h"

namespace onnxpress {

std::string Dim::toString() const {
  switch (kind) {
    case Kind::Value: return std::to_string(value);
    case Kind::Param: return param;
    case Kind::Unknown: break;
  }
  return "?";
}

std::optional<int64_t> Type::staticElementCount() const {
  if (kind != Kind::Tensor || !hasShape) return std::nullopt;
  int64_t n = 1;
  for (const Dim& d : dims) {
    if (!d.isFixed()) return std::nullopt;
    n *= d.value;
  }
  return n;
}

std::string Type::toString() const {
  auto shape = [this] {
    if (!hasShape) return std::string("[...]");
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + dims[i].toString();
    return s + "]";
  };
  auto innerName = [this] { return inner.empty() ? std::string("?") : inner[0].toString(); };
  switch (kind) {
    case Kind::Tensor: return std::string(dataTypeName(elemType)) + shape();
    case Kind::SparseTensor: return "sparse(" + std::string(dataTypeName(elemType)) + shape() + ")";
    case Kind::Sequence: return "seq(" + innerName() + ")";
    case Kind::Optional: return "optional(" + innerName() + ")";
    case Kind::Map: return "map(" + std::string(dataTypeName(elemType)) + "," + innerName() + ")";
    case Kind::Opaque: return "opaque(" + opaqueDomain + "." + opaqueName + ")";
    case Kind::None: break;
  }
  return "?";
}

}  // namespace onnxpress
