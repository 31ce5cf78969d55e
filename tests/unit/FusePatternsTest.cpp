// fuse-patterns. Tolerances: LayerNormalization rtol 1e-4, atol 1e-5 (the fused kernel
// accumulates in double, the decomposed graph in float); Gelu rtol 1e-4, atol 1e-6
// (erf/tanh evaluated once instead of through the chain); HardSwish/HardSigmoid
// rtol 1e-5, atol 1e-6 (alpha = 1/6 rounded to float vs a division by 6).
#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/passes/fusion/FusePatterns.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
PassResult runFusePatterns(Model& m, FusePatternsOptions options = {}) {
  FusePatternsPass pass(options);
  return runPassOn(pass, m);
}

}  // namespace

// ---- layernorm --------------------------------------------------------------------------

TEST(FusePatterns, FusesTorchLayerNormWithGammaAndBeta) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3,8] X) => (float[2,3,8] Y)
<float[8] gamma = $g$, float[8] beta = $b$, float eps = {0.00001}, float two = {2.0}>
{
  M = ReduceMean <axes = [-1]> (X)
  D = Sub (X, M)
  P = Pow (D, two)
  V = ReduceMean <axes = [-1]> (P)
  E = Add (V, eps)
  S = Sqrt (E)
  N = Div (D, S)
  G = Mul (N, gamma)
  Y = Add (G, beta)
}
)", {{"$g$", seededLiteral(8, 1, 0.5, 1.5)}, {"$b$", seededLiteral(8, 2)}}).c_str());
  Model before = m.clone();
  PassResult r = runFusePatterns(m);
  EXPECT_EQ(statistic(r, "LayerNormalization fused"), 1);
  EXPECT_EQ(m.graph().numNodes(), 1u);
  const Node* ln = producerOf(m, "Y");
  ASSERT_NE(ln, nullptr);
  EXPECT_EQ(ln->opType(), "LayerNormalization");
  EXPECT_EQ(ln->intAttr("axis", 0), -1);
  EXPECT_FLOAT_EQ(ln->floatAttr("epsilon", 0), 1e-5f);
  ASSERT_EQ(ln->numInputs(), 3u);
  EXPECT_EQ(m.graph().findValue("gamma"), nullptr);  // replaced by the expanded copy
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(FusePatterns, FusesOpset18LayerNormWithAxesInputReciprocalAndBroadcastGamma) {
  // Two trailing axes given as positive [1, 2]; gamma [4] broadcasts over [3, 4]; no beta;
  // every constant is a Constant node.
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 18]>
g (float[2,3,4] X) => (float[2,3,4] Y)
{
  axes = Constant <value = int64[2] {1, 2}> ()
  eps = Constant <value = float {0.001}> ()
  two = Constant <value = float {2.0}> ()
  gamma = Constant <value = float[4] $g$> ()
  M = ReduceMean (X, axes)
  D = Sub (X, M)
  P = Pow (D, two)
  V = ReduceMean (P, axes)
  E = Add (eps, V)
  S = Sqrt (E)
  R = Reciprocal (S)
  N = Mul (D, R)
  Y = Mul (gamma, N)
}
)", {{"$g$", seededLiteral(4, 3, 0.5, 1.5)}}).c_str());
  Model before = m.clone();
  PassResult r = runFusePatterns(m);
  EXPECT_EQ(statistic(r, "LayerNormalization fused"), 1);
  EXPECT_EQ(m.graph().numNodes(), 1u);  // the Constant nodes went with the pattern
  const Node* ln = producerOf(m, "Y");
  ASSERT_NE(ln, nullptr);
  EXPECT_EQ(ln->opType(), "LayerNormalization");
  EXPECT_EQ(ln->intAttr("axis", 0), -2);
  ASSERT_EQ(ln->numInputs(), 2u);
  ASSERT_NE(ln->input(1)->initializer(), nullptr);
  EXPECT_EQ(ln->input(1)->initializer()->dims(), (std::vector<int64_t>{3, 4}));
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(FusePatterns, FusesBareStandardizationWithOnesAsScale) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[4,6] X) => (float[4,6] Y)
<float eps = {0.00001}>
{
  M = ReduceMean <axes = [1]> (X)
  D = Sub (X, M)
  P = Mul (D, D)
  V = ReduceMean <axes = [1]> (P)
  E = Add (V, eps)
  S = Sqrt (E)
  Y = Div (D, S)
}
)");
  Model before = m.clone();
  PassResult r = runFusePatterns(m);
  EXPECT_EQ(statistic(r, "LayerNormalization fused"), 1);
  const Node* ln = producerOf(m, "Y");
  ASSERT_NE(ln, nullptr);
  EXPECT_EQ(ln->opType(), "LayerNormalization");
  ASSERT_NE(ln->input(1)->initializer(), nullptr);
  EXPECT_EQ(ln->input(1)->initializer()->dims(), (std::vector<int64_t>{6}));
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(FusePatterns, LeavesLayerNormBelowOpset17AndWhenIntermediatesEscape) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : $opset$]>
g (float[2,8] X) => (float[2,8] Y, float[2,8] D)
<float eps = {0.00001}, float two = {2.0}>
{
  M = ReduceMean <axes = [-1]> (X)
  D = Sub (X, M)
  P = Pow (D, two)
  V = ReduceMean <axes = [-1]> (P)
  E = Add (V, eps)
  S = Sqrt (E)
  Y = Div (D, S)
}
)";
  Model old = parseModel(substitute(text, {{"$opset$", "16"}}).c_str());
  EXPECT_FALSE(runFusePatterns(old).changed);
  Model escaping = parseModel(substitute(text, {{"$opset$", "17"}}).c_str());  // D is a graph output
  EXPECT_FALSE(runFusePatterns(escaping).changed);
}

