// swap-activation. Tolerances: every swapped output must equal the closed form of
// the approximation on the same inputs within 2e-5 absolute (float evaluation of the
// tanh-Gelu chain; 1e-6 for HardSigmoid and Clip, 2e-6 for HardSwish), and differ from the original by at most the
// approximation's sup-norm error over all x plus 2e-5: HardSigmoid(1/6, 0.5) 0.06919,
// HardSwish 0.14228, tanh-Gelu 4.733e-4, Clip(-1, 1) for Tanh 0.23841. Inputs are
// uniform in [-4, 4] (the seeded [-1, 1] inputs times 4), where these maxima are attained.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>

#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/passes/substitution/SwapActivation.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
PassResult runSwap(Model& m, const std::string& from, const std::string& to = "") {
  SwapActivationOptions options;
  options.from = from;
  options.to = to;
  SwapActivationPass pass(options);
  return runPassOn(pass, m);
}

double hardSigmoid(double z) { return std::clamp(z / 6 + 0.5, 0.0, 1.0); }
double geluTanh(double z) {
  return 0.5 * z * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (z + 0.044715 * z * z * z)));
}

// Runs `before` and `after` on the same inputs; for output `index` expects `after` to
// match closedForm(4x) within `atol` and `before` within `bound` + 2e-5.
void expectApproximation(const Model& before, const Model& after, size_t index,
                         const std::function<double(double)>& closedForm, double atol, double bound) {
  auto inputs = randomInputs(before);
  auto x = inputs.at("X").span<float>();
  auto original = runModel(before, inputs);
  auto swapped = runModel(after, inputs);
  ASSERT_GT(original.size(), index);
  ASSERT_GT(swapped.size(), index);
  auto y0 = original[index].span<float>();
  auto y1 = swapped[index].span<float>();
  ASSERT_EQ(y0.size(), x.size());
  ASSERT_EQ(y1.size(), x.size());
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float z = x[i] * 4.0f;
    EXPECT_NEAR(y1[i], closedForm(z), atol) << "x = " << z;
    worst = std::max(worst, std::abs(double(y1[i]) - y0[i]));
  }
  EXPECT_LE(worst, bound + 2e-5);
  EXPECT_GT(worst, 0.0);
}
}  // namespace

TEST(SwapActivation, SigmoidBecomesTorchHardSigmoid) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[256] X) => (float[256] Y)
<float four = {4.0}>
{
  Z = Mul(X, four)
  Y = Sigmoid(Z)
}
)");
  Model before = m.clone();
  PassResult r = runSwap(m, "Sigmoid");
  EXPECT_EQ(statistic(r, "activations swapped"), 1);
  EXPECT_EQ(countOps(m, "Sigmoid"), 0);
  ASSERT_EQ(countOps(m, "HardSigmoid"), 1);
  const Node* hs = m.graph().outputs()[0]->producer();
  EXPECT_FLOAT_EQ(hs->floatAttr("alpha", 0), 1.0f / 6.0f);
  EXPECT_FLOAT_EQ(hs->floatAttr("beta", 0), 0.5f);
  expectApproximation(before, m, 0, hardSigmoid, 1e-6, 0.06919);
}

TEST(SwapActivation, SwishInEitherOperandOrderBecomesHardSwish) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 14]>
g (float[256] X) => (float[256] Y1, float[256] Y2, float[256] Y3)
<float four = {4.0}>
{
  Z = Mul(X, four)
  S = Sigmoid(Z)
  Y1 = Mul(Z, S)
  T = Sigmoid(Z)
  Y2 = Mul(T, Z)
  Y3 = Add(S, Z)
}
)");
  Model before = m.clone();
  PassResult r = runSwap(m, "silu", "hard-swish");
  EXPECT_EQ(statistic(r, "activations swapped"), 2);
  EXPECT_EQ(countOps(m, "HardSwish"), 2);
  EXPECT_EQ(countOps(m, "Sigmoid"), 1);  // S is still read by Y3
  EXPECT_EQ(countOps(m, "Mul"), 1);      // only Z's
  auto hardSwish = [](double z) { return z * hardSigmoid(z); };
  expectApproximation(before, m, 0, hardSwish, 2e-6, 0.14228);
  expectApproximation(before, m, 1, hardSwish, 2e-6, 0.14228);
}

