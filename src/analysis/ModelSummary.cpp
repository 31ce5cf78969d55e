#include "onnxpress/analysis/ModelSummary.h"
#include "onnxpress/ir/GraphUtil.h"

#include <algorithm>
#include <optional>

#include "onnxpress/io/ModelIO.h"

namespace onnxpress {

std::string qualifiedOpType(const Node& node) {
  if (isDefaultDomain(node)) return node.opType();
  return node.domain() + "::" + node.opType();
}

namespace {

TensorSlot describeSlot(const Value& v) {
  TensorSlot slot;
  slot.name = v.name();
  const Type& t = v.type();
  if (t.kind == Type::Kind::Tensor || t.kind == Type::Kind::SparseTensor) {
    slot.dtype = std::string(dataTypeName(t.elemType));
    slot.isTensor = true;
    slot.hasShape = t.hasShape;
    for (const Dim& d : t.dims) slot.dims.push_back(d.toString());
  } else {
    slot.dtype = t.kind == Type::Kind::None ? "unknown" : t.toString();
  }
  return slot;
}

}  // namespace

int64_t nonzeroElements(const Tensor& t) {
  if (t.dtype() == DataType::String) {
    int64_t n = 0;
    for (const auto& str : t.strings()) n += !str.empty();
    return n;
  }
  const auto bytes = t.bytes();
  const int bits = dataTypeBits(t.dtype());
  int64_t n = 0;
  if (bits == 4) {
    for (int64_t i = 0; i < t.numElements(); ++i) n += ((bytes[static_cast<size_t>(i / 2)] >> (4 * (i % 2))) & 0xF) != 0;
    return n;
  }
  const size_t width = static_cast<size_t>(std::max(bits / 8, 1));
  for (size_t i = 0; i + width <= bytes.size(); i += width) {
    bool any = false;
    for (size_t b = 0; b < width && !any; ++b) any = bytes[i + b] != 0;
    n += any;
  }
  return n;
}

namespace {

class ParameterCounter {
 public:
  explicit ParameterCounter(ModelSummary& s) : s_(s) {}

  void add(DataType dtype, int64_t elements, int64_t bytes, bool inSubgraph, std::optional<int64_t> nonzero = {}) {
    s_.nonzeroParameterCount += nonzero.value_or(elements);
    auto& totals = s_.parametersByDtype[std::string(dataTypeName(dtype))];
    ++totals.tensors;
    totals.elements += elements;
    totals.bytes += bytes;
    s_.parameterCount += elements;
    s_.parameterBytes += bytes;
    if (inSubgraph) ++s_.subgraphConstantTensors;
  }
  void addTensor(const Tensor& t, bool inSubgraph) {
    int64_t bytes = static_cast<int64_t>(t.byteSize());
    for (const auto& str : t.strings()) bytes += static_cast<int64_t>(str.size());
    add(t.dtype(), t.numElements(), bytes, inSubgraph, nonzeroElements(t));
  }
  void addConstantNode(const Node& n, bool inSubgraph) {
    for (const Attribute& a : n.attributes()) {
      using K = Attribute::Kind;
      if (a.kind == K::Tensor && !a.tensors.empty()) addTensor(a.tensors[0], inSubgraph);
      else if (a.kind == K::SparseTensor && !a.sparseTensors.empty()) addSparse(a.sparseTensors[0], inSubgraph);
      else if (a.kind == K::Float) add(DataType::Float, 1, 4, inSubgraph);
      else if (a.kind == K::Floats) add(DataType::Float, std::ssize(a.floats), 4 * std::ssize(a.floats), inSubgraph);
      else if (a.kind == K::Int) add(DataType::Int64, 1, 8, inSubgraph);
      else if (a.kind == K::Ints) add(DataType::Int64, std::ssize(a.ints), 8 * std::ssize(a.ints), inSubgraph);
      else if (a.kind == K::String) add(DataType::String, 1, std::ssize(a.s), inSubgraph);
      else if (a.kind == K::Strings) {
        int64_t bytes = 0;
        for (const auto& str : a.strings) bytes += std::ssize(str);
        add(DataType::String, std::ssize(a.strings), bytes, inSubgraph);
      } else continue;
      ++s_.constantNodeTensors;
      return;
    }
  }
  void addSparse(const SparseTensor& t, bool inSubgraph) {
    add(t.values.dtype(), t.denseElements(),
        static_cast<int64_t>(t.values.byteSize() + t.indices.byteSize()), inSubgraph, nonzeroElements(t.values));
  }

 private:
  ModelSummary& s_;
};

void summarizeGraph(const Graph& g, bool inSubgraph, ModelSummary& s, ParameterCounter& params) {
  for (Value* v : g.initializers()) {
    params.addTensor(*v->initializer(), inSubgraph);
    ++s.initializerTensors;
  }
  for (Value* v : g.sparseInitializers()) {
    params.addSparse(*v->sparseInitializer(), inSubgraph);
    ++s.initializerTensors;
  }
  for (Node* n : g.nodes()) {
    if (inSubgraph) {
      ++s.subgraphNodeCount;
      ++s.subgraphOpHistogram[qualifiedOpType(*n)];
    } else {
      ++s.nodeCount;
      ++s.opHistogram[qualifiedOpType(*n)];
    }
    if (isOp(n, "Constant"))
      params.addConstantNode(*n, inSubgraph);
    for (Graph* sub : n->subgraphs()) {
      ++s.subgraphCount;
      summarizeGraph(*sub, true, s, params);
    }
  }
}

}  // namespace

ModelSummary summarizeModel(const Model& model) {
  ModelSummary s;
  s.irVersion = model.irVersion;
  s.producerName = model.producerName;
  s.producerVersion = model.producerVersion;
  s.opsets = model.opsetImports;
  for (Value* v : model.graph().inputs())
    if (!v->initializer()) s.inputs.push_back(describeSlot(*v));
  for (Value* v : model.graph().outputs()) s.outputs.push_back(describeSlot(*v));
  ParameterCounter params(s);
  summarizeGraph(model.graph(), false, s, params);
  s.functionCount = static_cast<int64_t>(model.functions.size());
  s.externalDataFiles = externalDataFiles(model);
  return s;
}

}  // namespace onnxpress
