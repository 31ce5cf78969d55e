// fuse-reshape. Tolerance: exact (only shapes change; element order is kept).
#include "PassTestUtil.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/fusion/FuseReshape.h"

using namespace onnxpress;
using namespace onnxpress::test;

TEST(FuseReshape, MergesReshapeChainsKeepingSharedIntermediates) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3,4] X) => (float[4,6] Y, float[6,4] Z)
<int64[2] s1 = {6, 4}, int64[2] s2 = {4, -1}, int64[2] s3 = {0, 4}>
{
  A = Reshape(X, s1)
  Y = Reshape(A, s2)
  B = Reshape(X, s1)
  Z = Reshape(B, s3)
}
)";
  Model before = parseModel(text);
  Model m = parseModel(text);
  FuseReshapePass pass;
  PassResult r = runPassOn(pass, m);
  EXPECT_EQ(statistic(r, "Reshape pairs merged"), 1) << "s3 copies dim 0 of the intermediate: kept";
  EXPECT_EQ(countOps(m, "Reshape"), 3);
  EXPECT_EQ(m.graph().findValue("Y")->producer()->input(0)->name(), "X");
  expectSameOutputs(before, m, 0, 0);
}

TEST(FuseReshape, CombinesUnsqueezeAxesInBothOpsetForms) {
  const char* opset13 = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,1,3,1,1] Y)
<int64[1] a1 = {-1}, int64[2] a2 = {1, 4}>
{
  A = Unsqueeze(X, a1)
  Y = Unsqueeze(A, a2)
}
)";
  Model before = parseModel(opset13);
  Model m = parseModel(opset13);
  FuseReshapePass pass;
  EXPECT_EQ(statistic(runPassOn(pass, m), "Unsqueeze pairs merged"), 1);
  ASSERT_EQ(countOps(m, "Unsqueeze"), 1);
  Node* only = m.graph().findValue("Y")->producer();
  EXPECT_EQ(*intValues(*constantTensor(only->input(1))), (std::vector<int64_t>{1, 3, 4}));
  expectSameOutputs(before, m, 0, 0);

  const char* opset11 = R"(
<ir_version: 6, opset_import: ["" : 11]>
g (float[2,3] X) => (float[1,2,1,3] Y)
{
  A = Unsqueeze<axes = [0]>(X)
  Y = Unsqueeze<axes = [2]>(A)
}
)";
  Model before11 = parseModel(opset11);
  Model m11 = parseModel(opset11);
  FuseReshapePass pass11;
  runPassOn(pass11, m11);
  ASSERT_EQ(countOps(m11, "Unsqueeze"), 1);
  EXPECT_EQ(m11.graph().findValue("Y")->producer()->intsAttr("axes"), (std::vector<int64_t>{0, 2}));
  expectSameOutputs(before11, m11, 0, 0);
}

TEST(FuseReshape, ConstantNodeTargetsAndUnknownOptions) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3,4] X) => (float[24] Y)
{
  s1 = Constant<value = int64[2] {6, 4}>()
  s2 = Constant<value = int64[1] {-1}>()
  A = Reshape(X, s1)
  Y = Reshape(A, s2)
}
)";
  Model before = parseModel(text);
  Model m = parseModel(text);
  FuseReshapePass pass;
  runPassOn(pass, m);
  EXPECT_EQ(countOps(m, "Reshape"), 1);
  expectSameOutputs(before, m, 0, 0);
  EXPECT_FALSE(FuseReshapePass::create({{"depth", "2"}}));
}
