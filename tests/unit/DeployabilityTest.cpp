// analysis/Deployability: each rule of a target profile on small QDQ graphs.
#include <gtest/gtest.h>

#include "TestUtil.h"
#include "onnxpress/analysis/Deployability.h"

namespace onnxpress {
namespace {

// Conv with u8 activations (zero point 128) and int8 weights whose per-channel
// scales run along axis 1 (input channels) instead of 0; 3 output channels; a
// float16 Cast.
const char* kQdqConv = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 2, 4, 4] X) => (float[1, 3, 4, 4] Y)
<uint8 zx = {128}, float sx = {0.1}, int8[3, 2, 1, 1] w = {1, 2, 3, 4, 5, 6}, float[2] sw = {0.1, 0.2},
 int8[2] zw = {0, 0}>
{
  q = QuantizeLinear(X, sx, zx)
  x = DequantizeLinear(q, sx, zx)
  W = DequantizeLinear<axis = 1>(w, sw, zw)
  Y = Conv<kernel_shape = [1, 1]>(x, W)
  H = Cast<to = 10>(x)
}
)";

bool hasFinding(const Deployability& d, const std::string& severity, const std::string& rule) {
  for (const auto& f : d.findings)
    if (f.severity == severity && f.rule == rule) return true;
  return false;
}

TEST(Deployability, TensorRtStyleRulesFlagAsymmetricActivationsAndTheWrongWeightAxis) {
  Model m = test::parseModel(kQdqConv);
  TargetRules rules;
  rules.activationTypes = {"int8"};
  rules.activationZeroPointsZero = true;
  rules.weightZeroPointsZero = true;
  rules.perChannelAxisIsOutputChannel = true;
  const Deployability d = checkDeployability(m, "t", rules, {}, {});
  EXPECT_TRUE(hasFinding(d, "error", "activation-types"));
  EXPECT_TRUE(hasFinding(d, "error", "activation-zero-points"));
  EXPECT_FALSE(hasFinding(d, "error", "weight-zero-points"));  // zw is all zeros
  EXPECT_TRUE(hasFinding(d, "error", "per-channel-axis"));
  EXPECT_FALSE(d.deployable());
  EXPECT_EQ(d.errors(), 3);
}

TEST(Deployability, OpenRulesAcceptTheSameModel) {
  Model m = test::parseModel(kQdqConv);
  const Deployability d = checkDeployability(m, "any", TargetRules{}, {}, {});
  EXPECT_TRUE(d.findings.empty());
  EXPECT_TRUE(d.deployable());
}

TEST(Deployability, OpsOpsetHalfPrecisionAndAlignment) {
  Model m = test::parseModel(kQdqConv);
  TargetRules rules;
  rules.minOpset = 17;
  rules.supportedOps = {"Conv", "DequantizeLinear", "Cast"};  // QuantizeLinear missing
  rules.slowOps = {"Conv"};
  rules.float16Slow = true;
  rules.channelMultiple = 8;
  rules.floatComputeSlow = true;  // the Conv weight is int8: not float compute
  const Deployability d = checkDeployability(m, "t", rules, {}, {});
  EXPECT_TRUE(hasFinding(d, "error", "min-opset"));
  EXPECT_TRUE(hasFinding(d, "error", "supported-ops"));
  EXPECT_TRUE(hasFinding(d, "warning", "slow-ops"));
  EXPECT_TRUE(hasFinding(d, "warning", "float16"));
  EXPECT_TRUE(hasFinding(d, "warning", "channel-multiple"));
  EXPECT_FALSE(hasFinding(d, "warning", "float-compute"));
  EXPECT_EQ(d.warnings(), 3);
}

TEST(Deployability, QOperatorOpsOnAQdqTargetAndFloatComputeOnAnIntegerOne) {
  Model m = test::parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (uint8[1, 2] X) => (float[1, 2] Y)
<float s = {0.1}, uint8 z = {0}, float[2, 2] w = {1, 2, 3, 4}>
{
  x = DequantizeLinear(X, s, z)
  Y = MatMul(x, w)
  Q = QLinearMatMul(X, s, z, X, s, z, s, z)
}
)");
  TargetRules rules;
  rules.quantizationFormat = "qdq";
  rules.floatComputeSlow = true;
  const Deployability d = checkDeployability(m, "t", rules, {}, {});
  EXPECT_TRUE(hasFinding(d, "error", "quantization-format"));
  EXPECT_TRUE(hasFinding(d, "warning", "float-compute"));
}

TEST(Deployability, BudgetsHoldFailOrAreNotMeasured) {
  Model m = test::parseModel(kQdqConv);
  const Deployability d = checkDeployability(m, "t", TargetRules{}, {.modelBytes = 1000, .peakActivationBytes = 10},
                                             {.fileBytes = 1500, .peakActivationBytes = std::nullopt});
  ASSERT_EQ(d.budgets.size(), 2u);
  EXPECT_FALSE(d.budgets[0].holds());
  EXPECT_FALSE(d.budgets[1].measured.has_value());
  EXPECT_EQ(d.errors(), 1);  // an unmeasured budget is shown, not failed
  const Deployability fits = checkDeployability(m, "t", TargetRules{}, {.modelBytes = 2000, .peakActivationBytes = 0},
                                                 {.fileBytes = 1500, .peakActivationBytes = 100});
  EXPECT_TRUE(fits.deployable());
}

}  // namespace
}  // namespace onnxpress