TEST(SwapActivation, HardSwishBelowOpset14IsAnError) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4] X) => (float[4] Y)
{
  S = Sigmoid(X)
  Y = Mul(X, S)
}
)");
  SwapActivationOptions options;
  options.from = "Swish";
  SwapActivationPass pass(options);
  PassContext ctx;
  auto result = pass.run(m, ctx);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), ErrorCode::Usage);
  EXPECT_NE(result.status().message().find("HardSwish"), std::string::npos) << result.status().message();
  EXPECT_NE(result.status().message().find("14"), std::string::npos) << result.status().message();
  EXPECT_NE(result.status().message().find("13"), std::string::npos) << result.status().message();
}

TEST(SwapActivation, ErfGeluSubgraphsBecomeTanhGeluFromPrimitivesBelowOpset20) {
  // The three ways exporters place the 0.5, with Div by sqrt(2) or Mul by 1/sqrt(2);
  // one pattern uses [1]-shaped constants.
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[256] X) => (float[256] Y1, float[256] Y2, float[256] Y3)
<float four = {4.0}, float sqrt2 = {1.4142135}, float invsqrt2 = {0.70710677}, float one = {1.0},
 float half = {0.5}, float[1] one1 = {1.0}, float[1] half1 = {0.5}>
{
  Z = Mul(X, four)
  D1 = Div(Z, sqrt2)
  E1 = Erf(D1)
  A1 = Add(E1, one)
  M1 = Mul(Z, A1)
  Y1 = Mul(M1, half)
  D2 = Mul(invsqrt2, Z)
  E2 = Erf(D2)
  A2 = Add(one, E2)
  H2 = Mul(Z, half)
  Y2 = Mul(H2, A2)
  D3 = Div(Z, sqrt2)
  E3 = Erf(D3)
  A3 = Add(E3, one1)
  M3 = Mul(A3, half1)
  Y3 = Mul(M3, Z)
}
)");
  Model before = m.clone();
  PassResult r = runSwap(m, "Gelu");
  EXPECT_EQ(statistic(r, "activations swapped"), 3);
  EXPECT_EQ(countOps(m, "Erf"), 0);
  EXPECT_EQ(countOps(m, "Div"), 0);
  EXPECT_EQ(countOps(m, "Tanh"), 3);
  EXPECT_EQ(m.graph().findValue("sqrt2"), nullptr);  // constants only the patterns read are gone
  for (size_t i = 0; i < 3; ++i) expectApproximation(before, m, i, geluTanh, 2e-5, 4.733e-4);
}

TEST(SwapActivation, GeluAtOpset20BecomesGeluTanh) {
  Model m = parseModel(R"(
<ir_version: 9, opset_import: ["" : 20]>
g (float[256] X) => (float[256] Y1, float[256] Y2)
<float four = {4.0}, float sqrt2 = {1.4142135}, float one = {1.0}, float half = {0.5}>
{
  Z = Mul(X, four)
  D = Div(Z, sqrt2)
  E = Erf(D)
  A = Add(E, one)
  M = Mul(Z, A)
  Y1 = Mul(M, half)
  Y2 = Gelu(Z)
}
)");
  Model before = m.clone();
  PassResult r = runSwap(m, "Gelu", "GeluTanh");
  EXPECT_EQ(statistic(r, "activations swapped"), 2);
  EXPECT_EQ(countOps(m, "Gelu"), 2);
  EXPECT_EQ(countOps(m, "Erf"), 0);
  for (const Node* n : m.graph().nodes())
    if (n->opType() == "Gelu") {
      EXPECT_EQ(n->stringAttr("approximate", ""), "tanh");
    }
  expectApproximation(before, m, 0, geluTanh, 2e-5, 4.733e-4);
  expectApproximation(before, m, 1, geluTanh, 2e-5, 4.733e-4);
}

TEST(SwapActivation, TanhBecomesClipAsInputsOrAttributesByOpset) {
  for (int opset : {9, 13}) {
    Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : $opset$]>
g (float[256] X) => (float[256] Y)
<float four = {4.0}>
{
  Z = Mul(X, four)
  Y = Tanh(Z)
}
)", {{"$opset$", std::to_string(opset)}}).c_str());
    Model before = m.clone();
    PassResult r = runSwap(m, "Tanh");
    EXPECT_EQ(statistic(r, "activations swapped"), 1);
    ASSERT_EQ(countOps(m, "Clip"), 1);
    const Node* clip = m.graph().outputs()[0]->producer();
    EXPECT_EQ(clip->numInputs(), opset < 11 ? 1u : 3u);
    EXPECT_EQ(clip->attribute("min") != nullptr, opset < 11);
    expectApproximation(before, m, 0, [](double z) { return std::clamp(z, -1.0, 1.0); }, 1e-6, 0.23841);
  }
}

