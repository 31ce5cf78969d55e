// dwsep. Tolerances: a weight that is exactly depthwise-separable (rank 1 per input
// channel) must be reproduced up to float rounding: rtol 1e-4, atol 1e-5. For a
// general weight the reported error must equal the per-channel rank-1 optimum
// (computed here with Eigen) within 1 ppm, and the stored factors must reach it
// within 1e-5 relative.
#include <Eigen/Dense>

#include <cmath>
#include <random>

#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/substitution/DepthwiseSeparable.h"
#include "onnxpress/passes/substitution/SubstitutionUtil.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
PassResult runDwsep(Model& m, DepthwiseSeparableOptions options = {}) {
  DepthwiseSeparablePass pass(options);
  return runPassOn(pass, m);
}

// W[o,i,s] = P[o,i] * D[i,s] with seeded P and D, as an ONNX text literal.
std::string separableLiteral(int64_t co, int64_t ci, int64_t kernel, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> p(co * ci), d(ci * kernel);
  for (double& v : p) v = u(rng);
  for (double& v : d) v = u(rng);
  std::string out = "{";
  for (int64_t o = 0; o < co; ++o)
    for (int64_t i = 0; i < ci; ++i)
      for (int64_t s = 0; s < kernel; ++s)
        out += fmt::format("{}{:.9g}", out.size() > 1 ? ", " : "", p[o * ci + i] * d[i * kernel + s]);
  return out + "}";
}

std::vector<double> valuesOf(const Value* v) {
  std::optional<substitution::Weight> w = substitution::readWeight(v);
  EXPECT_TRUE(w.has_value());
  return w ? w->values : std::vector<double>{};
}

Node* readerOf(const Model& m, const Value* input) {
  for (Node* n : m.graph().nodes())
    if (n->opType() == "Conv" && n->input(0) == input) return n;
  return nullptr;
}
}  // namespace

TEST(DepthwiseSeparable, ReproducesAnExactlySeparableConv) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,7,7] X) => (float[1,6,4,4] Y)
<float[6,4,3,3] W = $w$, float[6] B = $b$>
{
  Y = Conv <kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]> (X, W, B)
}
)", {{"$w$", separableLiteral(6, 4, 9, 1)}, {"$b$", seededLiteral(6, 2)}}).c_str());
  Model before = m.clone();
  PassResult r = runDwsep(m);
  EXPECT_EQ(countOps(m, "Conv"), 2);
  Node* depthwise = readerOf(m, m.graph().findValue("X"));
  ASSERT_NE(depthwise, nullptr);
  EXPECT_EQ(depthwise->intAttr("group", 1), 4);
  EXPECT_EQ(depthwise->intsAttr("strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(depthwise->intsAttr("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(constantTensor(depthwise->input(1))->dims(), (std::vector<int64_t>{4, 1, 3, 3}));
  Node* pointwise = readerOf(m, depthwise->output(0));
  ASSERT_NE(pointwise, nullptr);
  EXPECT_EQ(constantTensor(pointwise->input(1))->dims(), (std::vector<int64_t>{6, 4, 1, 1}));
  ASSERT_EQ(pointwise->numInputs(), 3u);
  EXPECT_EQ(pointwise->input(2)->name(), "B");
  EXPECT_EQ(m.graph().findValue("W"), nullptr);

  EXPECT_EQ(statistic(r, "layers replaced"), 1);
  EXPECT_LE(statistic(r, "relative weight error (ppm)"), 1);
  EXPECT_EQ(statistic(r, "parameters before"), 216 + 6);
  EXPECT_EQ(statistic(r, "parameters after"), 36 + 24 + 6);
  EXPECT_EQ(statistic(r, "MACs before"), 6 * 16 * 4 * 9);
  EXPECT_EQ(statistic(r, "MACs after"), 4 * 16 * 9 + 6 * 16 * 4);
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(DepthwiseSeparable, GeneralWeightsGetTheRankOneOptimum) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,6,6] X) => (float[1,6,4,4] Y)
<float[6,4,3,3] W = $w$>
{
  Y = Conv(X, W)
}
)", {{"$w$", seededLiteral(216, 3)}}).c_str());
  const std::vector<double> w = valuesOf(m.graph().findValue("W"));
  PassResult r = runDwsep(m);
  ASSERT_EQ(countOps(m, "Conv"), 2);
  Node* depthwise = readerOf(m, m.graph().findValue("X"));
  ASSERT_NE(depthwise, nullptr);
  Node* pointwise = readerOf(m, depthwise->output(0));
  ASSERT_NE(pointwise, nullptr);
  const std::vector<double> d = valuesOf(depthwise->input(1)), p = valuesOf(pointwise->input(1));

  double optimum = 0, norm = 0, reached = 0;
  for (int i = 0; i < 4; ++i) {
    Eigen::MatrixXd slice(6, 9);
    for (int o = 0; o < 6; ++o)
      for (int s = 0; s < 9; ++s) {
        slice(o, s) = w[(o * 4 + i) * 9 + s];
        reached += std::pow(slice(o, s) - p[o * 4 + i] * d[i * 9 + s], 2);
      }
    const double sigma = substitution::thinSvd(slice).singular[0];
    optimum += slice.squaredNorm() - sigma * sigma;
    norm += slice.squaredNorm();
  }
  EXPECT_NEAR(static_cast<double>(statistic(r, "relative weight error (ppm)")), 1e6 * std::sqrt(optimum / norm), 1.0);
  EXPECT_NEAR(std::sqrt(reached), std::sqrt(optimum), 1e-5 * std::sqrt(norm));
}

