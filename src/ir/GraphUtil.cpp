#include "onnxpress/ir/GraphUtil.h"

#include <Eigen/Core>

#include <cstring>
#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace onnxpress {
namespace {

const Node* constantProducer(const Value* v) {
  const Node* p = v ? v->producer() : nullptr;
  return p && p->opType() == "Constant" && isDefaultDomain(*p) ? p : nullptr;
}

template <typename T>
std::vector<float> widen(std::span<const uint8_t> bytes, size_t count) {
  std::vector<float> out(count);
  const T* src = reinterpret_cast<const T*>(bytes.data());
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<float>(src[i]);
  return out;
}

template <typename T>
std::vector<int64_t> widenInt(std::span<const uint8_t> bytes, size_t count) {
  std::vector<int64_t> out(count);
  const T* src = reinterpret_cast<const T*>(bytes.data());
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<int64_t>(src[i]);
  return out;
}

template <typename T>
std::vector<uint8_t> narrow(std::span<const float> values) {
  std::vector<uint8_t> raw(values.size() * sizeof(T));
  T* dst = reinterpret_cast<T*>(raw.data());
  for (size_t i = 0; i < values.size(); ++i) dst[i] = static_cast<T>(values[i]);
  return raw;
}

}  // namespace

const Tensor* constantTensor(const Value* v) {
  if (!v) return nullptr;
  if (v->initializer()) return v->isGraphInput() ? nullptr : v->initializer();
  const Node* p = constantProducer(v);
  if (!p) return nullptr;
  const Attribute* a = p->attribute("value");
  return a && a->kind == Attribute::Kind::Tensor && !a->tensors.empty() ? &a->tensors[0] : nullptr;
}

std::optional<Tensor> constantValue(const Value* v) {
  if (const Tensor* t = constantTensor(v)) return t->clone();
  const Node* p = constantProducer(v);
  if (!p || p->attributes().size() != 1) return std::nullopt;
  const Attribute& a = p->attributes()[0];
  if (!a.refAttrName.empty()) return std::nullopt;  // a function body's attribute reference
  if (a.name == "value_float") return Tensor::fromValues<float>(DataType::Float, {}, {a.f});
  if (a.name == "value_floats")
    return Tensor::fromValues<float>(DataType::Float, {static_cast<int64_t>(a.floats.size())}, a.floats);
  if (a.name == "value_int") return makeInt64Tensor({a.i}, std::vector<int64_t>{});
  if (a.name == "value_ints") return makeInt64Tensor(a.ints);
  if (a.name == "sparse_value" && !a.sparseTensors.empty()) {
    const SparseTensor& s = a.sparseTensors[0];
    auto indices = intValues(s.indices);
    if (!indices) return std::nullopt;
    Tensor dense(s.values.dtype(), s.dims);
    const size_t elementBytes = static_cast<size_t>(dataTypeBits(s.values.dtype()) / 8);
    if (elementBytes == 0) return std::nullopt;
    const int64_t nnz = s.values.numElements();
    const bool coordinates = s.indices.dims().size() == 2;
    auto out = dense.mutableBytes();
    auto in = s.values.bytes();
    for (int64_t k = 0; k < nnz; ++k) {
      int64_t linear = 0;
      if (coordinates) {
        for (size_t d = 0; d < s.dims.size(); ++d)
          linear = linear * s.dims[d] + (*indices)[static_cast<size_t>(k) * s.dims.size() + d];
      } else {
        linear = (*indices)[static_cast<size_t>(k)];
      }
      if (linear < 0 || linear >= dense.numElements()) return std::nullopt;
      std::memcpy(out.data() + static_cast<size_t>(linear) * elementBytes,
                  in.data() + static_cast<size_t>(k) * elementBytes, elementBytes);
    }
    return dense;
  }
  return std::nullopt;
}

bool isConstant(const Value* v) {
  if (constantTensor(v)) return true;
  const Node* p = constantProducer(v);
  return p && p->attributes().size() == 1 && p->attributes()[0].refAttrName.empty() &&
         p->attributes()[0].name != "value_string" && p->attributes()[0].name != "value_strings";
}

std::optional<std::vector<float>> floatValues(const Tensor& t) {
  const size_t n = static_cast<size_t>(t.numElements());
  switch (t.dtype()) {
    case DataType::Float: return widen<float>(t.bytes(), n);
    case DataType::Double: return widen<double>(t.bytes(), n);
    case DataType::Float16: return widen<Eigen::half>(t.bytes(), n);
    case DataType::BFloat16: return widen<Eigen::bfloat16>(t.bytes(), n);
    default: return std::nullopt;
  }
}

