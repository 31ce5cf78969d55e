// onnx::ModelProto -> IR. Validates what the IR relies on (names resolve, no
// duplicates, tensor sizes agree with dims) and reports the first problem with
// the file, the node and what is wrong.
#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/unknown_field_set.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <filesystem>
#include <map>

#include "onnxpress/io/ModelIO.h"
#include "onnxpress/io/Proto.h"

namespace onnxpress {
namespace fs = std::filesystem;

namespace {

std::string serializeUnknown(const google::protobuf::UnknownFieldSet& fields) {
  std::string out;
  if (!fields.empty()) fields.SerializeToString(&out);
  return out;
}

class Importer {
 public:
  Importer(std::string dir, std::string label) : dir_(std::move(dir)), label_(std::move(label)) {}

  Status importModel(onnx::ModelProto& p, Model& m);
  Expected<Tensor> importTensor(onnx::TensorProto& p);
  static Type importType(const onnx::TypeProto& p);

 private:
  Status fail(const std::string& what) const { return {ErrorCode::InvalidInput, label_ + ": " + what}; }
  Status importGraph(onnx::GraphProto& p, Graph& g);
  Status createNodeOutputs(google::protobuf::RepeatedPtrField<onnx::NodeProto>& nodes, Graph& g);
  Status wireNodes(google::protobuf::RepeatedPtrField<onnx::NodeProto>& nodes, Graph& g);
  Status importAttribute(onnx::AttributeProto& p, Graph& owner, Attribute& a);
  Status importSparse(onnx::SparseTensorProto& p, SparseTensor& s);
  Status loadExternal(onnx::TensorProto& p, Tensor& t, size_t needed);
  Status importTypedFields(onnx::TensorProto& p, Tensor& t, size_t numel);
  static void importValueInfo(const onnx::ValueInfoProto& p, Value& v, bool overwriteType);