// ---- gelu -------------------------------------------------------------------------------

namespace {
const char* kGeluErf = R"(
<ir_version: 8, opset_import: ["" : $opset$ $extra$]>
g (float[2,5] X) => (float[2,5] Y)
{
  three = Constant <value = float {3.0}> ()
  sq = Constant <value = float {1.4142135}> ()
  one = Constant <value = float {1.0}> ()
  half = Constant <value = float {0.5}> ()
  Z = Mul (X, three)
  D = Div (Z, sq)
  E = Erf (D)
  A = Add (E, one)
  M = Mul (Z, A)
  Y = Mul (M, half)
}
)";
}  // namespace

TEST(FusePatterns, FusesErfGeluAtOpset20) {
  Model m = parseModel(substitute(kGeluErf, {{"$opset$", "20"}, {"$extra$", ""}}).c_str());
  Model before = m.clone();
  PassResult r = runFusePatterns(m);
  EXPECT_EQ(statistic(r, "Gelu fused"), 1);
  EXPECT_EQ(countOps(m, "Gelu"), 1);
  EXPECT_EQ(countOps(m, "Erf"), 0);
  EXPECT_EQ(countOps(m, "Mul"), 1);  // Z = X * 3 stays
  EXPECT_EQ(producerOf(m, "Y")->stringAttr("approximate", "none"), "none");
  expectSameOutputs(before, m, 1e-4, 1e-6);
}

TEST(FusePatterns, GeluBelowOpset20NeedsAnExistingMicrosoftImport) {
  Model plain = parseModel(substitute(kGeluErf, {{"$opset$", "17"}, {"$extra$", ""}}).c_str());
  EXPECT_FALSE(runFusePatterns(plain).changed);

  Model ms = parseModel(substitute(kGeluErf, {{"$opset$", "17"}, {"$extra$", ", \"com.microsoft\" : 1"}}).c_str());
  Model before = ms.clone();
  PassResult r = runFusePatterns(ms);
  EXPECT_EQ(statistic(r, "Gelu fused"), 1);
  const Node* gelu = producerOf(ms, "Y");
  ASSERT_NE(gelu, nullptr);
  EXPECT_EQ(gelu->opType(), "Gelu");
  EXPECT_EQ(gelu->domain(), "com.microsoft");
  expectSameOutputs(before, ms, 1e-4, 1e-6);
}

TEST(FusePatterns, FusesTanhGeluInBothCubeForms) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 20]>
g (float[2,5] X) => (float[2,5] Y1, float[2,5] Y2)
<float three = {3.0}, float kappa = {0.044715}, float beta = {0.7978846}, float one = {1.0}, float half = {0.5}>
{
  Z = Mul (X, three)
  P = Pow (Z, three)
  K = Mul (P, kappa)
  S = Add (Z, K)
  I = Mul (S, beta)
  T = Tanh (I)
  A = Add (T, one)
  H = Mul (Z, half)
  Y1 = Mul (H, A)
  ZZ = Mul (Z, Z)
  ZZZ = Mul (Z, ZZ)
  K2 = Mul (kappa, ZZZ)
  S2 = Add (Z, K2)
  I2 = Mul (beta, S2)
  T2 = Tanh (I2)
  A2 = Add (one, T2)
  M2 = Mul (Z, A2)
  Y2 = Mul (half, M2)
}
)");
  Model before = m.clone();
  PassResult r = runFusePatterns(m);
  EXPECT_EQ(statistic(r, "Gelu fused"), 2);
  EXPECT_EQ(countOps(m, "Tanh"), 0);
  EXPECT_EQ(producerOf(m, "Y1")->stringAttr("approximate", ""), "tanh");
  EXPECT_EQ(producerOf(m, "Y2")->stringAttr("approximate", ""), "tanh");
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

// ---- hardswish / hardsigmoid -----------------------------------------------------------

