// cse. Tolerance: exact (merged nodes computed bit-identical values).
#include "PassTestUtil.h"
#include "onnxpress/passes/cleanup/CommonSubexpressions.h"

using namespace onnxpress;
using namespace onnxpress::test;

TEST(CommonSubexpressions, MergesChainsButNotDifferentAttributesOrRandomOps) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y, float[3,2] Z, float[2,3] R)
{
  a1 = Relu(X)
  a2 = Relu(X)
  b1 = Neg(a1)
  b2 = Neg(a2)
  Y = Add(b1, b2)
  t1 = Transpose<perm = [1, 0]>(X)
  t2 = Transpose<perm = [1, 0]>(X)
  Z = Sub(t1, t2)
  r1 = RandomUniformLike(X)
  r2 = RandomUniformLike(X)
  R = Sub(r1, r2)
}
)";
  Model before = parseModel(text);
  Model m = parseModel(text);
  CommonSubexpressionsPass pass;
  PassResult r = runPassOn(pass, m);
  EXPECT_EQ(statistic(r, "nodes merged"), 3) << "Relu, then the Neg pair it exposes, then Transpose";
  EXPECT_EQ(countOps(m, "Relu"), 1);
  EXPECT_EQ(countOps(m, "Neg"), 1);
  EXPECT_EQ(countOps(m, "Transpose"), 1);
  EXPECT_EQ(countOps(m, "RandomUniformLike"), 2);
}

TEST(CommonSubexpressions, KeepsGraphOutputsAndComparesTensorAttributes) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] X) => (float[2] Y1, float[2] Y2, float[2] S)
{
  Y1 = Relu(X)
  Y2 = Relu(X)
  c1 = ConstantOfShape<value = float[1] {2.0}>(X_shape)
  X_shape = Shape(X)
  c2 = ConstantOfShape<value = float[1] {3.0}>(X_shape)
  S = Add(c1, c2)
}
)";
  Model before = parseModel(text);
  Model m = parseModel(text);
  CommonSubexpressionsPass pass;
  PassResult r = runPassOn(pass, m);
  EXPECT_EQ(statistic(r, "nodes merged"), 0) << "both Relus are graph outputs; the fills differ";
  EXPECT_EQ(countOps(m, "ConstantOfShape"), 2);
  expectSameOutputs(before, m, 0, 0);
  EXPECT_FALSE(CommonSubexpressionsPass::create({{"aggressive", "true"}}));
}

TEST(CommonSubexpressions, NumericallyIdenticalAfterMerging) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4,3] X) => (float[4,3] Y)
{
  s1 = Sigmoid(X)
  s2 = Sigmoid(X)
  m1 = Mul(X, s1)
  m2 = Mul(X, s2)
  Y = Add(m1, m2)
}
)";
  Model before = parseModel(text);
  Model m = parseModel(text);
  CommonSubexpressionsPass pass;
  EXPECT_EQ(statistic(runPassOn(pass, m), "nodes merged"), 2);
  expectSameOutputs(before, m, 0, 0);
}
