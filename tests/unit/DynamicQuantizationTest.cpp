// quantize{mode=dynamic}: structure of the QOperator rewrite, and outputs of the
// built-in runtime against the float model on seeded inputs uniform in [-1, 1].
//
// Tolerance. MatMul/Gemm/Conv: y = sum_k x_k w_k over K products. DynamicQuantizeLinear
// rounds x with step s_x = range(x ∪ 0) / 255 <= 2/255 (error <= s_x, the rounded zero
// point included); int8 symmetric weights with |w| <= 1 have step s_w <= 1/127 (error
// <= s_w / 2). Worst case |dy| <= K (s_x + s_w / 2 + s_x s_w / 2): 0.189 for K = 16.
// Errors of random sign add like sqrt(K), so the tests ask for max|dy| <= 0.05 max|y|;
// over 2000 random draws of these shapes (numpy model of the same rounding) the worst
// max|dy| / (0.05 max|y|) was 0.25 (int8), 0.33 (Conv, K = 18), 0.43 (uint8 reduce-range).
// LSTM/GRU: outputs lie in (-1, 1); a weight error <= max|w| / 254 moves a gate
// pre-activation by at most (I + H) / 254 = 0.028 per step, damped by sigmoid (slope
// <= 1/4) and tanh (<= 1); the worst max|dy| over 500 draws was 0.008: the tests ask
// for max|dy| <= 0.02.
#include <algorithm>
#include <cmath>

#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/passes/quantization/DynamicQuantization.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

QuantizeOptions dynamicOptions(bool perChannel = false, const std::string& weightType = "int8") {
  QuantizeOptions options;
  options.mode = "dynamic";
  options.perChannel = perChannel;
  options.weightType = weightType;
  options.minWeights = 0;  // the layers here are tiny
  return options;
}

QuantizationResult runDynamic(Model& m, const QuantizeOptions& options = dynamicOptions()) {
  auto result = quant::quantizeDynamic(m, options);
  EXPECT_TRUE(result) << result.status().message();
  Status verified = m.graph().verify();
  EXPECT_TRUE(verified.isOk()) << verified.message();
  return result ? *result : QuantizationResult{};
}

int64_t countInitializers(const Model& m, DataType dtype, size_t rank) {
  int64_t n = 0;
  m.graph().forEachGraph([&](const Graph& g) {
    for (const Value* v : g.initializers())
      n += v->initializer()->dtype() == dtype && v->initializer()->dims().size() == rank;
  });
  return n;
}

double maxAbs(const runtime::TensorData& t) {
  double m = 0;
  for (float v : t.span<float>()) m = std::max(m, std::fabs(static_cast<double>(v)));
  return m;
}

/// Expects every output of `after` within `relative` * max|y| (or `absolute`, when
/// given) of the float model's on the same inputs.
void expectCloseOutputs(const Model& before, const Model& after, const std::map<std::string, runtime::TensorData>& in,
                        double relative, double absolute = 0) {
  auto expected = runModel(before, in);
  auto actual = runModel(after, in);
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(actual[i].shape(), expected[i].shape()) << "output " << i;
    ASSERT_EQ(actual[i].dtype(), DataType::Float) << "output " << i;
    const double limit = absolute > 0 ? absolute : relative * maxAbs(expected[i]);
    auto cmp = runtime::allClose(actual[i], expected[i], 0, limit);
    EXPECT_TRUE(cmp.match) << "output " << i << " (limit " << limit << "): " << cmp.reason;
  }
}

void expectCloseOutputs(const Model& before, const Model& after, double relative, double absolute = 0) {
  expectCloseOutputs(before, after, randomInputs(before), relative, absolute);
}

constexpr double kRelative = 0.05;     // of max|y|, MatMul/Gemm/Conv (see the header)
constexpr double kRecurrentAbs = 0.02;  // LSTM/GRU outputs in (-1, 1) (see the header)

}  // namespace

