// fuse-bn. Tolerance: rtol 1e-4, atol 1e-5 for float32 (folding reorders one multiply
// per weight); rtol 1e-9, atol 1e-12 for the float64 model (folded in double).
#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/fusion/FuseBatchNorm.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
PassResult runFuseBn(Model& m) {
  FuseBatchNormPass pass;
  return runPassOn(pass, m);
}

// Per-channel BatchNormalization parameters ($s$ scale, $b$ bias, $m$ mean, $v$ var) for C channels.
std::vector<std::pair<std::string, std::string>> bnParams(int channels, uint32_t seed) {
  return {{"$s$", seededLiteral(channels, seed, 0.5, 2.0)},
          {"$b$", seededLiteral(channels, seed + 1)},
          {"$m$", seededLiteral(channels, seed + 2)},
          {"$v$", seededLiteral(channels, seed + 3, 0.1, 3.0)}};
}

std::vector<std::pair<std::string, std::string>> with(std::vector<std::pair<std::string, std::string>> a,
                                                      std::vector<std::pair<std::string, std::string>> b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
}  // namespace

TEST(FuseBatchNorm, FoldsIntoBiaslessConvAndKeepsTheOutputName) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[3,2,2,2] W = $w$, float[3] s = $s$, float[3] b = $b$, float[3] mean = $m$, float[3] var = $v$>
{
  T = Conv <pads = [0,0,1,1]> (X, W)
  Y = BatchNormalization <epsilon = 0.001> (T, s, b, mean, var)
}
)", with({{"$w$", seededLiteral(24, 1)}}, bnParams(3, 10))).c_str());
  Model before = m.clone();
  PassResult r = runFuseBn(m);
  EXPECT_EQ(statistic(r, "BatchNormalization fused"), 1);
  EXPECT_EQ(countOps(m, "BatchNormalization"), 0);
  EXPECT_EQ(countOps(m, "Conv"), 1);
  ASSERT_EQ(m.graph().outputs().size(), 1u);
  EXPECT_EQ(m.graph().outputs()[0]->name(), "Y");
  Node* conv = m.graph().outputs()[0]->producer();
  ASSERT_NE(conv, nullptr);
  ASSERT_EQ(conv->numInputs(), 3u);  // a bias was created
  EXPECT_NE(conv->input(2), nullptr);
  EXPECT_EQ(m.graph().findValue("W"), nullptr);  // the old weight and BN parameters are gone
  EXPECT_EQ(m.graph().findValue("mean"), nullptr);
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(FuseBatchNorm, FoldsIntoGroupedConvTransposePerOutputChannel) {
  // Cin = 4, group = 2, Cout/group = 2: output channel g*2 + j scales W[i, j] for i in group g.
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,3,3] X) => (float[1,4,4,4] Y)
<float[4,2,2,2] W = $w$, float[4] B = $bias$, float[4] s = $s$, float[4] b = $b$, float[4] mean = $m$, float[4] var = $v$>
{
  T = ConvTranspose <group = 2> (X, W, B)
  Y = BatchNormalization (T, s, b, mean, var)
}
)", with({{"$w$", seededLiteral(32, 2)}, {"$bias$", seededLiteral(4, 3)}}, bnParams(4, 20))).c_str());
  Model before = m.clone();
  PassResult r = runFuseBn(m);
  EXPECT_EQ(statistic(r, "BatchNormalization fused"), 1);
  EXPECT_EQ(countOps(m, "BatchNormalization"), 0);
  EXPECT_EQ(countOps(m, "ConvTranspose"), 1);
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(FuseBatchNorm, FoldsIntoGemmWithTransBAlphaBetaAndBroadcastBias) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,4] A) => (float[2,3] Y, float[2,3] Z)
<float[3,4] B = $w$, float[1,3] C = $c$, float[4,3] B2 = $w2$, float[2,1] C2 = $c2$,
 float[3] s = $s$, float[3] b = $b$, float[3] mean = $m$, float[3] var = $v$>
{
  T = Gemm <transB = 1, alpha = 2.0, beta = 0.5> (A, B, C)
  Y = BatchNormalization (T, s, b, mean, var)
  U = Gemm <beta = 3.0> (A, B2, C2)
  Z = BatchNormalization (U, s, b, mean, var)
}
)", with({{"$w$", seededLiteral(12, 4)}, {"$c$", seededLiteral(3, 5)}, {"$w2$", seededLiteral(12, 6)},
          {"$c2$", seededLiteral(2, 7)}}, bnParams(3, 30))).c_str());
  Model before = m.clone();
  PassResult r = runFuseBn(m);
  EXPECT_EQ(statistic(r, "BatchNormalization fused"), 2);
  EXPECT_EQ(countOps(m, "BatchNormalization"), 0);
  EXPECT_EQ(countOps(m, "Gemm"), 2);
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(FuseBatchNorm, ConstantNodeWeightSharedWithAnotherConvIsNotMutated) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,3,3] X) => (float[1,2,3,3] Y, float[1,2,3,3] Z)
{
  W = Constant <value = float[2,2,1,1] $w$> ()
  s = Constant <value = float[2] $s$> ()
  b = Constant <value = float[2] $b$> ()
  mean = Constant <value = float[2] $m$> ()
  var = Constant <value = float[2] $v$> ()
  T = Conv (X, W)
  Y = BatchNormalization (T, s, b, mean, var)
  Z = Conv (X, W)
}
)", with({{"$w$", seededLiteral(4, 8)}}, bnParams(2, 40))).c_str());
  Model before = m.clone();
  PassResult r = runFuseBn(m);
  EXPECT_EQ(statistic(r, "BatchNormalization fused"), 1);
  EXPECT_EQ(countOps(m, "BatchNormalization"), 0);
  EXPECT_EQ(countOps(m, "Constant"), 1);  // W stays for Z; the BN parameter Constants are gone
  Value* w = m.graph().findValue("W");
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(w->uses().size(), 1u);
  EXPECT_EQ(w->uses()[0].node->output(0)->name(), "Z");
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(FuseBatchNorm, KeepsDoublePrecisionWeightsInDouble) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,3,3] X) => (double[1,2,3,3] Y)
<double[2,2,1,1] W = $w$, double[2] s = $s$, double[2] b = $b$, double[2] mean = $m$, double[2] var = $v$>
{
  Xd = Cast <to = 11> (X)
  T = Conv (Xd, W)
  Y = BatchNormalization (T, s, b, mean, var)
}
)", with({{"$w$", seededLiteral(4, 9)}}, bnParams(2, 50))).c_str());
  Model before = m.clone();
  PassResult r = runFuseBn(m);
  EXPECT_EQ(statistic(r, "BatchNormalization fused"), 1);
  Node* conv = nullptr;
  for (Node* n : m.graph().nodes())
    if (n->opType() == "Conv") conv = n;
  ASSERT_NE(conv, nullptr);
  ASSERT_NE(conv->input(1)->initializer(), nullptr);
  EXPECT_EQ(conv->input(1)->initializer()->dtype(), DataType::Double);
  EXPECT_EQ(conv->input(2)->initializer()->dtype(), DataType::Double);
  expectSameOutputs(before, m, 1e-9, 1e-12);
}

