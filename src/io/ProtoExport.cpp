// IR -> onnx::ModelProto. Fields are written only when they differ from the
// proto default, and tensors keep the encoding they were read with.
#include <cstring>

#include "onnxpress/io/Proto.h"

namespace onnxpress {
namespace {

void restoreUnknown(const std::string& bytes, google::protobuf::Message& msg) {
  if (bytes.empty()) return;
  msg.GetReflection()->MutableUnknownFields(&msg)->ParseFromString(bytes);
}

class Exporter {
 public:
  explicit Exporter(const ExternalTensorWriter& external) : external_(external) {}
  Status exportModel(const Model& m, onnx::ModelProto& p);

 private:
  Status exportGraph(const Graph& g, onnx::GraphProto& p, bool allowExternal);
  Status exportNode(const Node& n, onnx::NodeProto& p);
  Status exportAttribute(const Attribute& a, onnx::AttributeProto& p);
  Status exportTensor(const Tensor& t, onnx::TensorProto& p, bool allowExternal);
  void exportSparse(const SparseTensor& s, onnx::SparseTensorProto& p);
  static void exportType(const Type& t, onnx::TypeProto& p);
  static void exportValueInfo(const Value& v, onnx::ValueInfoProto& p, bool withType = true);

  const ExternalTensorWriter& external_;
  Status sparseStatus_;
};

void Exporter::exportType(const Type& t, onnx::TypeProto& p) {
  if (!t.denotation.empty()) p.set_denotation(t.denotation);
  auto shape = [&t](onnx::TensorShapeProto* s) {
    for (const Dim& d : t.dims) {
      auto* dp = s->add_dim();
      if (d.kind == Dim::Kind::Value) dp->set_dim_value(d.value);
      else if (d.kind == Dim::Kind::Param) dp->set_dim_param(d.param);
      if (!d.denotation.empty()) dp->set_denotation(d.denotation);
    }
  };
  switch (t.kind) {
    case Type::Kind::Tensor: {
      auto* tt = p.mutable_tensor_type();
      if (t.elemType != DataType::Undefined) tt->set_elem_type(static_cast<int32_t>(t.elemType));
      if (t.hasShape) shape(tt->mutable_shape());
      break;
    }
    case Type::Kind::SparseTensor: {
      auto* tt = p.mutable_sparse_tensor_type();
      if (t.elemType != DataType::Undefined) tt->set_elem_type(static_cast<int32_t>(t.elemType));
      if (t.hasShape) shape(tt->mutable_shape());
      break;
    }
    case Type::Kind::Sequence:
      exportType(t.inner.at(0), *p.mutable_sequence_type()->mutable_elem_type());
      break;
    case Type::Kind::Optional:
      exportType(t.inner.at(0), *p.mutable_optional_type()->mutable_elem_type());
      break;
    case Type::Kind::Map:
      p.mutable_map_type()->set_key_type(static_cast<int32_t>(t.elemType));
      exportType(t.inner.at(0), *p.mutable_map_type()->mutable_value_type());
      break;
    case Type::Kind::Opaque:
      p.mutable_opaque_type()->set_domain(t.opaqueDomain);
      p.mutable_opaque_type()->set_name(t.opaqueName);
      break;
    case Type::Kind::None: break;
  }
}

void Exporter::exportValueInfo(const Value& v, onnx::ValueInfoProto& p, bool withType) {
  p.set_name(v.name());
  if (withType && v.type().kind != Type::Kind::None) exportType(v.type(), *p.mutable_type());
  if (!v.docString().empty()) p.set_doc_string(v.docString());
}

Status Exporter::exportModel(const Model& m, onnx::ModelProto& p) {
  p.set_ir_version(m.irVersion);
  if (!m.producerName.empty()) p.set_producer_name(m.producerName);
  if (!m.producerVersion.empty()) p.set_producer_version(m.producerVersion);
  if (!m.domain.empty()) p.set_domain(m.domain);
  if (m.modelVersion) p.set_model_version(m.modelVersion);
  if (!m.docString.empty()) p.set_doc_string(m.docString);
  for (const auto& o : m.opsetImports) {
    auto* op = p.add_opset_import();
    if (!o.domain.empty()) op->set_domain(o.domain);
    op->set_version(o.version);
  }
  for (const auto& [k, v] : m.metadataProps) {
    auto* kv = p.add_metadata_props();
    kv->set_key(k);
    kv->set_value(v);
  }
  for (const auto& ti : m.trainingInfo) p.add_training_info()->ParseFromString(ti);
  RETURN_IF_ERROR(exportGraph(m.graph(), *p.mutable_graph(), true));
  for (const auto& f : m.functions) {
    auto* fp = p.add_functions();
    fp->set_name(f.name);
    if (!f.domain.empty()) fp->set_domain(f.domain);
    if (!f.docString.empty()) fp->set_doc_string(f.docString);
    for (Value* in : f.body->inputs()) fp->add_input(in->name());
    for (Value* out : f.body->outputs()) fp->add_output(out->name());
    for (const auto& a : f.attributeNames) fp->add_attribute(a);
    for (Node* n : f.body->nodes()) RETURN_IF_ERROR(exportNode(*n, *fp->add_node()));
    for (const auto& o : f.opsetImports) {
      auto* op = fp->add_opset_import();
      if (!o.domain.empty()) op->set_domain(o.domain);
      op->set_version(o.version);
    }
    restoreUnknown(f.unknownFields, *fp);
  }
  restoreUnknown(m.unknownFields, p);
  return Status::ok();
}

Status Exporter::exportGraph(const Graph& g, onnx::GraphProto& p, bool allowExternal) {
  if (!g.name().empty()) p.set_name(g.name());
  if (!g.docString().empty()) p.set_doc_string(g.docString());
  for (Node* n : g.nodes()) RETURN_IF_ERROR(exportNode(*n, *p.add_node()));
  for (Value* v : g.initializers()) RETURN_IF_ERROR(exportTensor(*v->initializer(), *p.add_initializer(), allowExternal));
  for (Value* v : g.sparseInitializers()) exportSparse(*v->sparseInitializer(), *p.add_sparse_initializer());
  for (Value* v : g.inputs()) exportValueInfo(*v, *p.add_input());
  for (size_t i = 0; i < g.outputs().size(); ++i)
    exportValueInfo(*g.outputs()[i], *p.add_output(), !g.outputDeclaredUntyped(i));
  for (Value* v : g.valueInfos()) exportValueInfo(*v, *p.add_value_info());
  for (const auto& a : g.quantizationAnnotations()) {
    auto* ap = p.add_quantization_annotation();
    ap->set_tensor_name(a.tensorName);
    for (const auto& [k, v] : a.quantParameterTensorNames) {
      auto* kv = ap->add_quant_parameter_tensor_names();
      kv->set_key(k);
      kv->set_value(v);
    }
  }
  restoreUnknown(g.unknownFields(), p);
  return sparseStatus_;
}

Status Exporter::exportNode(const Node& n, onnx::NodeProto& p) {
  for (Value* in : n.inputs()) p.add_input(in ? in->name() : "");
  for (Value* out : n.outputs()) p.add_output(out ? out->name() : "");
  if (!n.name().empty()) p.set_name(n.name());
  p.set_op_type(n.opType());
  if (!n.domain().empty()) p.set_domain(n.domain());
  if (!n.docString().empty()) p.set_doc_string(n.docString());
  for (const auto& a : n.attributes()) RETURN_IF_ERROR(exportAttribute(a, *p.add_attribute()));
  restoreUnknown(const_cast<Node&>(n).unknownFields(), p);
  return Status::ok();
}

Status Exporter::exportAttribute(const Attribute& a, onnx::AttributeProto& p) {
  using K = Attribute::Kind;
  p.set_name(a.name);
  if (!a.refAttrName.empty()) p.set_ref_attr_name(a.refAttrName);
  if (!a.docString.empty()) p.set_doc_string(a.docString);
  if (a.kind != K::Undefined) p.set_type(static_cast<onnx::AttributeProto::AttributeType>(a.kind));
  if (a.f != 0 || a.kind == K::Float) p.set_f(a.f);
  if (a.i != 0 || a.kind == K::Int) p.set_i(a.i);
  if (!a.s.empty() || a.kind == K::String) p.set_s(a.s);
  for (float f : a.floats) p.add_floats(f);
  for (int64_t i : a.ints) p.add_ints(i);
  for (const auto& s : a.strings) p.add_strings(s);
  if (a.kind == K::Tensor && !a.tensors.empty()) {
    RETURN_IF_ERROR(exportTensor(a.tensors[0], *p.mutable_t(), false));
  } else {
    for (const auto& t : a.tensors) RETURN_IF_ERROR(exportTensor(t, *p.add_tensors(), false));
  }
  if (a.kind == K::Graph && !a.graphs.empty()) {
    RETURN_IF_ERROR(exportGraph(*a.graphs[0], *p.mutable_g(), true));
  } else {
    for (const auto& g : a.graphs) RETURN_IF_ERROR(exportGraph(*g, *p.add_graphs(), true));
  }
  if (a.kind == K::SparseTensor && !a.sparseTensors.empty()) {
    exportSparse(a.sparseTensors[0], *p.mutable_sparse_tensor());
  } else {
    for (const auto& s : a.sparseTensors) exportSparse(s, *p.add_sparse_tensors());
  }
  if (a.kind == K::TypeProto && !a.types.empty()) {
    exportType(a.types[0], *p.mutable_tp());
  } else {
    for (const auto& t : a.types) exportType(t, *p.add_type_protos());
  }
  return Status::ok();
}

void Exporter::exportSparse(const SparseTensor& s, onnx::SparseTensorProto& p) {
  Status st = exportTensor(s.values, *p.mutable_values(), false);
  if (st.isOk()) st = exportTensor(s.indices, *p.mutable_indices(), false);
  if (!st.isOk() && sparseStatus_.isOk()) sparseStatus_ = st;
  for (int64_t d : s.dims) p.add_dims(d);
}

template <typename Dst>
void appendTyped(std::span<const uint8_t> bytes, int elementBytes, bool signExtend,
                 google::protobuf::RepeatedField<Dst>* out) {
  const size_t count = bytes.size() / elementBytes;
  out->Reserve(static_cast<int>(count));
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* src = bytes.data() + i * elementBytes;
    if (elementBytes == static_cast<int>(sizeof(Dst))) {
      Dst v;
      std::memcpy(&v, src, sizeof(Dst));
      out->Add(v);
    } else {
      uint64_t u = 0;
      std::memcpy(&u, src, elementBytes);
      if (signExtend && (u >> (elementBytes * 8 - 1)) & 1) u |= ~uint64_t{0} << (elementBytes * 8);
      out->Add(static_cast<Dst>(u));
    }
  }
}

Status Exporter::exportTensor(const Tensor& t, onnx::TensorProto& p, bool allowExternal) {
  for (int64_t d : t.dims()) p.add_dims(d);
  p.set_data_type(static_cast<int32_t>(t.dtype()));
  if (!t.name().empty()) p.set_name(t.name());
  if (!t.docString().empty()) p.set_doc_string(t.docString());
  const auto& o = t.origin();
  if (o.hasSegment) {
    p.mutable_segment()->set_begin(o.segmentBegin);
    p.mutable_segment()->set_end(o.segmentEnd);
  }
  if (t.dtype() == DataType::String) {
    for (const auto& s : t.strings()) p.add_string_data(s);
    return Status::ok();
  }
  if (allowExternal && external_) {
    ASSIGN_OR_RETURN(bool written, external_(t, p));
    if (written) return Status::ok();
  }
  auto bytes = t.bytes();
  if (o.encoding == TensorOrigin::Encoding::Raw || !o.externalLocation.empty()) {
    p.set_raw_data(bytes.data(), bytes.size());
    return Status::ok();
  }
  switch (t.dtype()) {
    case DataType::Float:
    case DataType::Complex64: appendTyped(bytes, 4, false, p.mutable_float_data()); break;
    case DataType::Double:
    case DataType::Complex128: appendTyped(bytes, 8, false, p.mutable_double_data()); break;
    case DataType::Int64: appendTyped(bytes, 8, false, p.mutable_int64_data()); break;
    case DataType::UInt64: appendTyped(bytes, 8, false, p.mutable_uint64_data()); break;
    case DataType::UInt32: appendTyped(bytes, 4, false, p.mutable_uint64_data()); break;
    case DataType::Int8:
    case DataType::Int16:
    case DataType::Int32: appendTyped(bytes, dataTypeBits(t.dtype()) / 8, true, p.mutable_int32_data()); break;
    case DataType::Int4:
    case DataType::UInt4:
    case DataType::Float4E2M1: appendTyped(bytes, 1, false, p.mutable_int32_data()); break;
    default: appendTyped(bytes, dataTypeBits(t.dtype()) / 8, false, p.mutable_int32_data()); break;
  }
  return Status::ok();
}

}  // namespace

Expected<onnx::ModelProto> modelToProto(const Model& model, const ExternalTensorWriter& external) {
  onnx::ModelProto proto;
  Exporter exporter(external);
  RETURN_IF_ERROR(exporter.exportModel(model, proto));
  return proto;
}

}  // namespace onnxpress
