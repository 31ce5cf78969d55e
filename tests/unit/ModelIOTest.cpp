// Saving: external data, atomic writes, and summary counts on messy models.
#include <sys/stat.h>

#include "TestUtil.h"
#include "onnxpress/analysis/ModelSummary.h"
#include "onnxpress/io/ModelIO.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
Model modelWithWeights(int64_t n) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N] X) => (float[N] Y) { Y = Relu(X) }
)");
  std::vector<float> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = static_cast<float>(i) * 0.5f;
  Tensor t = Tensor::fromValues(DataType::Float, {n}, values);
  t.setName("W");
  Value* w = m.graph().addInitializer(std::move(t));
  Node* node = m.graph().findValue("Y")->producer();
  node->setOpType("Add");
  node->addInput(w);
  return m;
}
}  // namespace

TEST(ModelIO, ExternalDataIsWrittenAlignedAndReadBackMapped) {
  TempDir dir;
  Model m = modelWithWeights(10000);
  SaveOptions options;
  options.externalData = SaveOptions::ExternalData::Always;
  ASSERT_TRUE(saveModel(m, dir.file("m.onnx"), options).isOk());
  struct stat st {};
  ASSERT_EQ(::stat(dir.file("m.onnx.data").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 40000);
  auto back = loadModel(dir.file("m.onnx"));
  ASSERT_TRUE(back) << back.status().message();
  const Tensor* w = back->graph().findValue("W")->initializer();
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->isMapped());
  EXPECT_TRUE(w->sameContents(*m.graph().findValue("W")->initializer()));
  EXPECT_EQ(externalDataFiles(*back), std::vector<std::string>{"m.onnx.data"});
  ASSERT_EQ(::stat(dir.file("m.onnx").c_str(), &st), 0);
  EXPECT_LT(st.st_size, 1000);  // weights are not inline

  // Re-saving inline from the mapped model gives the same bytes.
  ASSERT_TRUE(saveModel(*back, dir.file("inline.onnx")).isOk());
  auto inlined = loadModel(dir.file("inline.onnx"));
  ASSERT_TRUE(inlined);
  EXPECT_FALSE(inlined->graph().findValue("W")->initializer()->isMapped());
  EXPECT_TRUE(inlined->graph().findValue("W")->initializer()->sameContents(*w));
}

TEST(ModelIO, RefusesToOverwriteTheInputsExternalData) {
  TempDir dir;
  Model m = modelWithWeights(1000);
  SaveOptions options;
  options.externalData = SaveOptions::ExternalData::Always;
  ASSERT_TRUE(saveModel(m, dir.file("m.onnx"), options).isOk());
  auto back = loadModel(dir.file("m.onnx"));
  ASSERT_TRUE(back);
  options.externalFileName = "m.onnx.data";
  Status s = saveModel(*back, dir.file("other.onnx"), options);
  EXPECT_EQ(s.code(), ErrorCode::Usage);
  EXPECT_NE(s.message().find("refusing to overwrite"), std::string::npos);
}

TEST(ModelIO, FailedSaveLeavesNoPartialFile) {
  TempDir dir;
  Model m = modelWithWeights(10);
  Status s = saveModel(m, dir.file("no/such/dir/m.onnx"));
  EXPECT_FALSE(s.isOk());
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 0u);
}

TEST(ModelSummary, CountsConstantNodesAndSubgraphWeightsOnce) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[2] X) => (float[2] Y, float[2] Z)
<float[2] W = {1.0, 2.0}>
{
  K = Constant<value_floats = [1.0, 2.0, 3.0]>()
  A = Add(X, W)
  B = Mul(A, W)
  Y = If(c) <
    then_branch = t () => (float[2] o) { k = Constant<value = float[2] {3.0, 4.0}>() o = Mul(B, k) },
    else_branch = e () => (float[2] o) { o = Identity(B) }
  >
  Z = Identity(K)
}
)");
  ModelSummary s = summarizeModel(m);
  EXPECT_EQ(s.parameterCount, 2 + 3 + 2);  // W once despite two users, K, k in then_branch
  EXPECT_EQ(s.initializerTensors, 1);
  EXPECT_EQ(s.constantNodeTensors, 2);
  EXPECT_EQ(s.subgraphConstantTensors, 1);
  EXPECT_EQ(s.parametersByDtype.at("float32").bytes, 7 * 4);
  EXPECT_EQ(s.nodeCount, 5);
  EXPECT_EQ(s.subgraphNodeCount, 3);
  EXPECT_EQ(s.subgraphCount, 2);
  EXPECT_EQ(s.opHistogram.at("Identity"), 1);
  EXPECT_EQ(s.subgraphOpHistogram.at("Identity"), 1);
  ASSERT_EQ(s.inputs.size(), 2u);
  EXPECT_EQ(s.inputs[1].dims, (std::vector<std::string>{"2"}));
}