  std::string dir_, label_;
  std::map<std::string, std::shared_ptr<const MappedFile>> mapped_;
};

Type Importer::importType(const onnx::TypeProto& p) {
  Type t;
  t.denotation = p.denotation();
  auto shape = [&t](const onnx::TensorShapeProto& s) {
    t.hasShape = true;
    for (const auto& d : s.dim()) {
      Dim dim;
      if (d.has_dim_value()) dim = Dim::fixed(d.dim_value());
      else if (d.has_dim_param()) dim = Dim::symbolic(d.dim_param());
      dim.denotation = d.denotation();
      t.dims.push_back(std::move(dim));
    }
  };
  switch (p.value_case()) {
    case onnx::TypeProto::kTensorType:
      t.kind = Type::Kind::Tensor;
      t.elemType = static_cast<DataType>(p.tensor_type().elem_type());
      if (p.tensor_type().has_shape()) shape(p.tensor_type().shape());
      break;
    case onnx::TypeProto::kSparseTensorType:
      t.kind = Type::Kind::SparseTensor;
      t.elemType = static_cast<DataType>(p.sparse_tensor_type().elem_type());
      if (p.sparse_tensor_type().has_shape()) shape(p.sparse_tensor_type().shape());
      break;
    case onnx::TypeProto::kSequenceType:
      t.kind = Type::Kind::Sequence;
      t.inner.push_back(importType(p.sequence_type().elem_type()));
      break;
    case onnx::TypeProto::kOptionalType:
      t.kind = Type::Kind::Optional;
      t.inner.push_back(importType(p.optional_type().elem_type()));
      break;
    case onnx::TypeProto::kMapType:
      t.kind = Type::Kind::Map;
      t.elemType = static_cast<DataType>(p.map_type().key_type());
      t.inner.push_back(importType(p.map_type().value_type()));
      break;
    case onnx::TypeProto::kOpaqueType:
      t.kind = Type::Kind::Opaque;
      t.opaqueDomain = p.opaque_type().domain();
      t.opaqueName = p.opaque_type().name();
      break;
    default: break;
  }
  return t;
}

void Importer::importValueInfo(const onnx::ValueInfoProto& p, Value& v, bool overwriteType) {
  if (overwriteType || v.type().kind == Type::Kind::None) {
    if (p.has_type()) v.setType(importType(p.type()));
  }
  if (v.docString().empty()) v.setDocString(p.doc_string());
}

Status Importer::importModel(onnx::ModelProto& p, Model& m) {
  if (!p.has_ir_version())
    return fail("not an ONNX model: ir_version is missing");
  if (p.ir_version() < kMinIrVersion || p.ir_version() > kMaxIrVersion)
    return fail(fmt::format("unsupported IR version {} (onnxpress reads IR versions {} to {})",
                            p.ir_version(), kMinIrVersion, kMaxIrVersion));
  if (!p.has_graph()) return fail("not an ONNX model: it has no graph");
  m.irVersion = p.ir_version();
  m.producerName = p.producer_name();
  m.producerVersion = p.producer_version();
  m.domain = p.domain();
  m.modelVersion = p.model_version();
  m.docString = p.doc_string();
  for (const auto& o : p.opset_import()) m.opsetImports.push_back({canonicalDomain(o.domain()), o.version()});
  for (const auto& kv : p.metadata_props()) m.metadataProps.emplace_back(kv.key(), kv.value());
  for (const auto& ti : p.training_info()) m.trainingInfo.push_back(ti.SerializeAsString());
  m.unknownFields = serializeUnknown(p.unknown_fields());
  m.sourceDirectory = dir_;
  RETURN_IF_ERROR(importGraph(*p.mutable_graph(), m.graph()));
  for (auto& fp : *p.mutable_functions()) {
    Function f;
    f.name = fp.name();
    f.domain = fp.domain();
    f.docString = fp.doc_string();
    f.attributeNames.assign(fp.attribute().begin(), fp.attribute().end());
    for (const auto& o : fp.opset_import()) f.opsetImports.push_back({canonicalDomain(o.domain()), o.version()});
    f.unknownFields = serializeUnknown(fp.unknown_fields());
    f.body = std::make_unique<Graph>();
    for (const auto& in : fp.input()) f.body->addInput(in);
    RETURN_IF_ERROR(createNodeOutputs(*fp.mutable_node(), *f.body));
    RETURN_IF_ERROR(wireNodes(*fp.mutable_node(), *f.body));
    for (const auto& out : fp.output()) {
      Value* v = f.body->findValue(out);
      if (!v) return fail(fmt::format("function '{}' output '{}' refers to nothing", f.name, out));
      f.body->addOutput(v);
    }
    m.functions.push_back(std::move(f));
  }
  Status acyclic = Status::ok();
  m.graph().forEachGraph([&](const Graph& g) {
    if (!acyclic.isOk()) return;
    auto order = g.topologicalOrder();
    if (!order) acyclic = fail(order.status().message());
  });
  return acyclic;
}

Status Importer::importGraph(onnx::GraphProto& p, Graph& g) {
  g.setName(p.name());
  g.setDocString(p.doc_string());
  g.unknownFields() = serializeUnknown(p.unknown_fields());
  for (const auto& in : p.input()) {
    if (g.findValue(in.name()))
      return fail(fmt::format("graph '{}' declares input '{}' twice", p.name(), in.name()));
    Value* v = g.addInput(in.name());
    importValueInfo(in, *v, true);
  }
  for (auto& tp : *p.mutable_initializer()) {
    ASSIGN_OR_RETURN(Tensor t, importTensor(tp));
    if (Value* existing = g.findValue(t.name()); existing && (existing->initializer() || existing->sparseInitializer()))
      return fail(fmt::format("initializer '{}' is defined twice", t.name()));
    g.addInitializer(std::move(t));
  }
  for (auto& sp : *p.mutable_sparse_initializer()) {
    SparseTensor s;
    RETURN_IF_ERROR(importSparse(sp, s));
    if (Value* existing = g.findValue(s.values.name()); existing && (existing->initializer() || existing->sparseInitializer()))
      return fail(fmt::format("initializer '{}' is defined twice", s.values.name()));
    g.addSparseInitializer(std::move(s));
  }
  RETURN_IF_ERROR(createNodeOutputs(*p.mutable_node(), g));
  for (const auto& vi : p.value_info()) {
    Value* v = g.findValue(vi.name());
    if (!v) v = g.createDetachedValue(vi.name());
    importValueInfo(vi, *v, false);
    g.addValueInfo(v);
  }
  RETURN_IF_ERROR(wireNodes(*p.mutable_node(), g));
  for (const auto& out : p.output()) {
    Value* v = g.lookup(out.name());
    if (!v) return fail(fmt::format("graph output '{}' refers to nothing", out.name()));
    g.addOutput(v);
    if (!out.has_type() && v->type().kind != Type::Kind::None) g.setOutputDeclaredUntyped(g.outputs().size() - 1, true);
    importValueInfo(out, *v, false);
  }
  for (const auto& qa : p.quantization_annotation()) {
    TensorAnnotation a;
    a.tensorName = qa.tensor_name();
    for (const auto& kv : qa.quant_parameter_tensor_names()) a.quantParameterTensorNames.emplace_back(kv.key(), kv.value());
    g.quantizationAnnotations().push_back(std::move(a));
  }
  return Status::ok();
}

Status Importer::createNodeOutputs(google::protobuf::RepeatedPtrField<onnx::NodeProto>& nodes, Graph& g) {
  for (const auto& np : nodes) {
    if (np.op_type().empty()) return fail(fmt::format("node '{}' has no op_type", np.name()));
    std::vector<std::string> names(np.output().begin(), np.output().end());
    for (const auto& name : names) {
      if (name.empty()) continue;
      if (Value* clash = g.findValue(name)) {
        std::string what = clash->producer() ? "node " + clash->producer()->describe()
                           : clash->isGraphInput() ? std::string("a graph input")
                                                   : std::string("an initializer");
        return fail(fmt::format("node {} '{}' output '{}' is already produced by {}", np.op_type(),
                                np.name(), name, what));
      }
    }
    Node* n = g.createNodeWithOutputs(np.op_type(), np.domain(), names);
    n->setName(np.name());
  }
  return Status::ok();
}

Status Importer::wireNodes(google::protobuf::RepeatedPtrField<onnx::NodeProto>& nodes, Graph& g) {
  std::vector<Node*> list = g.nodeList();
  for (int k = 0; k < nodes.size(); ++k) {
    onnx::NodeProto& np = nodes[k];
    Node* n = list[k];
    n->setDocString(np.doc_string());
    n->unknownFields() = serializeUnknown(np.unknown_fields());
    for (const auto& in : np.input()) {
      if (in.empty()) {
        n->addInput(nullptr);
        continue;
      }
      Value* v = g.lookup(in);
      if (!v) return fail(fmt::format("node {} input '{}' refers to nothing", n->describe(), in));
      n->addInput(v);
    }
    for (auto& ap : *np.mutable_attribute()) {
      Attribute a;
      RETURN_IF_ERROR(importAttribute(ap, g, a).withContext("node " + n->describe()));
      n->attributes().push_back(std::move(a));
    }
  }
  return Status::ok();
}

Status Importer::importAttribute(onnx::AttributeProto& p, Graph& owner, Attribute& a) {
  a.name = p.name();
  a.docString = p.doc_string();
  a.refAttrName = p.ref_attr_name();
  a.kind = static_cast<Attribute::Kind>(p.type());
  a.f = p.f();
  a.i = p.i();
  a.s = p.s();
  a.floats.assign(p.floats().begin(), p.floats().end());
  a.ints.assign(p.ints().begin(), p.ints().end());
  a.strings.assign(p.strings().begin(), p.strings().end());
  auto addGraph = [&](onnx::GraphProto& gp) -> Status {
    auto sub = std::make_unique<Graph>(&owner);
    RETURN_IF_ERROR(importGraph(gp, *sub));
    a.graphs.push_back(std::move(sub));
    return Status::ok();
  };
  if (p.has_t()) {
    ASSIGN_OR_RETURN(Tensor t, importTensor(*p.mutable_t()));
    a.tensors.push_back(std::move(t));
  }
  for (auto& tp : *p.mutable_tensors()) {
    ASSIGN_OR_RETURN(Tensor t, importTensor(tp));
    a.tensors.push_back(std::move(t));
  }
  if (p.has_g()) RETURN_IF_ERROR(addGraph(*p.mutable_g()));
  for (auto& gp : *p.mutable_graphs()) RETURN_IF_ERROR(addGraph(gp));
  if (p.has_sparse_tensor()) {
    SparseTensor s;
    RETURN_IF_ERROR(importSparse(*p.mutable_sparse_tensor(), s));
    a.sparseTensors.push_back(std::move(s));
  }
  for (auto& sp : *p.mutable_sparse_tensors()) {
    SparseTensor s;
    RETURN_IF_ERROR(importSparse(sp, s));
    a.sparseTensors.push_back(std::move(s));
  }
  if (p.has_tp()) a.types.push_back(importType(p.tp()));
  for (const auto& tp : p.type_protos()) a.types.push_back(importType(tp));
  return Status::ok();
}

Status Importer::importSparse(onnx::SparseTensorProto& p, SparseTensor& s) {
  ASSIGN_OR_RETURN(s.values, importTensor(*p.mutable_values()));
  ASSIGN_OR_RETURN(s.indices, importTensor(*p.mutable_indices()));
  s.dims.assign(p.dims().begin(), p.dims().end());
  return Status::ok();
}

Expected<Tensor> Importer::importTensor(onnx::TensorProto& p) {
  Tensor t;
  t.setName(p.name());
  t.setDocString(p.doc_string());
  const std::string who = "tensor '" + p.name() + "'";
  if (!isKnownDataType(p.data_type()))
    return fail(fmt::format("{} has unknown data type {}", who, p.data_type()));
  const auto dtype = static_cast<DataType>(p.data_type());
  std::vector<int64_t> dims(p.dims().begin(), p.dims().end());
  int64_t numel = 1;
  for (int64_t d : dims) {
    if (d < 0) return fail(fmt::format("{} has a negative dim {}", who, d));
    if (d > 0 && numel > INT64_MAX / d) return fail(fmt::format("{} has an element count that overflows", who));
    numel *= d;
  }
  if (p.has_segment()) {
    t.origin().hasSegment = true;
    t.origin().segmentBegin = p.segment().begin();
    t.origin().segmentEnd = p.segment().end();
  }
  const size_t needed = dataTypeStorageBytes(dtype, numel);
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    RETURN_IF_ERROR(loadExternal(p, t, needed));
    t.setMapped(dtype, std::move(dims), mapped_.at(t.origin().externalLocation),
                static_cast<size_t>(t.origin().externalOffset), needed);
    return t;
  }
  if (dtype == DataType::String) {
    if (p.string_data_size() != numel)
      return fail(fmt::format("{} has {} strings but dims need {}", who, p.string_data_size(), numel));
    t.setBytes(dtype, std::move(dims), {});
    t.strings().assign(p.string_data().begin(), p.string_data().end());
    t.origin().encoding = TensorOrigin::Encoding::TypedFields;
    return t;
  }
  if (p.has_raw_data()) {
    if (p.raw_data().size() != needed)
      return fail(fmt::format("{}: raw_data has {} bytes but {} x {} needs {}", who, p.raw_data().size(), numel,
                              dataTypeName(dtype), needed));
    std::vector<uint8_t> bytes(p.raw_data().begin(), p.raw_data().end());
    p.clear_raw_data();
    t.setBytes(dtype, std::move(dims), std::move(bytes));
    return t;
  }
  t.origin().encoding = TensorOrigin::Encoding::TypedFields;
  t.setBytes(dtype, std::move(dims), {});
  RETURN_IF_ERROR(importTypedFields(p, t, static_cast<size_t>(numel)));
  return t;
}

template <typename Src>
bool copyTyped(const google::protobuf::RepeatedField<Src>& src, size_t count, int elementBytes,
               std::vector<uint8_t>& out) {
  if (static_cast<size_t>(src.size()) != count) return false;
  out.resize(count * elementBytes);
  for (size_t i = 0; i < count; ++i) {
    if (elementBytes == static_cast<int>(sizeof(Src))) {
      std::memcpy(out.data() + i * elementBytes, &src.Get(i), elementBytes);
    } else {  // narrow: little-endian truncation of an int32 / uint64 value
      uint64_t v = static_cast<uint64_t>(src.Get(i));
      std::memcpy(out.data() + i * elementBytes, &v, elementBytes);
    }
  }
  return true;
}

Status Importer::importTypedFields(onnx::TensorProto& p, Tensor& t, size_t numel) {
  std::vector<uint8_t> bytes;
  bool ok = true;
  size_t available = 0;
  switch (t.dtype()) {
    case DataType::Float: ok = copyTyped(p.float_data(), numel, 4, bytes); available = p.float_data_size(); break;
    case DataType::Complex64: ok = copyTyped(p.float_data(), numel * 2, 4, bytes); available = p.float_data_size(); break;
    case DataType::Double: ok = copyTyped(p.double_data(), numel, 8, bytes); available = p.double_data_size(); break;
    case DataType::Complex128: ok = copyTyped(p.double_data(), numel * 2, 8, bytes); available = p.double_data_size(); break;
    case DataType::Int64: ok = copyTyped(p.int64_data(), numel, 8, bytes); available = p.int64_data_size(); break;
    case DataType::UInt64: ok = copyTyped(p.uint64_data(), numel, 8, bytes); available = p.uint64_data_size(); break;
    case DataType::UInt32: ok = copyTyped(p.uint64_data(), numel, 4, bytes); available = p.uint64_data_size(); break;
    case DataType::Int4:
    case DataType::UInt4:
    case DataType::Float4E2M1:  // two 4-bit values packed per int32_data entry
      ok = copyTyped(p.int32_data(), (numel + 1) / 2, 1, bytes); available = p.int32_data_size(); break;
    default:
      ok = copyTyped(p.int32_data(), numel, dataTypeBits(t.dtype()) / 8, bytes); available = p.int32_data_size(); break;
  }
  if (!ok)
    return fail(fmt::format("tensor '{}' holds {} values but dims need {}", t.name(), available, numel));
  t.setBytes(t.dtype(), t.dims(), std::move(bytes));
  return Status::ok();
}

Status Importer::loadExternal(onnx::TensorProto& p, Tensor& t, size_t needed) {
  auto& o = t.origin();
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") o.externalLocation = kv.value();
    else if (kv.key() == "offset") o.externalOffset = std::strtoll(kv.value().c_str(), nullptr, 10);
    else if (kv.key() == "length") o.externalLength = std::strtoll(kv.value().c_str(), nullptr, 10);
    else o.externalExtra.emplace_back(kv.key(), kv.value());
  }
  const std::string who = "tensor '" + p.name() + "'";
  if (o.externalLocation.empty()) return fail(who + " has external data without a location");
  fs::path location(o.externalLocation);
  if (location.is_absolute())
    return fail(fmt::format("{}: external data location '{}' is an absolute path", who, o.externalLocation));
  for (const auto& part : location)
    if (part == "..")
      return fail(fmt::format("{}: external data location '{}' escapes the model directory", who, o.externalLocation));
  std::error_code ec;
  fs::path base = fs::weakly_canonical(dir_.empty() ? fs::path(".") : fs::path(dir_), ec);
  fs::path resolved = fs::weakly_canonical(base / location, ec);
  if (ec || !fs::exists(resolved))
    return fail(fmt::format("{}: external data file '{}' not found next to the model", who, o.externalLocation));
  auto rel = resolved.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..")
    return fail(fmt::format("{}: external data location '{}' resolves outside the model directory (symlink?)", who,
                            o.externalLocation));
  auto it = mapped_.find(o.externalLocation);
  if (it == mapped_.end()) {
    ASSIGN_OR_RETURN(auto file, MappedFile::open(resolved.string()));
    it = mapped_.emplace(o.externalLocation, std::move(file)).first;
  }
  if (o.externalOffset < 0) return fail(fmt::format("{}: negative external data offset", who));
  if (o.externalLength >= 0 && static_cast<size_t>(o.externalLength) != needed)
    return fail(fmt::format("{}: external data length {} but dims and dtype need {} bytes", who, o.externalLength, needed));
  if (static_cast<size_t>(o.externalOffset) + needed > it->second->size())
    return fail(fmt::format("{}: external data [{}, +{}) runs past the end of '{}' ({} bytes)", who, o.externalOffset,
                            needed, o.externalLocation, it->second->size()));
  return Status::ok();
}

}  // namespace

