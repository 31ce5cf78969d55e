// fuse-transpose. Tolerance: exact for transposes (they only move elements);
// rtol 1e-5, atol 1e-6 where a Gemm's transA/transB changes its summation order.
#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/passes/fusion/FuseTranspose.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
PassResult runFuseTranspose(Model& m) {
  FuseTransposePass pass;
  return runPassOn(pass, m);
}

}  // namespace

TEST(FuseTranspose, ComposesPairsAsOutputAxisOfInputAxis) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3,4] X) => (float[3,4,2] Y)
{
  T = Transpose <perm = [1,0,2]> (X)
  Y = Transpose <perm = [0,2,1]> (T)
}
)");
  Model before = m.clone();
  PassResult r = runFuseTranspose(m);
  EXPECT_EQ(statistic(r, "Transpose pairs merged"), 1);
  EXPECT_EQ(countOps(m, "Transpose"), 1);
  const Node* t = producerOf(m, "Y");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->input(0)->name(), "X");
  EXPECT_EQ(t->intsAttr("perm"), (std::vector<int64_t>{1, 2, 0}));
  expectSameOutputs(before, m, 0, 0);
}

TEST(FuseTranspose, CancelsIdentityPairsAndKeepsGraphOutputNames) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3,4] X) => (float[2,3,4] Y, float[2,3,4] Z, float[2,3,4] W)
{
  A = Transpose <perm = [0,2,1]> (X)
  B = Transpose <perm = [0,2,1]> (A)
  Y = Relu (B)
  C = Transpose (X)
  Z = Transpose <perm = [2,1,0]> (C)
  R = Relu (X)
  D = Transpose <perm = [1,2,0]> (R)
  W = Transpose <perm = [2,0,1]> (D)
}
)");
  Model before = m.clone();
  PassResult r = runFuseTranspose(m);
  // A-B: removed. D-W: removed, R takes the output name W. C-Z: Z cannot become the
  // graph input X, so one identity Transpose stays.
  EXPECT_EQ(statistic(r, "Transposes cancelled"), 2);
  EXPECT_EQ(statistic(r, "Transpose pairs merged"), 1);
  EXPECT_EQ(countOps(m, "Transpose"), 1);
  ASSERT_EQ(m.graph().outputs().size(), 3u);
  EXPECT_EQ(m.graph().outputs()[0]->name(), "Y");
  EXPECT_EQ(m.graph().outputs()[1]->name(), "Z");
  EXPECT_EQ(m.graph().outputs()[2]->name(), "W");
  EXPECT_EQ(m.graph().outputs()[2]->producer()->opType(), "Relu");
  expectSameOutputs(before, m, 0, 0);
}

TEST(FuseTranspose, RewiresOneReaderWhenTheFirstTransposeIsShared) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3,4] X) => (float[3,2,4] Y, float[4,2,3] Z)
{
  A = Relu (X)
  T = Transpose <perm = [1,0,2]> (A)
  Y = Relu (T)
  Z = Transpose (T)
}
)");
  Model before = m.clone();
  PassResult r = runFuseTranspose(m);
  EXPECT_EQ(statistic(r, "Transpose pairs merged"), 1);
  EXPECT_EQ(countOps(m, "Transpose"), 2);
  const Node* z = producerOf(m, "Z");
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(z->input(0)->name(), "A");
  EXPECT_EQ(z->intsAttr("perm"), (std::vector<int64_t>{2, 0, 1}));  // reversed [2,1,0] after [1,0,2]
  expectSameOutputs(before, m, 0, 0);
}

TEST(FuseTranspose, FoldsTransposesOfInitializersAndConstantNodes) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,4] Y, float[2,3] Z)
<float[4,3] W = $w$>
{
  WT = Transpose <perm = [1,0]> (W)
  Y = MatMul (X, WT)
  C = Constant <value = float[3,2] $c$> ()
  CT = Transpose (C)
  Z = Add (X, CT)
}
)", {{"$w$", seededLiteral(12, 1)}, {"$c$", seededLiteral(6, 2)}}).c_str());
  Model before = m.clone();
  PassResult r = runFuseTranspose(m);
  EXPECT_EQ(statistic(r, "Transposes folded into constants"), 2);
  EXPECT_EQ(countOps(m, "Transpose"), 0);
  EXPECT_EQ(m.graph().findValue("W"), nullptr);  // only the folded copy is left
  EXPECT_EQ(countOps(m, "Constant"), 0);         // C was replaced by an initializer
  expectSameOutputs(before, m, 0, 0);
}

TEST(FuseTranspose, KeepsASharedConstantAndFoldsACopy) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[3,4] X) => (float[3,4] Y, float[4,3] Z)
<float[3,4] W = $w$>
{
  Y = Add (X, W)
  WT = Transpose (W)
  Z = Mul (WT, WT)
}
)", {{"$w$", seededLiteral(12, 3)}}).c_str());
  Model before = m.clone();
  PassResult r = runFuseTranspose(m);
  EXPECT_EQ(statistic(r, "Transposes folded into constants"), 1);
  ASSERT_NE(m.graph().findValue("W"), nullptr);
  EXPECT_EQ(m.graph().findValue("W")->initializer()->dims(), (std::vector<int64_t>{3, 4}));
  expectSameOutputs(before, m, 0, 0);
}

TEST(FuseTranspose, FoldsRankTwoTransposesIntoGemmFlags) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4,2] X) => (float[2,3] Y)
<float[4,3] W = $w$, float[3] C = $c$>
{
  XT = Transpose (X)
  WT = Transpose <perm = [1,0]> (W)
  Y = Gemm <transB = 1> (XT, WT, C)
}
)", {{"$w$", seededLiteral(12, 4)}, {"$c$", seededLiteral(3, 5)}}).c_str());
  Model before = m.clone();
  PassResult r = runFuseTranspose(m);
  EXPECT_EQ(statistic(r, "Transposes folded into Gemm"), 2);
  EXPECT_EQ(statistic(r, "Transposes folded into constants"), 0);
  EXPECT_EQ(countOps(m, "Transpose"), 0);
  const Node* gemm = producerOf(m, "Y");
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(gemm->intAttr("transA", 0), 1);
  EXPECT_EQ(gemm->intAttr("transB", 0), 0);
  EXPECT_EQ(gemm->input(1)->name(), "W");
  expectSameOutputs(before, m, 1e-5, 1e-6);
}

TEST(FuseTranspose, MergesInsideSubgraphs) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[2,3,4] X) => (float[4,3,2] Y)
{
  Y = If (c) <
    then_branch = t () => (float[4,3,2] o) { A = Transpose <perm = [0,2,1]> (X) o = Transpose <perm = [1,2,0]> (A) },
    else_branch = e () => (float[4,3,2] o) { o = Transpose (X) }
  >
}
)");
  Model before = m.clone();
  PassResult r = runFuseTranspose(m);
  EXPECT_EQ(statistic(r, "Transpose pairs merged"), 1);
  EXPECT_EQ(countOps(m, "Transpose"), 2);
  expectSameOutputsOnBothBranches(before, m, 0, 0);
}

TEST(FuseTranspose, RejectsUnknownOptions) {
  auto pass = FuseTransposePass::create({{"perm", "1,0"}});
  ASSERT_FALSE(pass);
  EXPECT_EQ(pass.status().code(), ErrorCode::Usage);
  EXPECT_NE(pass.status().message().find("perm"), std::string::npos) << pass.status().message();
}