TEST(DynamicQuantization, MatMulBecomesMatMulIntegerAndKeepsTheOutputName) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4,16] X) => (float[4,8] Y)
<float[16,8] B = $b$>
{
  Y = MatMul (X, B)
}
)", {{"$b$", seededLiteral(128, 1)}}).c_str());
  Model before = m.clone();
  QuantizationResult r = runDynamic(m);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(statistic(r, "MatMul"), 1);
  EXPECT_EQ(countOps(m, "DynamicQuantizeLinear"), 1);
  EXPECT_EQ(countOps(m, "MatMulInteger"), 1);
  EXPECT_EQ(countOps(m, "MatMul"), 0);
  EXPECT_EQ(countOps(m, "Cast"), 1);
  EXPECT_EQ(m.graph().findValue("B"), nullptr) << "the float weight is dropped";
  EXPECT_EQ(countInitializers(m, DataType::Int8, 2), 1);
  ASSERT_EQ(m.graph().outputs().size(), 1u);
  EXPECT_EQ(m.graph().outputs()[0]->name(), "Y");
  ASSERT_NE(m.graph().outputs()[0]->producer(), nullptr);
  EXPECT_EQ(m.graph().outputs()[0]->producer()->opType(), "Mul");
  ASSERT_EQ(r.quantized.size(), 1u);
  EXPECT_EQ(r.quantized[0].tensor, "B");
  EXPECT_EQ(r.quantized[0].role, "weight");
  EXPECT_EQ(r.quantized[0].dtype, "int8");
  EXPECT_EQ(r.quantized[0].axis, -1);
  ASSERT_TRUE(r.quantized[0].sqnrDb.has_value());
  EXPECT_GT(*r.quantized[0].sqnrDb, 40.0);  // 8-bit uniform weights: about 48 dB

  auto inputs = randomInputs(before);
  auto expected = runModel(before, inputs);
  auto actual = runModel(m, inputs);
  ASSERT_EQ(actual.size(), 1u);
  ASSERT_EQ(expected.size(), 1u);
  auto cmp = runtime::allClose(actual[0], expected[0], 0, 1e9);
  EXPECT_LE(cmp.maxAbsError, 0.189) << "worst-case bound K (s_x + s_w / 2 + s_x s_w / 2)";
  EXPECT_LE(cmp.maxAbsError, kRelative * maxAbs(expected[0]));
  (void)toProto(m);
}

TEST(DynamicQuantization, SharedWeightIsStoredOnceAndSharedInputQuantizedOnce) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4,16] X, float[4,16] Z) => (float[4,8] Y1, float[4,8] Y2, float[4,8] Y3)
<float[16,8] B = $b$>
{
  Y1 = MatMul (X, B)
  Y2 = MatMul (X, B)
  Y3 = MatMul (Z, B)
}
)", {{"$b$", seededLiteral(128, 2)}}).c_str());
  Model before = m.clone();
  QuantizationResult r = runDynamic(m);
  EXPECT_EQ(statistic(r, "MatMul"), 3);
  EXPECT_EQ(statistic(r, "weights quantized"), 1);
  EXPECT_EQ(countOps(m, "MatMulInteger"), 3);
  EXPECT_EQ(countOps(m, "DynamicQuantizeLinear"), 2) << "one for X (read twice), one for Z";
  EXPECT_EQ(countInitializers(m, DataType::Int8, 2), 1) << "the codes of B, once";
  EXPECT_EQ(countInitializers(m, DataType::Int8, 0), 1) << "its zero point, once";
  EXPECT_EQ(r.quantized.size(), 1u);
  expectCloseOutputs(before, m, kRelative);
}