std::optional<std::vector<int64_t>> intValues(const Tensor& t) {
  const size_t n = static_cast<size_t>(t.numElements());
  switch (t.dtype()) {
    case DataType::Int64: return widenInt<int64_t>(t.bytes(), n);
    case DataType::Int32: return widenInt<int32_t>(t.bytes(), n);
    case DataType::Int16: return widenInt<int16_t>(t.bytes(), n);
    case DataType::Int8: return widenInt<int8_t>(t.bytes(), n);
    case DataType::UInt64: return widenInt<uint64_t>(t.bytes(), n);
    case DataType::UInt32: return widenInt<uint32_t>(t.bytes(), n);
    case DataType::UInt16: return widenInt<uint16_t>(t.bytes(), n);
    case DataType::UInt8: return widenInt<uint8_t>(t.bytes(), n);
    case DataType::Bool: return widenInt<uint8_t>(t.bytes(), n);
    default: return std::nullopt;
  }
}

Tensor makeFloatTensor(DataType dtype, std::vector<int64_t> dims, std::span<const float> values) {
  std::vector<uint8_t> raw;
  switch (dtype) {
    case DataType::Double: raw = narrow<double>(values); break;
    case DataType::Float16: raw = narrow<Eigen::half>(values); break;
    case DataType::BFloat16: raw = narrow<Eigen::bfloat16>(values); break;
    default:
      dtype = DataType::Float;
      raw = narrow<float>(values);
  }
  Tensor t;
  t.setBytes(dtype, std::move(dims), std::move(raw));
  return t;
}

Tensor makeInt64Tensor(std::vector<int64_t> values, std::optional<std::vector<int64_t>> dims) {
  std::vector<int64_t> shape = dims ? *dims : std::vector<int64_t>{static_cast<int64_t>(values.size())};
  return Tensor::fromValues<int64_t>(DataType::Int64, std::move(shape), values);
}

Value* addInitializer(Graph& graph, const std::string& base, Tensor tensor) {
  tensor.setName(graph.uniqueName(base.empty() ? "const" : base));
  return graph.addInitializer(std::move(tensor));
}

bool replaceValue(Value* from, Value* to) {
  if (from == to) return false;
  Graph* graph = from->graph();
  Node* producer = from->producer();
  const std::string name = from->name();
  if (!graph->replaceAllUsesWith(from, to)) return false;
  if (producer) {
    bool unused = true;
    for (Value* out : producer->outputs()) unused = unused && (!out || !out->hasUses());
    if (!unused) return true;
    graph->destroyNode(producer);
    // The replacement takes over the name readers knew, so a tensor name keeps
    // meaning the same quantity after a rewrite (per-layer comparisons rely on it).
    if (to->graph() == graph && to->producer() && to->name() != name) graph->rename(to, name);
  }
  return true;
}

bool feedsGraphOutput(const Value* v) { return v && v->isGraphOutput(); }

std::optional<std::vector<int64_t>> staticShape(const Value* v) {
  if (!v) return std::nullopt;
  if (const Tensor* t = constantTensor(v)) return t->dims();
  const Type& type = v->type();
  if (!type.isTensor() || !type.hasShape) return std::nullopt;
  std::vector<int64_t> dims;
  for (const Dim& d : type.dims) {
    if (!d.isFixed()) return std::nullopt;
    dims.push_back(d.value);
  }
  return dims;
}

DataType elementType(const Value* v) {
  if (!v) return DataType::Undefined;
  if (const Tensor* t = constantTensor(v)) return t->dtype();
  return v->type().isTensor() ? v->type().elemType : DataType::Undefined;
}

void copyType(const Value* from, Value* to) {
  if (from && to) to->setType(from->type());
}

bool isOp(const Node* n, std::string_view op) {
  return n && n->opType() == op && isDefaultDomain(*n);
}

Node* producerOp(const Value* v, std::string_view op) {
  if (!v) return nullptr;
  Node* p = v->producer();
  return p && p->graph() == v->graph() && isOp(p, op) ? p : nullptr;
}

Node* onlyUser(const Value* v) {
  if (!v || v->uses().size() != 1) return nullptr;
  Node* n = v->uses().front().node;
  return n && n->graph() == v->graph() ? n : nullptr;
}

std::optional<ScalarConstant> scalarConstant(const Value* v) {
  if (!v) return std::nullopt;
  std::optional<std::vector<int64_t>> dims = constantDims(v);
  if (!dims || elementCount(*dims) != 1) return std::nullopt;
  std::optional<Tensor> t = constantValue(v);
  if (!t) return std::nullopt;
  ScalarConstant s{0, t->dtype(), dims->size()};
  if (auto f = floatValues(*t)) {
    if (t->dtype() == DataType::Double) s.value = t->data<double>()[0];
    else s.value = (*f)[0];
  } else if (auto i = intValues(*t)) {
    s.value = static_cast<double>((*i)[0]);
  } else {
    return std::nullopt;
  }
  return s;
}

bool approxEqual(double actual, double expected, DataType dtype) {
  double rtol = 1e-4;
  if (dtype == DataType::Float16) rtol = 1e-3;       // 11-bit mantissa: steps of 2^-11 relative
  else if (dtype == DataType::BFloat16) rtol = 8e-3; // 8-bit mantissa: steps of 2^-8
  return std::abs(actual - expected) <= rtol * std::max(std::abs(actual), std::abs(expected)) + 1e-12;
}