TEST(FusePatterns, FusesHardSwishFromHardSigmoidAndFromClip) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 14]>
g (float[2,6] X) => (float[2,6] Y1, float[2,6] Y2, float[2,6] Y3)
<float five = {5.0}, float three = {3.0}, float zero = {0.0}, float six = {6.0}, float sixth = {0.16666667}>
{
  Z = Mul (X, five)
  H = HardSigmoid <alpha = 0.16666667, beta = 0.5> (Z)
  Y1 = Mul (Z, H)
  A = Add (Z, three)
  C = Clip (A, zero, six)
  M = Mul (Z, C)
  Y2 = Div (M, six)
  A3 = Add (three, Z)
  C3 = Clip (A3, zero, six)
  S3 = Mul (C3, sixth)
  Y3 = Mul (Z, S3)
}
)");
  Model before = m.clone();
  PassResult r = runFusePatterns(m);
  // Y3's inner C3 * 1/6 becomes HardSigmoid first, then Z * HardSigmoid becomes HardSwish.
  EXPECT_EQ(statistic(r, "HardSwish fused"), 3);
  EXPECT_EQ(statistic(r, "HardSigmoid fused"), 1);
  EXPECT_EQ(countOps(m, "HardSwish"), 3);
  EXPECT_EQ(countOps(m, "Clip"), 0);
  EXPECT_EQ(countOps(m, "HardSigmoid"), 0);
  EXPECT_EQ(countOps(m, "Mul"), 1);
  expectSameOutputs(before, m, 1e-5, 1e-6);
}

TEST(FusePatterns, FusesHardSigmoidWithClipAttributesBeforeOpset11) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 10]>
g (float[2,6] X) => (float[2,6] Y)
<float five = {5.0}, float three = {3.0}, float six = {6.0}>
{
  Z = Mul (X, five)
  A = Add (Z, three)
  C = Clip <min = 0.0, max = 6.0> (A)
  Y = Div (C, six)
}
)");
  Model before = m.clone();
  PassResult r = runFusePatterns(m);
  EXPECT_EQ(statistic(r, "HardSigmoid fused"), 1);
  const Node* hs = producerOf(m, "Y");
  ASSERT_NE(hs, nullptr);
  EXPECT_EQ(hs->opType(), "HardSigmoid");
  EXPECT_NEAR(hs->floatAttr("alpha", 0), 1.0 / 6.0, 1e-7);
  EXPECT_FLOAT_EQ(hs->floatAttr("beta", 0), 0.5f);
  expectSameOutputs(before, m, 1e-5, 1e-6);
}

TEST(FusePatterns, RespectsThePatternListAndConstantValues) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 14]>
g (float[2,6] X) => (float[2,6] Y, float[2,6] W)
<float five = {5.0}, float three = {3.0}, float zero = {0.0}, float six = {6.0}, float seven = {7.0}>
{
  Z = Mul (X, five)
  A = Add (Z, three)
  C = Clip (A, zero, six)
  M = Mul (Z, C)
  Y = Div (M, six)
  A2 = Add (Z, three)
  C2 = Clip (A2, zero, six)
  W = Div (C2, seven)
}
)";
  Model m = parseModel(text);
  FusePatternsOptions onlySigmoid;
  onlySigmoid.patterns = {"hardsigmoid"};
  EXPECT_FALSE(runFusePatterns(m, onlySigmoid).changed);  // x * Clip / 6 is no HardSigmoid; / 7 is wrong
  FusePatternsOptions all;
  PassResult r = runFusePatterns(m, all);
  EXPECT_EQ(statistic(r, "HardSwish fused"), 1);
  EXPECT_EQ(statistic(r, "HardSigmoid fused"), 0);
  EXPECT_EQ(countOps(m, "Clip"), 1);
}

TEST(FusePatterns, FusesInsideSubgraphs) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 14]>
g (bool c, float[2,6] X) => (float[2,6] Y)
<float five = {5.0}>
{
  Z = Mul (X, five)
  Y = If (c) <
    then_branch = t () => (float[2,6] o) {
      h = HardSigmoid <alpha = 0.16666667> (Z)
      o = Mul (h, Z)
    },
    else_branch = e () => (float[2,6] o) { o = Identity (Z) }
  >
}
)");
  Model before = m.clone();
  PassResult r = runFusePatterns(m);
  EXPECT_EQ(statistic(r, "HardSwish fused"), 1);
  EXPECT_EQ(countOps(m, "HardSigmoid"), 0);
  expectSameOutputsOnBothBranches(before, m, 1e-5, 1e-6);
}

TEST(FusePatterns, RejectsUnknownPatternNames) {
  auto pass = FusePatternsPass::create({{"patterns", "layernorm,swish"}});
  ASSERT_FALSE(pass);
  EXPECT_EQ(pass.status().code(), ErrorCode::Usage);
  const std::string message = pass.status().message();
  EXPECT_NE(message.find("unknown pattern 'swish'"), std::string::npos) << message;
  EXPECT_NE(message.find("known: layernorm, gelu, hardswish, hardsigmoid"), std::string::npos) << message;

  auto ok = FusePatternsPass::create({{"patterns", "gelu"}});
  ASSERT_TRUE(ok) << ok.status().message();
  EXPECT_EQ((*ok)->optionsString(), "patterns=gelu");
}