TEST(DynamicQuantization, ConvBecomesConvIntegerPerChannelWithBias) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,6,6] X) => (float[1,3,3,3] Y)
<float[3,2,3,3] W = $w$, float[3] b = $b$>
{
  Y = Conv <pads = [1,1,1,1], strides = [2,2]> (X, W, b)
}
)", {{"$w$", seededLiteral(54, 3)}, {"$b$", seededLiteral(3, 4)}}).c_str());
  Model before = m.clone();
  QuantizationResult r = runDynamic(m, dynamicOptions(/*perChannel=*/true));
  EXPECT_EQ(statistic(r, "Conv"), 1);
  EXPECT_EQ(countOps(m, "ConvInteger"), 1);
  EXPECT_EQ(countOps(m, "Conv"), 0);
  EXPECT_EQ(countOps(m, "DynamicQuantizeLinear"), 1);
  EXPECT_EQ(countOps(m, "Add"), 1);
  EXPECT_EQ(m.graph().outputs()[0]->name(), "Y");
  ASSERT_EQ(r.quantized.size(), 1u);
  EXPECT_EQ(r.quantized[0].axis, 0);
  EXPECT_EQ(r.quantized[0].count, 3);
  Node* convInteger = nullptr;
  for (Node* n : m.graph().nodes())
    if (n->opType() == "ConvInteger") convInteger = n;
  ASSERT_NE(convInteger, nullptr);
  EXPECT_EQ(convInteger->intsAttr("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(convInteger->intsAttr("strides"), (std::vector<int64_t>{2, 2}));
  ASSERT_NE(convInteger->input(3), nullptr);
  ASSERT_NE(convInteger->input(3)->initializer(), nullptr);
  EXPECT_TRUE(convInteger->input(3)->initializer()->dims().empty())
      << "symmetric per-channel zero points are all 0: one scalar, as ONNX Runtime's ConvInteger requires";
  EXPECT_EQ(countInitializers(m, DataType::Float, 4), 2) << "the scale and the bias, shaped [1, 3, 1, 1]";
  expectCloseOutputs(before, m, kRelative);
}

TEST(DynamicQuantization, GemmWithTransBAndBiasPerChannel) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4,16] A) => (float[4,8] Y)
<float[8,16] B = $b$, float[8] C = $c$>
{
  Y = Gemm <transB = 1> (A, B, C)
}
)", {{"$b$", seededLiteral(128, 5)}, {"$c$", seededLiteral(8, 6)}}).c_str());
  Model before = m.clone();
  QuantizationResult r = runDynamic(m, dynamicOptions(/*perChannel=*/true));
  EXPECT_EQ(statistic(r, "Gemm"), 1);
  EXPECT_EQ(countOps(m, "Gemm"), 0);
  EXPECT_EQ(countOps(m, "MatMulInteger"), 1);
  EXPECT_EQ(countOps(m, "Add"), 1);
  EXPECT_EQ(m.graph().outputs()[0]->name(), "Y");
  EXPECT_EQ(countInitializers(m, DataType::Int8, 1), 1) << "b_zero_point: one per column N";
  expectCloseOutputs(before, m, kRelative);
}

TEST(DynamicQuantization, Uint8WeightsWithReduceRange) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4,16] X) => (float[4,8] Y)
<float[16,8] B = $b$>
{
  Y = MatMul (X, B)
}
)", {{"$b$", seededLiteral(128, 7)}}).c_str());
  Model before = m.clone();
  QuantizeOptions options = dynamicOptions(false, "uint8");
  options.reduceRange = true;
  QuantizationResult r = runDynamic(m, options);
  EXPECT_EQ(statistic(r, "MatMul"), 1);
  EXPECT_EQ(countInitializers(m, DataType::UInt8, 2), 1);
  ASSERT_EQ(r.quantized.size(), 1u);
  EXPECT_EQ(r.quantized[0].dtype, "uint8");
  expectCloseOutputs(before, m, kRelative);  // 7-bit steps: about twice the int8 error
}

