// convert-opset. Tolerance: exact (1e-6 abs for float noise); adapters only move
// attributes and inputs around, so outputs must not change.
#include "PassTestUtil.h"
#include "onnxpress/passes/conversion/ConvertOpset.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
const char* kSqueezeModel = R"(
<ir_version: 6, opset_import: ["" : 11]>
g (float[1,3,4] X) => (float[3,2] Y)
{
  S = Squeeze<axes = [0]>(X)
  R = ReduceSum<axes = [1], keepdims = 0>(S)
  U = Unsqueeze<axes = [1]>(R)
  Y = Concat<axis = 1>(U, U)
}
)";
}  // namespace

TEST(ConvertOpset, UpgradeMovesAxesToInputsAndKeepsOutputs) {
  Model before = parseModel(kSqueezeModel);
  Model after = parseModel(kSqueezeModel);
  ConvertOpsetPass pass(ConvertOpsetOptions{13});
  PassResult r = runPassOn(pass, after);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(after.opsetVersion(""), 13);
  EXPECT_GE(after.irVersion, 7);
  for (Node* n : after.graph().nodes())
    if (n->opType() == "Squeeze" || n->opType() == "Unsqueeze") {
      EXPECT_EQ(n->attribute("axes"), nullptr) << n->opType();
      EXPECT_EQ(n->numInputs(), 2u) << n->opType();
    }
  expectSameOutputs(before, after, 0, 1e-6);
}

TEST(ConvertOpset, DowngradeKeepsOutputsAndSameTargetIsNoChange) {
  const char* text = R"(
<ir_version: 7, opset_import: ["" : 13]>
g (float[1,3,4] X) => (float[3,4,1] Y)
{
  first = Constant<value = int64[1] {0}>()
  last = Constant<value = int64[1] {2}>()
  S = Squeeze(X, first)
  Y = Unsqueeze(S, last)
}
)";
  Model before = parseModel(text);
  Model m = parseModel(text);
  ConvertOpsetPass down(ConvertOpsetOptions{12});
  PassResult r = runPassOn(down, m);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(m.opsetVersion(""), 12);
  for (Node* n : m.graph().nodes()) EXPECT_NE(n->attribute("axes"), nullptr) << n->opType() << " takes axes as an attribute at 12";
  expectSameOutputs(before, m, 0, 1e-6);
  ConvertOpsetPass same(ConvertOpsetOptions{12});
  EXPECT_FALSE(runPassOn(same, m).changed);
}

TEST(ConvertOpset, UnreachableTargetsAreRefusedWithReason) {
  auto tooNew = ConvertOpsetPass::create({{"target", "99"}});
  ASSERT_FALSE(tooNew);
  EXPECT_NE(tooNew.status().message().find("convert-opset"), std::string::npos);
  EXPECT_NE(tooNew.status().message().find("99"), std::string::npos);
  EXPECT_FALSE(ConvertOpsetPass::create({{"target", "3"}}));
}

TEST(ConvertOpset, OpWithoutAdapterIsNamed) {
  // onnx 1.12 has no adapter taking Concat from opset 13 down to 11.
  Model m = parseModel(R"(
<ir_version: 7, opset_import: ["" : 13]>
g (float[2] X) => (float[4] Y)
{
  Y = Concat<axis = 0>(X, X)
}
)");
  ConvertOpsetPass pass(ConvertOpsetOptions{11});
  PassContext ctx;
  auto r = pass.run(m, ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidInput);
  EXPECT_NE(r.status().message().find("Concat"), std::string::npos) << r.status().message();
  EXPECT_EQ(m.opsetVersion(""), 13) << "a failed conversion leaves the model as it was";
}
