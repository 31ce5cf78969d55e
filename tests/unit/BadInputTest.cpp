// Every kind of bad model gets a one-line InvalidInput error naming the file and
// the problem, never a crash.
#include <unistd.h>

#include "TestUtil.h"
#include "onnxpress/io/ModelIO.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

const char* kGood = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] X) => (float[2] Y)
<float[2] W = {1.0, 2.0}>
{
  T = Add(X, W)
  Y = Relu(T)
}
)";

// Loads `bytes` from a file and returns the error; fails the test if loading succeeds.
Status loadBytes(const TempDir& dir, const std::string& bytes) {
  std::string path = dir.file("model.onnx");
  writeFile(path, bytes);
  auto m = loadModel(path);
  EXPECT_FALSE(m) << "expected an error";
  return m ? Status::ok() : m.status();
}

Status loadProto(const TempDir& dir, const onnx::ModelProto& p) { return loadBytes(dir, p.SerializeAsString()); }

void expectError(const Status& s, const std::string& fragment) {
  EXPECT_EQ(s.code(), ErrorCode::InvalidInput) << s.message();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << "message: " << s.message();
  EXPECT_EQ(s.message().find('\n'), std::string::npos) << "not one line: " << s.message();
}

}  // namespace

TEST(BadInput, FileLevelProblems) {
  TempDir dir;
  expectError(loadModel(dir.file("missing.onnx")).status(), "no such file");
  expectError(loadModel(dir.path().string()).status(), "is a directory");
  expectError(loadBytes(dir, ""), "file is empty");
  std::string good = parseProto(kGood).SerializeAsString();
  expectError(loadBytes(dir, good.substr(0, good.size() / 2)), "not a valid ONNX protobuf");
  expectError(loadBytes(dir, "this is plain text, not a model\n"), "model.onnx");
  expectError(loadBytes(dir, std::string("\x08\x07", 2)), "no graph");  // ir_version only
}

TEST(BadInput, GraphStructureProblems) {
  TempDir dir;
  onnx::ModelProto cycle = parseProto(kGood);
  cycle.mutable_graph()->mutable_node(0)->set_input(0, "Y");  // Add reads Relu's output
  expectError(loadProto(dir, cycle), "cycle");

  onnx::ModelProto dangling = parseProto(kGood);
  dangling.mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
  expectError(loadProto(dir, dangling), "input 'nowhere' refers to nothing");

  onnx::ModelProto duplicate = parseProto(kGood);
  duplicate.mutable_graph()->mutable_node(1)->set_output(0, "T");
  expectError(loadProto(dir, duplicate), "output 'T' is already produced");

  onnx::ModelProto badOutput = parseProto(kGood);
  badOutput.mutable_graph()->mutable_output(0)->set_name("ghost");
  expectError(loadProto(dir, badOutput), "graph output 'ghost' refers to nothing");
}

TEST(BadInput, TensorProblems) {
  TempDir dir;
  onnx::ModelProto rawSize = parseProto(kGood);
  auto* w = rawSize.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_raw_data(std::string(7, '\0'));  // 2 floats need 8 bytes
  expectError(loadProto(dir, rawSize), "raw_data has 7 bytes");

  onnx::ModelProto negative = parseProto(kGood);
  negative.mutable_graph()->mutable_initializer(0)->set_dims(0, -2);
  expectError(loadProto(dir, negative), "negative dim");

  onnx::ModelProto typedCount = parseProto(kGood);
  typedCount.mutable_graph()->mutable_initializer(0)->add_float_data(3.0f);
  expectError(loadProto(dir, typedCount), "holds 3 values but dims need 2");

  onnx::ModelProto badType = parseProto(kGood);
  badType.mutable_graph()->mutable_initializer(0)->set_data_type(99);
  expectError(loadProto(dir, badType), "unknown data type 99");
}

TEST(BadInput, IrVersions) {
  TempDir dir;
  for (int64_t bad : {int64_t{0}, int64_t{2}, int64_t{11}, int64_t{99}}) {
    onnx::ModelProto p = parseProto(kGood);
    p.set_ir_version(bad);
    expectError(loadProto(dir, p), "unsupported IR version " + std::to_string(bad));
  }
  for (int64_t ok = kMinIrVersion; ok <= kMaxIrVersion; ++ok) {
    onnx::ModelProto p = parseProto(kGood);
    p.set_ir_version(ok);
    std::string path = dir.file("ok.onnx");
    writeFile(path, p.SerializeAsString());
    EXPECT_TRUE(loadModel(path)) << "IR " << ok;
  }
}

TEST(BadInput, ExternalDataThatEscapesTheModelDirectory) {
  TempDir outside, dir;
  writeFile(outside.file("secret.bin"), std::string(8, 'x'));
  auto withLocation = [&](const std::string& location) {
    onnx::ModelProto p = parseProto(kGood);
    auto* w = p.mutable_graph()->mutable_initializer(0);
    w->clear_float_data();
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = w->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    return p;
  };
  expectError(loadProto(dir, withLocation(outside.file("secret.bin"))), "absolute path");
  expectError(loadProto(dir, withLocation("../x/secret.bin")), "escapes the model directory");
  ASSERT_EQ(::symlink(outside.file("secret.bin").c_str(), dir.file("link.bin").c_str()), 0);
  expectError(loadProto(dir, withLocation("link.bin")), "resolves outside the model directory");
  expectError(loadProto(dir, withLocation("absent.bin")), "not found");
  writeFile(dir.file("short.bin"), std::string(4, 'x'));
  expectError(loadProto(dir, withLocation("short.bin")), "runs past the end");
}