TEST(DynamicQuantization, LstmBecomesDynamicQuantizeLstm) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[5,2,4] X) => (float[5,1,2,3] Y, float[1,2,3] Yh, float[1,2,3] Yc)
<float[1,12,4] W = $w$, float[1,12,3] R = $r$, float[1,24] B = $b$>
{
  Y, Yh, Yc = LSTM <hidden_size = 3> (X, W, R, B)
}
)", {{"$w$", seededLiteral(48, 8)}, {"$r$", seededLiteral(36, 9)}, {"$b$", seededLiteral(24, 10)}}).c_str());
  Model before = m.clone();
  QuantizationResult r = runDynamic(m);
  EXPECT_EQ(statistic(r, "LSTM"), 1);
  EXPECT_EQ(countOps(m, "LSTM"), 0);
  EXPECT_EQ(countOps(m, "DynamicQuantizeLSTM"), 1);
  EXPECT_EQ(m.opsetVersion("com.microsoft"), 1);
  Node* lstm = m.graph().findValue("Y")->producer();
  ASSERT_NE(lstm, nullptr);
  EXPECT_EQ(lstm->domain(), "com.microsoft");
  EXPECT_EQ(lstm->opType(), "DynamicQuantizeLSTM");
  EXPECT_EQ(m.graph().findValue("Yh")->producer(), lstm);
  EXPECT_EQ(m.graph().findValue("Yc")->producer(), lstm);
  ASSERT_EQ(lstm->numInputs(), 12u);
  ASSERT_NE(lstm->input(1)->initializer(), nullptr);
  EXPECT_EQ(lstm->input(1)->initializer()->dtype(), DataType::Int8);
  EXPECT_EQ(lstm->input(1)->initializer()->dims(), (std::vector<int64_t>{1, 4, 12})) << "W stored [D, I, 4H]";
  EXPECT_EQ(lstm->input(2)->initializer()->dims(), (std::vector<int64_t>{1, 3, 12})) << "R stored [D, H, 4H]";
  EXPECT_EQ(lstm->input(8)->initializer()->dims(), (std::vector<int64_t>{1})) << "W_scale per direction";
  EXPECT_EQ(lstm->input(9)->initializer()->dtype(), DataType::Int8);
  EXPECT_EQ(r.quantized.size(), 2u);
  expectCloseOutputs(before, m, 0, kRecurrentAbs);
  (void)toProto(m);
}

TEST(DynamicQuantization, BidirectionalLstmPerChannel) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[5,2,4] X) => (float[5,2,2,3] Y, float[2,2,3] Yh)
<float[2,12,4] W = $w$, float[2,12,3] R = $r$, float[2,24] B = $b$>
{
  Y, Yh = LSTM <hidden_size = 3, direction = "bidirectional"> (X, W, R, B)
}
)", {{"$w$", seededLiteral(96, 11)}, {"$r$", seededLiteral(72, 12)}, {"$b$", seededLiteral(48, 13)}}).c_str());
  Model before = m.clone();
  QuantizationResult r = runDynamic(m, dynamicOptions(/*perChannel=*/true));
  EXPECT_EQ(statistic(r, "LSTM"), 1);
  Node* lstm = m.graph().findValue("Y")->producer();
  ASSERT_NE(lstm, nullptr);
  ASSERT_EQ(lstm->numInputs(), 12u);
  EXPECT_EQ(lstm->input(1)->initializer()->dims(), (std::vector<int64_t>{2, 4, 12}));
  EXPECT_EQ(lstm->input(8)->initializer()->dims(), (std::vector<int64_t>{2, 12})) << "W_scale [D, 4H]";
  EXPECT_EQ(lstm->input(11)->initializer()->dims(), (std::vector<int64_t>{2, 12})) << "R_zero_point [D, 4H]";
  expectCloseOutputs(before, m, 0, kRecurrentAbs);
}