Type typeFromProto(const onnx::TypeProto& proto) { return Importer::importType(proto); }

Expected<onnx::ModelProto> readModelProto(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return invalidInput("{}: no such file", path);
  if (fs::is_directory(path, ec)) return invalidInput("{}: is a directory, not an ONNX file", path);
  ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  if (file->size() == 0) return invalidInput("{}: file is empty", path);
  if (file->size() > static_cast<size_t>(INT_MAX))
    return invalidInput("{}: file is larger than protobuf's 2 GB limit; store weights as external data", path);
  onnx::ModelProto proto;
  google::protobuf::io::ArrayInputStream raw(file->data(), static_cast<int>(file->size()));
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT_MAX);
  if (!proto.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
    return invalidInput("{}: not a valid ONNX protobuf (truncated or not an ONNX file)", path);
  return proto;
}

Expected<Tensor> loadTensorFile(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return invalidInput("{}: no such file", path);
  ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  onnx::TensorProto proto;
  if (file->size() > static_cast<size_t>(INT_MAX) || !proto.ParseFromArray(file->data(), static_cast<int>(file->size())))
    return invalidInput("{}: not a serialized ONNX TensorProto", path);
  fs::path dir = fs::path(path).parent_path();
  Importer importer(dir.empty() ? "." : dir.string(), path);
  return importer.importTensor(proto);
}

Expected<Model> modelFromProto(onnx::ModelProto& proto, const std::string& sourceDirectory,
                               const std::string& fileLabel) {
  Model m;
  Importer importer(sourceDirectory, fileLabel);
  RETURN_IF_ERROR(importer.importModel(proto, m));
  return m;
}

}  // namespace onnxpress
