// dedupe-constants. Tolerance: exact (rtol = atol = 0). Only bit-identical tensors
// are merged, so every reader sees the same bytes as before.
#include "BranchTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/passes/cleanup/DedupeConstants.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
PassResult dedupe(Model& m) {
  DedupeConstantsPass pass;
  return runPassOn(pass, m);
}
}  // namespace

TEST(DedupeConstants, MergesInitializersAndConstantNodesIntoTheFirst) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[3] X) => (float[3] Y)
<float[3] W1 = {1.0, 2.0, 3.0}, float[3] W2 = {1.0, 2.0, 3.0}, float[3] W3 = {1.0, 2.0, 4.0}>
{
  k = Constant<value = float[3] {1.0, 2.0, 3.0}>()
  kf = Constant<value_floats = [1.0, 2.0, 3.0]>()
  a = Mul(X, W1)
  b = Add(a, W2)
  c = Sub(b, W3)
  d = Mul(c, k)
  Y = Add(d, kf)
}
)");
  Model before = m.clone();
  PassResult r = dedupe(m);
  EXPECT_EQ(statistic(r, "tensors merged"), 3);  // W2, k, kf
  EXPECT_EQ(statistic(r, "bytes saved"), 36);
  EXPECT_EQ(countOps(m, "Constant"), 0);
  ASSERT_EQ(m.graph().initializers().size(), 2u);
  EXPECT_EQ(m.graph().initializers()[0]->name(), "W1");
  EXPECT_EQ(m.graph().initializers()[1]->name(), "W3");
  Value* w1 = m.graph().findValue("W1");
  EXPECT_EQ(w1->uses().size(), 4u);
  expectSameOutputs(before, m, 0, 0);
}

TEST(DedupeConstants, KeepsOutputsOverridableInitializersAndLookalikes) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] X, float[2] O = {1.0, 2.0}) => (float[1,2] Y, float[2] K)
<float[2] W = {1.0, 2.0}, float[1,2] W12 = {1.0, 2.0}, float Z = {0.0}, int32 Zi = {0}>
{
  K = Constant<value = float[2] {1.0, 2.0}>()
  a = Add(X, W)
  b = Add(a, O)
  c = Add(b, W12)
  d = Add(c, Z)
  e = Cast<to = 1>(Zi)
  Y = Add(d, e)
}
)");
  PassResult r = dedupe(m);
  EXPECT_FALSE(r.changed);  // K is a graph output, O a graph input, the rest differ in dims or dtype
  EXPECT_EQ(countOps(m, "Constant"), 1);
  EXPECT_EQ(m.graph().initializers().size(), 5u);
}

TEST(DedupeConstants, MergesWithinEachSubgraphOnly) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[2] X) => (float[2] Y)
{
  Y = If(c) <
    then_branch = t () => (float[2] o) {
      k1 = Constant<value = float[2] {3.0, 4.0}>()
      k2 = Constant<value = float[2] {3.0, 4.0}>()
      a = Mul(X, k1)
      o = Add(a, k2)
    },
    else_branch = e () => (float[2] o) { k3 = Constant<value = float[2] {3.0, 4.0}>() o = Mul(X, k3) }
  >
}
)");
  Model before = m.clone();
  PassResult r = dedupe(m);
  EXPECT_EQ(statistic(r, "tensors merged"), 1);
  EXPECT_EQ(statistic(r, "bytes saved"), 8);
  EXPECT_EQ(countOps(m, "Constant"), 2);
  Graph* thenBranch = m.graph().nodeList()[0]->subgraphs()[0];
  Value* k1 = thenBranch->findValue("k1");
  ASSERT_NE(k1, nullptr);
  EXPECT_EQ(k1->uses().size(), 2u);
  expectSameOutputsOnBothBranches(before, m, 0, 0);
}

TEST(DedupeConstants, RejectsUnknownOptions) {
  auto created = DedupeConstantsPass::create({{"min-bytes", "16"}});
  ASSERT_FALSE(created);
  EXPECT_EQ(created.status().code(), ErrorCode::Usage);
}