TEST(DynamicQuantization, GruWeightsAreQuantizedWeightOnly) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[5,2,4] X) => (float[5,1,2,3] Y, float[1,2,3] Yh)
<float[1,9,4] W = $w$, float[1,9,3] R = $r$, float[1,18] B = $b$>
{
  Y, Yh = GRU <hidden_size = 3> (X, W, R, B)
}
)", {{"$w$", seededLiteral(36, 14)}, {"$r$", seededLiteral(27, 15)}, {"$b$", seededLiteral(18, 16)}}).c_str());
  Model before = m.clone();
  QuantizationResult r = runDynamic(m);
  EXPECT_EQ(statistic(r, "GRU"), 1);
  EXPECT_EQ(statistic(r, "GRU weights (weight-only)"), 2);
  EXPECT_EQ(countOps(m, "GRU"), 1);
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 2);
  EXPECT_EQ(countInitializers(m, DataType::Int8, 3), 2);
  expectCloseOutputs(before, m, 0, kRecurrentAbs);
}

TEST(DynamicQuantization, MatMulsInIfBranchesReadingAnOuterWeight) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[4,16] X) => (float[4,8] Y)
<float[16,8] B = $b$>
{
  Y = If (c) <
    then_branch = t () => (float[4,8] yt) { yt = MatMul (X, B) },
    else_branch = e () => (float[4,8] ye) { u = Relu (X) ye = MatMul (u, B) }
  >
}
)", {{"$b$", seededLiteral(128, 17)}}).c_str());
  Model before = m.clone();
  QuantizationResult r = runDynamic(m);
  EXPECT_EQ(statistic(r, "MatMul"), 2);
  EXPECT_EQ(countOps(m, "MatMul"), 0);
  EXPECT_EQ(countOps(m, "MatMulInteger"), 2);
  EXPECT_EQ(countInitializers(m, DataType::Int8, 2), 1) << "stored once, in the main graph";
  EXPECT_EQ(m.graph().findValue("B"), nullptr);
  for (bool branch : {true, false}) {
    auto inputs = randomInputs(before);
    inputs["c"] = runtime::TensorData::fromVector(DataType::Bool, {}, std::vector<uint8_t>{branch});
    expectCloseOutputs(before, m, inputs, kRelative);
  }
}

TEST(DynamicQuantization, UnsupportedFormsAreSkippedAndCounted) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4,16] A, float[16,8] D) => (float[4,8] Y, float[4,8] Z)
<float[16,8] B = $b$, float[4,16] K = $k$>
{
  Y = Gemm <alpha = 2.0> (A, B)
  Z = MatMul (K, D)
}
)", {{"$b$", seededLiteral(128, 18)}, {"$k$", seededLiteral(64, 19)}}).c_str());
  QuantizationResult r = runDynamic(m);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(statistic(r, "skipped: Gemm with transA, alpha != 1 or beta != 1"), 1);
  EXPECT_EQ(statistic(r, "skipped: MatMul with a constant input 0"), 1);
  EXPECT_EQ(countOps(m, "Gemm"), 1);
  EXPECT_EQ(countOps(m, "MatMul"), 1);
  EXPECT_TRUE(r.quantized.empty());
}

TEST(DynamicQuantization, Opset10IsUpgradedTo11) {
  Model m = parseModel(substitute(R"(
<ir_version: 5, opset_import: ["" : 10]>
g (float[4,16] X) => (float[4,8] Y)
<float[16,8] B = $b$>
{
  Y = MatMul (X, B)
}
)", {{"$b$", seededLiteral(128, 20)}}).c_str());
  const Model original = m.clone();
  auto r = quant::quantizeDynamic(m, dynamicOptions());
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_GE(m.opsetVersion(""), 11);
  EXPECT_EQ(countOps(m, "MatMulInteger"), 1);
  expectSameOutputs(original, m, 0.05, 0.05);
}

TEST(DynamicQuantization, Int4WeightsAreAUsageError) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,2] X) => (float[2,2] Y)
<float[2,2] B = {1.0, 2.0, 3.0, 4.0}>
{
  Y = MatMul (X, B)
}
)");
  auto r = quant::quantizeDynamic(m, dynamicOptions(false, "int4"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), ErrorCode::Usage);
}
