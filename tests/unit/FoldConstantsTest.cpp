// fold-constants. Tolerance: exact (rtol = atol = 0). Folded values come from the
// runtime's own kernels and shape arithmetic is integer, so the folded model must
// reproduce the original's outputs bit for bit.
#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/cleanup/FoldConstants.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
PassResult fold(Model& m, FoldConstantsOptions options = {}) {
  FoldConstantsPass pass(options);
  return runPassOn(pass, m);
}
}  // namespace

TEST(FoldConstants, FoldsInitializerChainsAndDropsTheirInputs) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
<float[3,2] W = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, float[3] B = {0.5, -1.0, 2.0}>
{
  Wt = Transpose(W)
  S = Add(Wt, B)
  Y = Mul(X, S)
}
)");
  Model before = m.clone();
  PassResult r = fold(m);
  EXPECT_EQ(statistic(r, "nodes folded"), 2);
  EXPECT_EQ(countOps(m, "Transpose"), 0);
  EXPECT_EQ(countOps(m, "Add"), 0);
  EXPECT_EQ(m.graph().numNodes(), 1u);
  // The folded value keeps its name; W and B lost their last reader and are gone.
  ASSERT_EQ(m.graph().initializers().size(), 1u);
  EXPECT_EQ(m.graph().initializers()[0]->name(), "S");
  const Tensor* s = constantTensor(m.graph().findValue("S"));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->dims(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(*floatValues(*s), (std::vector<float>{1.5f, 2.0f, 7.0f, 2.5f, 3.0f, 8.0f}));
  expectSameOutputs(before, m, 0, 0);
}

TEST(FoldConstants, FoldsConstantNodesIncludingScalarForms) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4] X) => (float[4] Y)
{
  k = Constant<value = float[4] {1.0, 2.0, 3.0, 4.0}>()
  two = Constant<value_float = 2.0>()
  k2 = Mul(k, two)
  Y = Add(X, k2)
}
)");
  Model before = m.clone();
  PassResult r = fold(m);
  EXPECT_EQ(statistic(r, "nodes folded"), 1);
  EXPECT_EQ(countOps(m, "Constant"), 0);  // both lost their only reader
  EXPECT_EQ(countOps(m, "Mul"), 0);
  EXPECT_EQ(countOps(m, "Add"), 1);
  expectSameOutputs(before, m, 0, 0);
}

TEST(FoldConstants, FoldsShapeQueriesOfStaticDimsEvenWithSymbolicBatch) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[N,3,8] X) => (float[N,24] Y, int64[2] Z)
<int64 i0 = {0}, int64 i1 = {1}, int64 i2 = {2}, int64[1] ax0 = {0}>
{
  s = Shape(X)
  n = Gather<axis = 0>(s, i0)
  c = Gather<axis = 0>(s, i1)
  w = Gather<axis = 0>(s, i2)
  cw = Mul(c, w)
  n1 = Unsqueeze(n, ax0)
  cw1 = Unsqueeze(cw, ax0)
  shape = Concat<axis = 0>(n1, cw1)
  Y = Reshape(X, shape)
  Z = Shape<start = 1>(X)
}
)";
  Model m = parseModel(text);
  Model before = m.clone();
  PassResult r = fold(m);
  EXPECT_EQ(statistic(r, "shape ops folded"), 3);  // Gather 1, Gather 2, Shape<start=1>
  EXPECT_EQ(statistic(r, "nodes folded"), 2);      // Mul, then Unsqueeze of the product
  EXPECT_EQ(countOps(m, "Shape"), 1);              // N stays symbolic
  EXPECT_EQ(countOps(m, "Gather"), 1);
  EXPECT_EQ(countOps(m, "Mul"), 0);
  EXPECT_EQ(countOps(m, "Unsqueeze"), 1);
  // Z is a graph output: it keeps its name and becomes a Constant node.
  Value* z = m.graph().outputs()[1];
  EXPECT_EQ(z->name(), "Z");
  ASSERT_NE(z->producer(), nullptr);
  EXPECT_EQ(z->producer()->opType(), "Constant");
  EXPECT_EQ(*intValues(*constantTensor(z)), (std::vector<int64_t>{3, 8}));
  const Tensor* product = constantTensor(m.graph().findValue("cw1"));
  ASSERT_NE(product, nullptr);
  EXPECT_EQ(*intValues(*product), (std::vector<int64_t>{24}));
  expectSameOutputs(before, m, 0, 0);

  Model untouched = parseModel(text);
  FoldConstantsOptions noShapes;
  noShapes.shapes = false;
  PassResult r2 = fold(untouched, noShapes);
  EXPECT_FALSE(r2.changed);
  EXPECT_EQ(countOps(untouched, "Gather"), 3);
}