TEST(SwapActivation, LeakyReluEluAndRelu6BecomeRelu) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[64] X) => (float[64] Y1, float[64] Y2, float[64] Y3, float[64] Y4)
<float zero = {0.0}, float six = {6.0}, float five = {5.0}>
{
  Y1 = Clip(X, zero, six)
  Y2 = Clip(X, zero, five)
  Y3 = LeakyRelu <alpha = 0.1> (X)
  Y4 = Elu(X)
}
)";
  Model relu6 = parseModel(text);
  Model before = relu6.clone();
  EXPECT_EQ(statistic(runSwap(relu6, "Relu6"), "activations swapped"), 1);
  EXPECT_EQ(countOps(relu6, "Relu"), 1);
  EXPECT_EQ(countOps(relu6, "Clip"), 1);  // Clip(0, 5) is not Relu6
  EXPECT_EQ(relu6.graph().findValue("six"), nullptr);
  EXPECT_NE(relu6.graph().findValue("zero"), nullptr);  // still read by Y2
  expectSameOutputs(before, relu6, 0, 0);              // inputs in [-1, 1]: Relu6 = Relu there

  Model leaky = parseModel(text);
  EXPECT_EQ(statistic(runSwap(leaky, "leaky_relu", "relu"), "activations swapped"), 1);
  EXPECT_EQ(countOps(leaky, "LeakyRelu"), 0);
  EXPECT_EQ(leaky.graph().outputs()[2]->producer()->opType(), "Relu");
  EXPECT_EQ(leaky.graph().outputs()[2]->producer()->attribute("alpha"), nullptr);

  Model elu = parseModel(text);
  EXPECT_EQ(statistic(runSwap(elu, "Elu"), "activations swapped"), 1);
  EXPECT_EQ(countOps(elu, "Elu"), 0);

  Model attributes = parseModel(R"(
<ir_version: 8, opset_import: ["" : 9]>
g (float[64] X) => (float[64] Y)
{
  Y = Clip <min = 0.0, max = 6.0> (X)
}
)");
  EXPECT_EQ(statistic(runSwap(attributes, "Relu6"), "activations swapped"), 1);
  EXPECT_EQ(countOps(attributes, "Relu"), 1);
  EXPECT_EQ(attributes.graph().outputs()[0]->producer()->attribute("max"), nullptr);
}

TEST(SwapActivation, SwapsInsideIfBranches) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[8] X) => (float[8] Y)
{
  Y = If(c) <
    then_branch = t () => (float[8] o) { o = Sigmoid(X) },
    else_branch = e () => (float[8] o) { n = Neg(X) o = Sigmoid(n) }
  >
}
)");
  PassResult r = runSwap(m, "Sigmoid", "HardSigmoid");
  EXPECT_EQ(statistic(r, "activations swapped"), 2);
  EXPECT_EQ(countOps(m, "HardSigmoid"), 2);
  EXPECT_EQ(countOps(m, "Sigmoid"), 0);
}

TEST(SwapActivation, BadOptionsAreUsageErrors) {
  auto missing = SwapActivationPass::create({});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), ErrorCode::Usage);
  EXPECT_NE(missing.status().message().find("'from' is required"), std::string::npos) << missing.status().message();

  auto unknown = SwapActivationPass::create({{"from", "Softmax"}});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.status().message().find("Softmax"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("Sigmoid->HardSigmoid"), std::string::npos) << unknown.status().message();

  auto pair = SwapActivationPass::create({{"from", "Sigmoid"}, {"to", "Relu"}});
  ASSERT_FALSE(pair);
  EXPECT_NE(pair.status().message().find("Sigmoid -> Relu"), std::string::npos) << pair.status().message();

  EXPECT_TRUE(SwapActivationPass::create({{"from", "SiLU"}, {"to", "HardSwish"}}));
  EXPECT_TRUE(SwapActivationPass::create({{"from", "gelu"}, {"to", "gelu-tanh"}}));
}
