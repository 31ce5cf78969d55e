// Every model in the ONNX conformance data must survive import -> export unchanged:
// the same graph, every field, and every tensor bit for bit.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "onnxpress/io/Proto.h"

namespace fs = std::filesystem;
using namespace onnxpress;

namespace {
std::vector<fs::path> conformanceModels() {
  std::vector<fs::path> out;
  fs::path root = ONNXPRESS_TESTDATA_DIR;
  if (!fs::exists(root)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.path().extension() == ".onnx") out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST(RoundTrip, EveryConformanceModelIsReproducedExactly) {
  auto models = conformanceModels();
  if (models.empty()) GTEST_SKIP() << "libonnx-testdata not installed at " << ONNXPRESS_TESTDATA_DIR;
  size_t identical = 0;
  for (const auto& path : models) {
    auto original = readModelProto(path.string());
    ASSERT_TRUE(original) << original.status().message();
    onnx::ModelProto input = *original;  // the importer consumes its argument
    auto model = modelFromProto(input, path.parent_path().string(), path.string());
    if (!model) {
      ADD_FAILURE() << path << ": import failed: " << model.status().message();
      continue;
    }
    ASSERT_TRUE(model->graph().verify().isOk()) << path << ": " << model->graph().verify().message();
    auto exported = modelToProto(*model);
    ASSERT_TRUE(exported) << exported.status().message();
    google::protobuf::util::MessageDifferencer diff;
    diff.set_message_field_comparison(google::protobuf::util::MessageDifferencer::EQUIVALENT);
    std::string report;
    diff.ReportDifferencesToString(&report);
    if (diff.Compare(*original, *exported)) {
      ++identical;
    } else {
      ADD_FAILURE() << path << " differs after round trip:\n" << report.substr(0, 2000);
    }
  }
  std::cout << "round trip: " << identical << " of " << models.size() << " conformance models identical\n";
  EXPECT_EQ(identical, models.size());
  EXPECT_GE(models.size(), 1000u);
}

// What the conformance data lacks: functions, sparse initializers, metadata, doc
// strings everywhere, annotations, training_info, typed-field tensors of every
// width, 4-bit types, and fields newer than the linked onnx 1.12 schema.
TEST(RoundTrip, PreservesEverythingTheConformanceDataLacks) {
  onnx::ModelProto p;
  p.set_ir_version(10);
  p.set_producer_name("hand");
  p.set_producer_version("1");
  p.set_domain("org.example");
  p.set_model_version(42);
  p.set_doc_string("model doc");
  for (auto [d, v] : std::vector<std::pair<std::string, int>>{{"", 21}, {"ai.onnx.ml", 4}, {"com.microsoft", 1}, {"local", 1}}) {
    auto* o = p.add_opset_import();
    o->set_domain(d);
    o->set_version(v);
  }
  auto* kv = p.add_metadata_props();
  kv->set_key("author");
  kv->set_value("me");
  p.add_training_info()->mutable_algorithm()->set_name("train_graph");
  // A field number onnx 1.12 does not know (as IR 10 writers emit): kept as unknown bytes.
  p.mutable_unknown_fields()->AddVarint(999, 7);

  auto* g = p.mutable_graph();
  g->set_name("main");
  g->set_doc_string("graph doc");
  auto* in = g->add_input();
  in->set_name("X");
  in->set_doc_string("input doc");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(1);
  auto* d0 = tt->mutable_shape()->add_dim();
  d0->set_dim_param("batch");
  d0->set_denotation("DATA_BATCH");
  tt->mutable_shape()->add_dim();  // unknown dim
  auto* seq = g->add_input();
  seq->set_name("S");
  seq->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(7);
  auto* node = g->add_node();
  node->set_op_type("MyOp");
  node->set_domain("local");
  node->set_name("call");
  node->set_doc_string("node doc");
  node->add_input("X");
  node->add_input("");
  node->add_input("sp");
  node->add_output("Y");
  node->add_output("");
  node->mutable_unknown_fields()->AddLengthDelimited(9, "future metadata");
  auto* attr = node->add_attribute();
  attr->set_name("alpha");
  attr->set_type(onnx::AttributeProto::FLOAT);
  attr->set_f(0.5f);
  attr->set_doc_string("attr doc");
  auto* tp = node->add_attribute();
  tp->set_name("kind");
  tp->set_type(onnx::AttributeProto::TYPE_PROTO);
  tp->mutable_tp()->mutable_optional_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(10);
  g->add_output()->set_name("Y");
  auto* vi = g->add_value_info();
  vi->set_name("Y");
  vi->mutable_type()->mutable_tensor_type()->set_elem_type(1);
  auto* qa = g->add_quantization_annotation();
  qa->set_tensor_name("Y");
  auto* qkv = qa->add_quant_parameter_tensor_names();
  qkv->set_key("SCALE_TENSOR");
  qkv->set_value("y_scale");

  auto addTyped = [&](const std::string& name, int dtype, std::vector<int64_t> dims) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(dtype);
    for (int64_t dd : dims) t->add_dims(dd);
    return t;
  };
  auto* i8 = addTyped("i8", onnx::TensorProto::INT8, {3});
  for (int v : {-128, -1, 127}) i8->add_int32_data(v);
  auto* u16 = addTyped("u16", onnx::TensorProto::UINT16, {2});
  for (int v : {0, 65535}) u16->add_int32_data(v);
  auto* f16 = addTyped("f16", onnx::TensorProto::FLOAT16, {2});
  for (int v : {0x3c00, 0xfbff}) f16->add_int32_data(v);
  auto* b = addTyped("b", onnx::TensorProto::BOOL, {2});
  for (int v : {1, 0}) b->add_int32_data(v);
  auto* dbl = addTyped("dbl", onnx::TensorProto::DOUBLE, {1});
  dbl->add_double_data(3.25);
  auto* u64 = addTyped("u64", onnx::TensorProto::UINT64, {1});
  u64->add_uint64_data(~uint64_t{0});
  auto* u32 = addTyped("u32", onnx::TensorProto::UINT32, {1});
  u32->add_uint64_data(0xffffffffu);
  auto* c64 = addTyped("c64", onnx::TensorProto::COMPLEX64, {1});
  c64->add_float_data(1.0f);
  c64->add_float_data(-2.0f);
  auto* str = addTyped("str", onnx::TensorProto::STRING, {2});
  str->add_string_data("hello");
  str->add_string_data(std::string("\0bin", 4));
  auto* i4 = addTyped("i4", 22 /* INT4, IR 10 */, {3});
  i4->set_raw_data(std::string("\x21\x0f", 2));
  auto* empty = addTyped("empty", onnx::TensorProto::FLOAT, {0, 3});
  (void)empty;
  auto* seg = addTyped("seg", onnx::TensorProto::FLOAT, {1});
  seg->add_float_data(1.0f);
  seg->mutable_segment()->set_begin(0);
  seg->mutable_segment()->set_end(1);
  auto* sp = g->add_sparse_initializer();
  sp->add_dims(4);
  sp->add_dims(4);
  auto* values = sp->mutable_values();
  values->set_name("sp");
  values->set_data_type(1);
  values->add_dims(2);
  values->set_raw_data(std::string("\0\0\x80\x3f\0\0\0\x40", 8));
  auto* indices = sp->mutable_indices();
  indices->set_data_type(7);
  indices->add_dims(2);
  indices->add_int64_data(1);
  indices->add_int64_data(14);

  auto* f = p.add_functions();
  f->set_name("MyOp");
  f->set_domain("local");
  f->set_doc_string("function doc");
  f->add_input("a");
  f->add_input("unused");
  f->add_input("s");
  f->add_output("r");
  f->add_output("r2");
  f->add_attribute("alpha");
  auto* fn = f->add_node();
  fn->set_op_type("LeakyRelu");
  fn->add_input("a");
  fn->add_output("r");
  auto* ref = fn->add_attribute();
  ref->set_name("alpha");
  ref->set_type(onnx::AttributeProto::FLOAT);
  ref->set_ref_attr_name("alpha");
  auto* fn2 = f->add_node();
  fn2->set_op_type("Identity");
  fn2->add_input("r");
  fn2->add_output("r2");
  auto* fo = f->add_opset_import();
  fo->set_domain("");
  fo->set_version(21);

  onnx::ModelProto input = p;
  auto model = modelFromProto(input, ".", "<hand>");
  ASSERT_TRUE(model) << model.status().message();
  ASSERT_TRUE(model->graph().verify().isOk()) << model->graph().verify().message();
  auto exported = modelToProto(*model);
  ASSERT_TRUE(exported) << exported.status().message();
  google::protobuf::util::MessageDifferencer diff;
  diff.set_message_field_comparison(google::protobuf::util::MessageDifferencer::EQUIVALENT);
  std::string report;
  diff.ReportDifferencesToString(&report);
  EXPECT_TRUE(diff.Compare(p, *exported)) << report;
  // Unknown fields are compared too: check they really made it.
  EXPECT_EQ(exported->unknown_fields().field_count(), 1);
  EXPECT_EQ(exported->graph().node(0).unknown_fields().field_count(), 1);
  // And the decoded tensor bytes are right, not just re-encoded the same way.
  const Tensor* i8t = model->graph().findValue("i8")->initializer();
  EXPECT_EQ(std::vector<uint8_t>(i8t->bytes().begin(), i8t->bytes().end()), (std::vector<uint8_t>{0x80, 0xff, 0x7f}));
  const Tensor* f16t = model->graph().findValue("f16")->initializer();
  EXPECT_EQ(f16t->data<uint16_t>()[1], 0xfbff);
  EXPECT_EQ(model->graph().findValue("i4")->initializer()->byteSize(), 2u);
}