bool isFloatType(DataType t) {
  return t == DataType::Float || t == DataType::Double || t == DataType::Float16 || t == DataType::BFloat16;
}

std::optional<int64_t> knownRank(const Value* v) {
  if (!v) return std::nullopt;
  if (v->type().isTensor() && v->type().hasShape) return static_cast<int64_t>(v->type().dims.size());
  if (auto dims = constantDims(v)) return static_cast<int64_t>(dims->size());
  return std::nullopt;
}

std::optional<std::vector<int64_t>> constantDims(const Value* v) {
  if (const Tensor* t = constantTensor(v)) return t->dims();
  if (std::optional<Tensor> t = constantValue(v)) return t->dims();
  return std::nullopt;
}

std::optional<std::vector<int64_t>> floatConstantDims(const Value* v) {
  if (const Tensor* t = constantTensor(v)) {
    if (!isFloatType(t->dtype())) return std::nullopt;
    return t->dims();
  }
  std::optional<Tensor> t = constantValue(v);
  if (!t || !isFloatType(t->dtype())) return std::nullopt;
  return t->dims();
}

std::optional<std::vector<double>> doubleValues(const Tensor& t) {
  if (t.dtype() == DataType::Double) {
    auto d = t.data<double>();
    return std::vector<double>(d.begin(), d.end());
  }
  std::optional<std::vector<float>> f = floatValues(t);
  if (!f) return std::nullopt;
  return std::vector<double>(f->begin(), f->end());
}

Tensor makeTensorFromDoubles(DataType dtype, std::vector<int64_t> dims, const std::vector<double>& values) {
  if (dtype == DataType::Double) return Tensor::fromValues(dtype, std::move(dims), values);
  std::vector<float> f(values.begin(), values.end());
  return makeFloatTensor(dtype, std::move(dims), f);
}

void releaseIfUnused(const std::vector<Value*>& values) {
  // Destroying a value (or its Constant producer) must not leave a later entry dangling.
  std::vector<Value*> unique;
  for (Value* v : values)
    if (v && std::find(unique.begin(), unique.end(), v) == unique.end()) unique.push_back(v);
  std::vector<Node*> constantNodes;
  for (Value* v : unique) {
    if (v->hasUses()) continue;
    if (v->initializer() && !v->isGraphInput() && !v->producer()) {
      v->graph()->removeInitializer(v);
    } else if (Node* p = v->producer(); isOp(p, "Constant") &&
               std::find(constantNodes.begin(), constantNodes.end(), p) == constantNodes.end()) {
      constantNodes.push_back(p);
    }
  }
  for (Node* p : constantNodes) {
    bool used = std::any_of(p->outputs().begin(), p->outputs().end(), [](Value* o) { return o && o->hasUses(); });
    if (!used) p->graph()->destroyNode(p);
  }
}

void eraseIfDead(const std::vector<Node*>& nodes) {
  std::unordered_set<Node*> listed;
  std::vector<Node*> pending;
  for (Node* n : nodes)
    if (n && listed.insert(n).second) pending.push_back(n);
  std::vector<Value*> constants;
  // Repeat until nothing more dies, so the order of `nodes` does not matter.
  for (bool erased = true; erased;) {
    erased = false;
    for (Node*& n : pending) {
      if (!n) continue;
      bool used = std::any_of(n->outputs().begin(), n->outputs().end(), [](Value* o) { return o && o->hasUses(); });
      if (used) continue;
      for (Value* in : n->inputs()) {
        // Listed nodes are the loop's business; releasing them here could free one it has yet to visit.
        Node* p = in ? in->producer() : nullptr;
        if (in && (!p || (isOp(p, "Constant") && !listed.count(p)))) constants.push_back(in);
      }
      n->graph()->destroyNode(n);
      n = nullptr;
      erased = true;
    }
  }
  releaseIfUnused(constants);
}

bool replaceKeepingInterface(Value* from, Value* to) {
  Graph* g = from->graph();
  if (g->parent() && from->isGraphOutput() && (!to->producer() || to->graph() != g)) return false;
  const bool mainOutput = !g->parent() && from->isGraphOutput();
  const Type declared = from->type();
  if (!replaceValue(from, to)) return false;
  if (mainOutput && declared.kind != Type::Kind::None) to->setType(declared);
  return true;
}

std::optional<std::vector<int64_t>> constantInts(const Value* v) {
  if (!v) return std::nullopt;
  if (const Tensor* t = constantTensor(v)) return intValues(*t);
  if (auto t = constantValue(v)) return intValues(*t);
  return std::nullopt;
}

std::optional<std::vector<Dim>> knownDims(const Value* v) {
  std::vector<Dim> dims;
  std::optional<std::vector<int64_t>> shape = staticShape(v);
  if (!shape && isConstant(v)) shape = constantValue(v)->dims();  // value_floats, sparse_value, ...
  if (shape) {
    for (int64_t d : *shape) dims.push_back(Dim::fixed(d));
    return dims;
  }
  if (!v || !v->type().isTensor() || !v->type().hasShape) return std::nullopt;
  return v->type().dims;
}

}  // namespace onnxpress
