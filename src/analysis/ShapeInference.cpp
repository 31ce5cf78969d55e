#include "onnxpress/analysis/ShapeInference.h"

#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <unordered_map>
#include <unordered_set>

#include "onnxpress/io/Proto.h"

namespace onnxpress {
namespace {

constexpr size_t kInlineBytes = 1024;  // larger tensors reach onnx as dims only

// Whether `inferred` says more than `current`; when it does, `current` is updated
// (unknown dims filled, a missing shape or type taken whole).
bool mergeType(Type& current, const Type& inferred) {
  if (inferred.kind == Type::Kind::None) return false;
  if (current.kind == Type::Kind::None) {
    current = inferred;
    return true;
  }
  if (!current.isTensor() || !inferred.isTensor() || !inferred.hasShape) return false;
  if (current.elemType == DataType::Undefined && inferred.elemType != DataType::Undefined) {
    current.elemType = inferred.elemType;
  }
  if (!current.hasShape) {
    current.hasShape = true;
    current.dims = inferred.dims;
    return true;
  }
  if (current.dims.size() != inferred.dims.size()) return false;
  bool changed = false;
  for (size_t i = 0; i < current.dims.size(); ++i)
    if (current.dims[i].kind == Dim::Kind::Unknown && inferred.dims[i].kind != Dim::Kind::Unknown) {
      current.dims[i] = inferred.dims[i];
      changed = true;
    }
  return changed;
}

void collectTypes(const onnx::GraphProto& g, std::unordered_map<std::string, const onnx::TypeProto*>& types) {
  for (const auto& vi : g.value_info()) types[vi.name()] = &vi.type();
  for (const auto& vi : g.output())
    if (vi.has_type()) types[vi.name()] = &vi.type();
}

// Walks the IR graph and its proto twin in step (export keeps node order).
int64_t applyTypes(Graph& graph, const onnx::GraphProto& proto) {
  std::unordered_map<std::string, const onnx::TypeProto*> types;
  collectTypes(proto, types);
  int64_t typed = 0;
  int index = 0;
  for (Node* node : graph.nodes()) {
    if (index >= proto.node_size()) break;
    const onnx::NodeProto& np = proto.node(index++);
    for (Value* out : node->outputs()) {
      if (!out) continue;
      auto it = types.find(out->name());
      if (it != types.end() && mergeType(out->mutableType(), typeFromProto(*it->second))) ++typed;
    }
    for (Attribute& attr : node->attributes()) {
      if (attr.graphs.empty()) continue;
      for (const auto& ap : np.attribute()) {
        if (ap.name() != attr.name) continue;
        if (ap.has_g() && !attr.graphs.empty()) typed += applyTypes(*attr.graphs[0], ap.g());
        for (int i = 0; i < ap.graphs_size() && i < static_cast<int>(attr.graphs.size()); ++i)
          typed += applyTypes(*attr.graphs[static_cast<size_t>(i)], ap.graphs(i));
      }
    }
  }
  return typed;
}

// Large initializers become typed graph inputs, so onnx sees shapes without bytes.
void moveLargeInitializersToInputs(onnx::GraphProto& g) {
  google::protobuf::RepeatedPtrField<onnx::TensorProto> kept;
  std::unordered_map<std::string, bool> declared;
  for (const auto& in : g.input()) declared[in.name()] = true;
  for (auto& t : *g.mutable_initializer()) {
    const bool external = t.data_location() == onnx::TensorProto::EXTERNAL;
    if (!external && static_cast<size_t>(t.ByteSizeLong()) <= kInlineBytes) {
      *kept.Add() = std::move(t);
      continue;
    }
    if (declared.count(t.name())) continue;
    auto* in = g.add_input();
    in->set_name(t.name());
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(t.data_type());
    auto* shape = tt->mutable_shape();
    for (int64_t d : t.dims()) shape->add_dim()->set_dim_value(d);
  }
  g.mutable_initializer()->Swap(&kept);
}

// Whether the input of every main-graph Shape node has a type (data propagation runs on the main graph).
bool everyShapeInputTyped(const onnx::GraphProto& g) {
  std::unordered_set<std::string> typed;
  for (const auto& v : g.input()) typed.insert(v.name());
  for (const auto& v : g.value_info()) typed.insert(v.name());
  for (const auto& v : g.output())
    if (v.type().value_case() != onnx::TypeProto::VALUE_NOT_SET) typed.insert(v.name());
  for (const auto& t : g.initializer()) typed.insert(t.name());
  for (const auto& n : g.node())
    if (n.op_type() == "Shape" && n.input_size() > 0 && !typed.count(n.input(0))) return false;
  return true;
}

}  // namespace

Expected<ShapeInferenceResult> inferShapes(Model& model) {
  // Large tensors are exported as external references that are never read.
  ExternalTensorWriter skipLarge = [](const Tensor& t, onnx::TensorProto& p) -> Expected<bool> {
    if (t.byteSize() <= kInlineBytes) return false;
    p.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* entry = p.add_external_data();
    entry->set_key("location");
    entry->set_value("onnxpress-shape-inference-placeholder");
    return true;
  };
  ASSIGN_OR_RETURN(onnx::ModelProto proto, modelToProto(model, skipLarge));
  moveLargeInitializersToInputs(*proto.mutable_graph());
  ShapeInferenceResult result;
  try {
    // onnx 1.12's data propagation dereferences the type of a Shape node's input without
    // checking it: a segfault when that input's inference failed (a Concat of mismatched
    // dims under placeholder input sizes, say). So types are inferred first without it,
    // and data is propagated only when every Shape input has one, over those types.
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(false, 0, /*data_prop=*/false));
    if (everyShapeInputTyped(proto.graph()))
      onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                         onnx::ShapeInferenceOptions(false, 0, /*data_prop=*/true));
  } catch (const std::exception& e) {
    result.firstError = e.what();
  }
  result.valuesTyped = applyTypes(model.graph(), proto.graph());
  return result;
}

}  // namespace onnxpress
