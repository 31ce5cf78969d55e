// eliminate-dead. Tolerance: exact. The pass only deletes; every surviving node,
// tensor and value_info must come out bit-identical, so the test compares the
// whole output proto with the expected model.
#include "TestUtil.h"
#include "onnxpress/passes/cleanup/EliminateDead.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
PassResult runPass(Model& m, EliminateDeadOptions options = {}) {
  EliminateDeadPass pass(options);
  PassContext ctx;
  auto result = pass.run(m, ctx);
  EXPECT_TRUE(result) << result.status().message();
  EXPECT_TRUE(m.graph().verify().isOk()) << m.graph().verify().message();
  return result ? *result : PassResult{};
}
int64_t stat(const PassResult& r, const std::string& name) {
  for (const auto& [k, v] : r.statistics)
    if (k == name) return v;
  return 0;
}
}  // namespace

TEST(EliminateDead, RemovesDeadChainsInitializersValueInfoAndOpsets) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13, "ai.onnx.ml" : 3, "com.example" : 1]>
g (float[2] X) => (float[2] Y)
<float[2] W = {1.0, 2.0}, float[2] Unused = {5.0, 6.0}, float[2] D1, float[2] Ghost>
{
  Y = Add(X, W)
  D1 = Neg(X)
  D2 = Abs(D1)
  D3 = com.example.Custom(D2)
}
)");
  PassResult r = runPass(m);
  EXPECT_EQ(stat(r, "nodes removed"), 3);
  EXPECT_EQ(stat(r, "initializers removed"), 1);
  EXPECT_EQ(stat(r, "value_info entries removed"), 1);  // Ghost; D1's entry died with D1
  EXPECT_EQ(stat(r, "opset imports removed"), 2);
  onnx::ModelProto expected = parseProto(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] X) => (float[2] Y)
<float[2] W = {1.0, 2.0}>
{
  Y = Add(X, W)
}
)");
  std::string diff;
  EXPECT_TRUE(equivalent(expected, toProto(m), &diff)) << diff;
}

TEST(EliminateDead, KeepsOuterValuesReadBySubgraphsAndCleansInsideThem) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[2] X) => (float[2] Y)
{
  A = Neg(X)
  Y = If(c) <
    then_branch = t () => (float[2] o) { dead = Abs(A) o = Relu(A) },
    else_branch = e () => (float[2] o) { o = Identity(X) }
  >
}
)");
  PassResult r = runPass(m);
  EXPECT_EQ(stat(r, "nodes removed"), 1);  // only Abs inside then_branch
  EXPECT_NE(m.graph().findValue("A"), nullptr);
  EXPECT_EQ(m.graph().numNodes(), 2u);
}

TEST(EliminateDead, KeepsUnusedGraphInputsAndReportsNoChangeOnCleanGraphs) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] X, float[2] Spare) => (float[2] Y)
{
  Y = Relu(X)
}
)");
  PassResult r = runPass(m);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(m.graph().inputs().size(), 2u);
}

TEST(EliminateDead, RemovesUncalledFunctionsButKeepsCalledOnes) {
  onnx::ModelProto proto = parseProto(R"(
<ir_version: 8, opset_import: ["" : 13, "local" : 1]>
g (float[2] X) => (float[2] Y)
{
  Y = local.Used(X)
}
)");
  for (const char* name : {"Used", "Unused"}) {
    onnx::FunctionProto* f = proto.add_functions();
    ASSERT_TRUE(onnx::OnnxParser::Parse(*f, (std::string("<domain: \"local\", opset_import: [\"\" : 13]>\n") + name +
                                             " (x) => (y) { y = Relu(x) }").c_str()).IsOK());
  }
  auto model = modelFromProto(proto, ".", "<test>");
  ASSERT_TRUE(model) << model.status().message();
  PassResult r = runPass(*model);
  EXPECT_EQ(stat(r, "functions removed"), 1);
  ASSERT_EQ(model->functions.size(), 1u);
  EXPECT_EQ(model->functions[0].name, "Used");
  EXPECT_EQ(model->opsetVersion("local"), 1);  // still used by the call

  Model keep = std::move(*modelFromProto(proto, ".", "<test>"));
  EliminateDeadOptions noFunctions;
  noFunctions.functions = false;
  runPass(keep, noFunctions);
  EXPECT_EQ(keep.functions.size(), 2u);
}