TEST(FoldConstants, RefusesBlowUpsBeyondMaxElementsButFoldsSameSizeResults) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1] X) => (float[100,100] Y, float[4,5] T)
<int64[2] shape = {100, 100}, float[5,4] W = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0,
                                             11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0}>
{
  big = ConstantOfShape<value = float[1] {1.0}>(shape)
  Y = Add(big, X)
  Wt = Transpose(W)
  T = Mul(Wt, X)
}
)";
  Model m = parseModel(text);
  Model before = m.clone();
  FoldConstantsOptions small;
  small.allowGrowth = true;
  small.maxElements = 10;
  PassResult r = fold(m, small);
  EXPECT_EQ(statistic(r, "nodes folded"), 1);  // Transpose: 20 elements out of 20 in
  EXPECT_EQ(countOps(m, "ConstantOfShape"), 1);
  EXPECT_EQ(countOps(m, "Transpose"), 0);
  expectSameOutputs(before, m, 0, 0);

  Model growing = parseModel(text);
  FoldConstantsOptions allow;
  allow.allowGrowth = true;
  PassResult r2 = fold(growing, allow);
  EXPECT_EQ(statistic(r2, "nodes folded"), 2);  // 10000 elements is within max-elements
  EXPECT_EQ(countOps(growing, "ConstantOfShape"), 0);
  expectSameOutputs(before, growing, 0, 0);

  // By default the model never grows: 40 KB of ones from a 16-byte shape stay computed,
  // the Transpose (80 bytes out for the 80 bytes it frees) folds.
  Model defaults = parseModel(text);
  PassResult r3 = fold(defaults);
  EXPECT_EQ(statistic(r3, "nodes folded"), 1);
  EXPECT_GE(statistic(r3, "folds refused (the model would grow)"), 1);  // once per sweep
  EXPECT_EQ(countOps(defaults, "ConstantOfShape"), 1);
  EXPECT_EQ(countOps(defaults, "Transpose"), 0);
  expectSameOutputs(before, defaults, 0, 0);
}

TEST(FoldConstants, NeverGrowsAWeightThatOtherNodesStillRead) {
  // W is read by the Transpose and by Mul: folding the Transpose would store W twice.
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[32,32] X) => (float[32,32] Y, float[32,32] Z)
<float[32,32] W = $w$>
{
  Wt = Transpose(W)
  Y = MatMul(X, Wt)
  Z = Mul(X, W)
}
)", {{"$w$", seededLiteral(1024, 3)}}).c_str());
  PassResult r = fold(m);
  EXPECT_EQ(statistic(r, "nodes folded"), 0);
  EXPECT_EQ(countOps(m, "Transpose"), 1);
}

TEST(FoldConstants, LeavesRandomQdqForeignAndConstantNodesAlone) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13, "com.example" : 1]>
g (float[4] X) => (float[4] Y, float[2,2] R, float[4] F, float[2] K)
<float[4] W = {1.0, 2.0, 3.0, 4.0}, float s = {0.5}, uint8 z = {3}>
{
  q = QuantizeLinear(W, s, z)
  dq = DequantizeLinear(q, s, z)
  Y = Add(X, dq)
  R = RandomNormal<shape = [2, 2]>()
  F = com.example.Foo(W)
  K = Constant<value = float[2] {1.0, 2.0}>()
}
)");
  PassResult r = fold(m);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(countOps(m, "QuantizeLinear"), 1);
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 1);
  EXPECT_EQ(countOps(m, "RandomNormal"), 1);
  EXPECT_EQ(countOps(m, "Foo"), 1);
  EXPECT_EQ(countOps(m, "Constant"), 1);
}

TEST(FoldConstants, FoldsInsideSubgraphsReadingOuterConstants) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[2] X) => (float[2] Y)
<float[2] W = {1.0, 2.0}>
{
  Y = If(c) <
    then_branch = t () => (float[2] o) { k = Constant<value = float[2] {3.0, 4.0}>() kw = Mul(W, k) o = Add(X, kw) },
    else_branch = e () => (float[2] o) { o = Neg(W) }
  >
}
)");
  Model before = m.clone();
  PassResult r = fold(m);
  EXPECT_EQ(statistic(r, "nodes folded"), 2);
  EXPECT_EQ(countOps(m, "Mul"), 0);
  EXPECT_EQ(countOps(m, "Neg"), 0);
  EXPECT_TRUE(m.graph().initializers().empty());  // W's readers were both folded
  ASSERT_EQ(m.graph().numNodes(), 1u);
  std::vector<Graph*> branches = m.graph().nodeList()[0]->subgraphs();
  ASSERT_EQ(branches.size(), 2u);
  ASSERT_EQ(branches[0]->initializers().size(), 1u);
  EXPECT_EQ(branches[0]->initializers()[0]->name(), "kw");
  EXPECT_EQ(*floatValues(*branches[0]->initializers()[0]->initializer()), (std::vector<float>{3.0f, 8.0f}));
  // The else branch's output was folded: a Constant node now computes it.
  ASSERT_EQ(branches[1]->numNodes(), 1u);
  EXPECT_EQ(branches[1]->nodeList()[0]->opType(), "Constant");
  expectSameOutputsOnBothBranches(before, m, 0, 0);
}

TEST(FoldConstants, RejectsBadOptions) {
  auto negative = FoldConstantsPass::create({{"max-elements", "-1"}});
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.status().code(), ErrorCode::Usage);
  EXPECT_NE(negative.status().message().find("max-elements"), std::string::npos) << negative.status().message();
  auto notBool = FoldConstantsPass::create({{"shapes", "maybe"}});
  ASSERT_FALSE(notBool);
  EXPECT_EQ(notBool.status().code(), ErrorCode::Usage);
  auto fine = FoldConstantsPass::create({{"max-elements", "0"}, {"shapes", "false"}});
  EXPECT_TRUE(fine) << fine.status().message();
}
