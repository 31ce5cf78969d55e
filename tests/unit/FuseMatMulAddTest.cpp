// fuse-matmul-add. Tolerance: rtol 1e-5, atol 1e-6 (Gemm and MatMul+Add may sum the
// K products in a different order).
#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/passes/fusion/FuseMatMulAdd.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
PassResult runFuseMatMulAdd(Model& m) {
  FuseMatMulAddPass pass;
  return runPassOn(pass, m);
}
}  // namespace

TEST(FuseMatMulAdd, FusesMatMulPlusVectorBiasIntoGemm) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[3,4] A) => (float[3,5] Y)
<float[4,5] B = $b$, float[5] C = $c$>
{
  T = MatMul (A, B)
  Y = Add (T, C)
}
)", {{"$b$", seededLiteral(20, 1)}, {"$c$", seededLiteral(5, 2)}}).c_str());
  Model before = m.clone();
  PassResult r = runFuseMatMulAdd(m);
  EXPECT_EQ(statistic(r, "MatMul+Add fused"), 1);
  EXPECT_EQ(countOps(m, "Gemm"), 1);
  EXPECT_EQ(countOps(m, "MatMul"), 0);
  EXPECT_EQ(countOps(m, "Add"), 0);
  EXPECT_EQ(m.graph().outputs()[0]->name(), "Y");
  expectSameOutputs(before, m, 1e-5, 1e-6);
}

TEST(FuseMatMulAdd, FusesBiasFirstAddWithConstantNodesAndFullBias) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 11]>
g (float[3,4] X) => (float[3,5] Y, float[3,5] Z)
{
  B = Constant <value = float[4,5] $b$> ()
  C = Constant <value = float[3,5] $c$> ()
  D = Constant <value = float[1,5] $d$> ()
  A = Relu (X)
  T = MatMul (A, B)
  Y = Add (C, T)
  U = MatMul (X, B)
  Z = Add (D, U)
}
)", {{"$b$", seededLiteral(20, 3)}, {"$c$", seededLiteral(15, 4)}, {"$d$", seededLiteral(5, 5)}}).c_str());
  Model before = m.clone();
  PassResult r = runFuseMatMulAdd(m);  // A's rank comes from shape inference
  EXPECT_EQ(statistic(r, "MatMul+Add fused"), 2);
  EXPECT_EQ(countOps(m, "Gemm"), 2);
  EXPECT_EQ(countOps(m, "Add"), 0);
  expectSameOutputs(before, m, 1e-5, 1e-6);
}

TEST(FuseMatMulAdd, FusesInsideIfBranches) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[2,4] X) => (float[2,3] Y)
<float[4,3] B = $b$, float[3] C = $c$>
{
  Y = If (c) <
    then_branch = t () => (float[2,3] o) { T = MatMul (X, B) o = Add (T, C) },
    else_branch = e () => (float[2,3] o) { U = MatMul (X, B) o = Add (C, U) }
  >
}
)", {{"$b$", seededLiteral(12, 6)}, {"$c$", seededLiteral(3, 7)}}).c_str());
  Model before = m.clone();
  PassResult r = runFuseMatMulAdd(m);
  EXPECT_EQ(statistic(r, "MatMul+Add fused"), 2);
  EXPECT_EQ(countOps(m, "MatMul"), 0);
  expectSameOutputsOnBothBranches(before, m, 1e-5, 1e-6);
}

TEST(FuseMatMulAdd, LeavesUnfusableShapesTypesAndUsesAlone) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3,4] A3, float[N,4] AN, float[3,4] A, float[4,5] Bin, int64[3,4] I)
  => (float[2,3,5] Y1, float[N,5] Y2, float[3,5] Y3, float[3,5] T4, float[3,5] Y4, int64[3,5] Y5)
<float[4,5] B = $b$, float[3,5] C = $c$, float[5] c5 = $c5$, int64[4,5] BI = {1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20}, int64[5] CI = {1,2,3,4,5}>
{
  T1 = MatMul (A3, B)
  Y1 = Add (T1, c5)
  T2 = MatMul (AN, B)
  Y2 = Add (T2, C)
  T3 = MatMul (A, Bin)
  Y3 = Add (T3, c5)
  T4 = MatMul (A, B)
  Y4 = Add (T4, c5)
  T5 = MatMul (I, BI)
  Y5 = Add (T5, CI)
}
)", {{"$b$", seededLiteral(20, 8)}, {"$c$", seededLiteral(15, 9)}, {"$c5$", seededLiteral(5, 10)}}).c_str());
  // rank 3; [3,5] bias on a symbolic M; non-constant B; MatMul output also a graph output; int64.
  PassResult r = runFuseMatMulAdd(m);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(countOps(m, "Gemm"), 0);
}

TEST(FuseMatMulAdd, NeedsOpset7ForGemmBroadcasting) {
  Model m = parseModel(substitute(R"(
<ir_version: 4, opset_import: ["" : 6]>
g (float[3,4] A) => (float[3,5] Y)
<float[4,5] B = $b$, float[5] C = $c$>
{
  T = MatMul (A, B)
  Y = Add <broadcast = 1> (T, C)
}
)", {{"$b$", seededLiteral(20, 11)}, {"$c$", seededLiteral(5, 12)}}).c_str());
  EXPECT_FALSE(runFuseMatMulAdd(m).changed);
}

TEST(FuseMatMulAdd, RejectsUnknownOptions) {
  auto pass = FuseMatMulAddPass::create({{"alpha", "2"}});
  ASSERT_FALSE(pass);
  EXPECT_EQ(pass.status().code(), ErrorCode::Usage);
  EXPECT_NE(pass.status().message().find("alpha"), std::string::npos) << pass.status().message();
}