TEST(FuseBatchNorm, KeepsFloat16WeightsInFloat16) {
  // Structural only (the runtime has no float16 Conv); the values are exact in float16.
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float16[1,2,3,3] X) => (float16[1,2,3,3] Y)
<float[2,2,1,1] W = {0.5, -1.0, 0.25, 2.0}, float[2] s = {2.0, 3.0}, float[2] b = {0.0, 1.0},
 float[2] mean = {0.0, 0.5}, float[2] var = {1.0, 4.0}>
{
  T = Conv (X, W)
  Y = BatchNormalization <epsilon = 0.0> (T, s, b, mean, var)
}
)");
  for (const char* name : {"W", "s", "b", "mean", "var"}) {
    Value* v = m.graph().findValue(name);
    ASSERT_NE(v, nullptr);
    std::optional<std::vector<float>> values = floatValues(*v->initializer());
    ASSERT_TRUE(values);
    Tensor half = makeFloatTensor(DataType::Float16, v->initializer()->dims(), *values);
    half.setName(name);
    *v->initializer() = std::move(half);
  }
  PassResult r = runFuseBn(m);
  EXPECT_EQ(statistic(r, "BatchNormalization fused"), 1);
  const Node* conv = m.graph().outputs()[0]->producer();
  ASSERT_NE(conv, nullptr);
  ASSERT_EQ(conv->opType(), "Conv");
  const Tensor* w = conv->input(1)->initializer();
  const Tensor* bias = conv->input(2)->initializer();
  ASSERT_TRUE(w && bias);
  EXPECT_EQ(w->dtype(), DataType::Float16);
  EXPECT_EQ(bias->dtype(), DataType::Float16);
  // scale = s / sqrt(var) = {2, 1.5}; shift = b - mean * scale = {0, 0.25}
  EXPECT_EQ(*floatValues(*w), (std::vector<float>{1.0f, -2.0f, 0.375f, 3.0f}));
  EXPECT_EQ(*floatValues(*bias), (std::vector<float>{0.0f, 0.25f}));
}