TEST(DepthwiseSeparable, ConstantNode1dConvWithAutoPad) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,10] X) => (float[1,5,5] Y)
{
  W = Constant <value = float[5,3,3] $w$> ()
  Y = Conv <auto_pad = "SAME_UPPER", strides = [2]> (X, W)
}
)", {{"$w$", separableLiteral(5, 3, 3, 4)}}).c_str());
  Model before = m.clone();
  runDwsep(m);
  EXPECT_EQ(countOps(m, "Conv"), 2);
  EXPECT_EQ(countOps(m, "Constant"), 0);
  Node* depthwise = readerOf(m, m.graph().findValue("X"));
  ASSERT_NE(depthwise, nullptr);
  EXPECT_EQ(depthwise->stringAttr("auto_pad", ""), "SAME_UPPER");
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(DepthwiseSeparable, ReplacesConvsInsideIfBranches) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[1,2,5,5] X) => (float[1,4,5,5] Y)
<float[4,2,3,3] W = $w$>
{
  Y = If(c) <
    then_branch = t () => (float[1,4,5,5] o) { o = Conv <pads = [1, 1, 1, 1]> (X, W) },
    else_branch = e () => (float[1,4,5,5] o) { n = Neg(X) o = Conv <pads = [1, 1, 1, 1]> (n, W) }
  >
}
)", {{"$w$", separableLiteral(4, 2, 9, 5)}}).c_str());
  Model before = m.clone();
  PassResult r = runDwsep(m);
  EXPECT_EQ(statistic(r, "layers replaced"), 2);
  EXPECT_EQ(countOps(m, "Conv"), 4);
  expectSameOutputsOnBothBranches(before, m, 1e-4, 1e-5);
}

TEST(DepthwiseSeparable, SkipsGroupedPointwiseDynamicAndBiggerConvs) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,5,5] X, float[2,4,3,3] V) => (float[1,4,3,3] Y1, float[1,3,5,5] Y2, float[1,2,3,3] Y3, float[1,1,3,3] Y4)
<float[4,2,3,3] G = $g$, float[3,4,1,1] P = $p$, float[1,4,3,3] S = $s$>
{
  Y1 = Conv <group = 2> (X, G)
  Y2 = Conv (X, P)
  Y3 = Conv (X, V)
  Y4 = Conv (X, S)
}
)", {{"$g$", seededLiteral(72, 6)}, {"$p$", seededLiteral(12, 7)}, {"$s$", seededLiteral(36, 8)}}).c_str());
  EXPECT_FALSE(runDwsep(m).changed);  // Y4: 4*9 + 1*4 = 40 parameters > 36
  DepthwiseSeparableOptions always;
  always.onlyIfSmaller = false;
  EXPECT_EQ(statistic(runDwsep(m, always), "layers replaced"), 1);
}

TEST(DepthwiseSeparable, BadOptionsAreUsageErrors) {
  auto negative = DepthwiseSeparablePass::create({{"min-params", "-1"}});
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.status().code(), ErrorCode::Usage);
  EXPECT_NE(negative.status().message().find("min-params"), std::string::npos);
  EXPECT_FALSE(DepthwiseSeparablePass::create({{"min-params", "many"}}));
  EXPECT_FALSE(DepthwiseSeparablePass::create({{"rank", "2"}}));
}