TEST(FuseBatchNorm, FusesInsideIfBranchesWithOuterWeights) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[1,2,3,3] X) => (float[1,2,3,3] Y)
<float[2,2,1,1] W = $w$, float[2] s = $s$, float[2] b = $b$, float[2] mean = $m$, float[2] var = $v$>
{
  Y = If (c) <
    then_branch = t () => (float[1,2,3,3] o) { T = Conv (X, W) o = BatchNormalization (T, s, b, mean, var) },
    else_branch = e () => (float[1,2,3,3] o) { U = Conv <pads = [0,0,0,0]> (X, W) o = BatchNormalization <epsilon = 0.1> (U, s, b, mean, var) }
  >
}
)", with({{"$w$", seededLiteral(4, 11)}}, bnParams(2, 60))).c_str());
  Model before = m.clone();
  PassResult r = runFuseBn(m);
  EXPECT_EQ(statistic(r, "BatchNormalization fused"), 2);
  EXPECT_EQ(countOps(m, "BatchNormalization"), 0);
  expectSameOutputsOnBothBranches(before, m, 1e-4, 1e-5);
}

TEST(FuseBatchNorm, LeavesTrainingModeSharedOutputsAndNonConstantStatisticsAlone) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,2,3,3] X, float[2] runtimeMean) => (float[1,2,3,3] Y1, float[1,2,3,3] T2, float[1,2,3,3] Y2, float[1,2,3,3] Y3)
<float[2,2,1,1] W = $w$, float[2] s = $s$, float[2] b = $b$, float[2] mean = $m$, float[2] var = $v$>
{
  T1 = Conv (X, W)
  Y1, M1, V1 = BatchNormalization <training_mode = 1> (T1, s, b, mean, var)
  T2 = Conv (X, W)
  Y2 = BatchNormalization (T2, s, b, mean, var)
  T3 = Conv (X, W)
  Y3 = BatchNormalization (T3, s, b, runtimeMean, var)
}
)", with({{"$w$", seededLiteral(4, 12)}}, bnParams(2, 70))).c_str());
  PassResult r = runFuseBn(m);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(countOps(m, "BatchNormalization"), 3);
}

TEST(FuseBatchNorm, RejectsUnknownOptions) {
  auto pass = FuseBatchNormPass::create({{"bogus", "1"}});
  ASSERT_FALSE(pass);
  EXPECT_EQ(pass.status().code(), ErrorCode::Usage);
  EXPECT_NE(pass.status().message().find("bogus"), std::string::npos) << pass.status().message();
}
