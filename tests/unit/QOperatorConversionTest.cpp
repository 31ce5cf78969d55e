// QOperator conversion (convertToQOperator) and the com.microsoft kernels it relies on.
// Tolerance: one quantization step of the output scale. QDQ computes the float op on
// dequantized values then rounds; QLinearConv/QLinearMatMul accumulate in int32 and
// scale once, so a result can only round differently when it sits within float error
// of a rounding tie. Pools and QLinearAdd/Mul compute exactly what the QDQ graph does.
#include <algorithm>
#include <cmath>
#include <random>
#include <type_traits>

#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/passes/quantization/QOperatorConversion.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

PassResult convert(Model& m) {
  PassResult result;
  Status status = quant::convertToQOperator(m, result);
  EXPECT_TRUE(status.isOk()) << status.message();
  Status verified = m.graph().verify();
  EXPECT_TRUE(verified.isOk()) << verified.message();
  return result;
}

/// `n` integers uniform in [lo, hi] from a fixed seed.
std::vector<int> seededInts(int n, uint32_t seed, int lo, int hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(lo, hi);
  std::vector<int> v(static_cast<size_t>(n));
  for (int& x : v) x = u(rng);
  return v;
}

/// Bias scales x_scale * w_scale[c], in float as the quantizer computes them.
std::vector<float> productScales(float xs, const std::vector<float>& ws) {
  std::vector<float> out;
  for (float w : ws) out.push_back(xs * w);
  return out;
}

Node* firstOp(const Model& m, const std::string& opType) {
  for (Node* n : m.graph().nodes())
    if (n->opType() == opType) return n;
  return nullptr;
}

constexpr float kXs = 0.007843137f;  // 2/255: [-1, 1] on uint8 with zero point 128
const std::vector<float> kConvScales{0.004f, 0.006f, 0.005f};

}  // namespace

TEST(QOperatorConversion, ConvWithPerChannelWeightsAndInt32BiasBecomesQLinearConv) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,5,5] X) => (float[1,3,5,5] Y)
<float xs = {0.007843137}, uint8 xz = {128}, int8[3,2,3,3] W = $w$, float[3] ws = $ws$, int8[3] wz = {0, 0, 0},
 int32[3] B = $b$, float[3] bs = $bs$, float ys = {0.023529412}, uint8 yz = {128}>
{
  Xq = QuantizeLinear (X, xs, xz)
  Xd = DequantizeLinear (Xq, xs, xz)
  Wd = DequantizeLinear <axis = 0> (W, ws, wz)
  Bd = DequantizeLinear <axis = 0> (B, bs)
  T = Conv <pads = [1, 1, 1, 1]> (Xd, Wd, Bd)
  Tq = QuantizeLinear (T, ys, yz)
  Y = DequantizeLinear (Tq, ys, yz)
}
)", {{"$w$", literal(seededInts(54, 1, -127, 127))}, {"$ws$", literal(kConvScales)},
     {"$b$", literal(seededInts(3, 2, -2000, 2000))}, {"$bs$", literal(productScales(kXs, kConvScales))}}).c_str());
  producerOf(m, "T")->setName("conv1");
  Model before = m.clone();
  PassResult r = convert(m);

  EXPECT_EQ(statistic(r, "QLinearConv written"), 1);
  EXPECT_EQ(statistic(r, "biases requantized"), 0);  // the int32 codes are at x_scale * w_scale already
  EXPECT_EQ(countOps(m, "Conv"), 0);
  EXPECT_EQ(countOps(m, "QuantizeLinear"), 1);    // the float input's
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 1);  // the float output's
  Node* qconv = firstOp(m, "QLinearConv");
  ASSERT_NE(qconv, nullptr);
  EXPECT_EQ(qconv->name(), "conv1");
  EXPECT_EQ(qconv->domain(), "");
  ASSERT_EQ(qconv->numInputs(), 9u);
  EXPECT_EQ(qconv->input(0)->name(), "Xq");
  EXPECT_EQ(qconv->input(3)->name(), "W");
  EXPECT_EQ(qconv->input(4)->name(), "ws");
  EXPECT_EQ(qconv->input(8)->name(), "B");
  EXPECT_EQ(qconv->intsAttr("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(qconv->output(0)->name(), "Tq");
  EXPECT_EQ(qconv->output(0)->type().elemType, DataType::UInt8);
  // The graph output keeps its name and stays float.
  ASSERT_EQ(m.graph().outputs().size(), 1u);
  EXPECT_EQ(m.graph().outputs()[0]->name(), "Y");
  EXPECT_EQ(m.graph().outputs()[0]->producer()->opType(), "DequantizeLinear");
  EXPECT_EQ(m.graph().findValue("Wd"), nullptr);
  EXPECT_EQ(m.opsetVersion("com.microsoft"), 0);  // no contrib op written
  expectSameOutputs(before, m, 0, 0.023529412 * 1.001);
}

TEST(QOperatorConversion, FloatBiasIsQuantizedAtInputTimesWeightScale) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float xs = {0.007843137}, uint8 xz = {128}, int8[3,2,3,3] W = $w$, float[3] ws = $ws$, int8[3] wz = {0, 0, 0},
 float[3] B = {0.05, -0.1, 0.02}, float ys = {0.023529412}, uint8 yz = {128}>
{
  Xq = QuantizeLinear (X, xs, xz)
  Xd = DequantizeLinear (Xq, xs, xz)
  Wd = DequantizeLinear <axis = 0> (W, ws, wz)
  T = Conv <pads = [1, 1, 1, 1]> (Xd, Wd, B)
  Tq = QuantizeLinear (T, ys, yz)
  Y = DequantizeLinear (Tq, ys, yz)
}
)", {{"$w$", literal(seededInts(54, 3, -127, 127))}, {"$ws$", literal(kConvScales)}}).c_str());
  Model before = m.clone();
  PassResult r = convert(m);
  EXPECT_EQ(statistic(r, "QLinearConv written"), 1);
  EXPECT_EQ(statistic(r, "biases requantized"), 1);
  Node* qconv = firstOp(m, "QLinearConv");
  ASSERT_NE(qconv, nullptr);
  ASSERT_EQ(qconv->numInputs(), 9u);
  const Tensor* bias = qconv->input(8)->initializer();
  ASSERT_NE(bias, nullptr);
  ASSERT_EQ(bias->dtype(), DataType::Int32);
  const std::vector<float> scales = productScales(kXs, kConvScales);
  const float floatBias[3] = {0.05f, -0.1f, 0.02f};
  for (int c = 0; c < 3; ++c)
    EXPECT_EQ(bias->data<int32_t>()[c], static_cast<int32_t>(std::nearbyint(floatBias[c] / static_cast<double>(scales[c]))));
  EXPECT_EQ(m.graph().findValue("B"), nullptr);  // the float bias is gone
  // The bias moves by at most half a step of x_scale * w_scale, far below one output step.
  expectSameOutputs(before, m, 0, 0.023529412 * 1.001);
}

TEST(QOperatorConversion, MaxPoolBetweenQuantizedConvsRunsOnIntegers) {
  const std::vector<float> w2s{0.006f, 0.004f};
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,6,6] X) => (float[1,2,3,3] Y)
<float xs = {0.007843137}, uint8 xz = {128}, int8[3,2,3,3] W1 = $w1$, float[3] w1s = $w1s$, int8[3] w1z = {0, 0, 0},
 float ts = {0.023529412}, uint8 tz = {128}, int8[2,3,1,1] W2 = $w2$, float[2] w2s = $w2s$, int8[2] w2z = {0, 0},
 float us = {0.03}, uint8 uz = {100}>
{
  Xq = QuantizeLinear (X, xs, xz)
  Xd = DequantizeLinear (Xq, xs, xz)
  W1d = DequantizeLinear <axis = 0> (W1, w1s, w1z)
  T = Conv <pads = [1, 1, 1, 1]> (Xd, W1d)
  Tq = QuantizeLinear (T, ts, tz)
  Td = DequantizeLinear (Tq, ts, tz)
  P = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (Td)
  Pq = QuantizeLinear (P, ts, tz)
  Pd = DequantizeLinear (Pq, ts, tz)
  W2d = DequantizeLinear <axis = 0> (W2, w2s, w2z)
  U = Conv (Pd, W2d)
  Uq = QuantizeLinear (U, us, uz)
  Y = DequantizeLinear (Uq, us, uz)
}
)", {{"$w1$", literal(seededInts(54, 4, -127, 127))}, {"$w1s$", literal(kConvScales)},
     {"$w2$", literal(seededInts(6, 5, -127, 127))}, {"$w2s$", literal(w2s)}}).c_str());
  Model before = m.clone();
  PassResult r = convert(m);

  EXPECT_EQ(statistic(r, "QLinearConv written"), 2);
  EXPECT_EQ(statistic(r, "MaxPool on integers"), 1);
  EXPECT_EQ(countOps(m, "Conv"), 0);
  EXPECT_EQ(countOps(m, "QuantizeLinear"), 1);
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 1);
  Node* pool = firstOp(m, "MaxPool");
  ASSERT_NE(pool, nullptr);
  ASSERT_NE(pool->input(0)->producer(), nullptr);
  EXPECT_EQ(pool->input(0)->producer()->opType(), "QLinearConv");
  ASSERT_EQ(pool->output(0)->uses().size(), 1u);
  EXPECT_EQ(pool->output(0)->uses()[0].node->opType(), "QLinearConv");
  EXPECT_EQ(pool->output(0)->type().elemType, DataType::UInt8);
  expectSameOutputs(before, m, 0, 0.03 * 1.001);
}

TEST(QOperatorConversion, MatMulWithPerColumnWeightsBecomesQLinearMatMul) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,4] A) => (float[2,3] Y)
<float as = {0.007843137}, uint8 az = {128}, int8[4,3] B = $b$, float[3] bs = {0.005, 0.008, 0.006},
 int8[3] bz = {0, 0, 0}, float ys = {0.015686275}, uint8 yz = {128}>
{
  Aq = QuantizeLinear (A, as, az)
  Ad = DequantizeLinear (Aq, as, az)
  Bd = DequantizeLinear <axis = 1> (B, bs, bz)
  T = MatMul (Ad, Bd)
  Tq = QuantizeLinear (T, ys, yz)
  Y = DequantizeLinear (Tq, ys, yz)
}
)", {{"$b$", literal(seededInts(12, 6, -127, 127))}}).c_str());
  Model before = m.clone();
  PassResult r = convert(m);
  EXPECT_EQ(statistic(r, "QLinearMatMul written"), 1);
  EXPECT_EQ(countOps(m, "MatMul"), 0);
  Node* qmm = firstOp(m, "QLinearMatMul");
  ASSERT_NE(qmm, nullptr);
  ASSERT_EQ(qmm->numInputs(), 8u);
  EXPECT_EQ(qmm->input(3)->name(), "B");
  EXPECT_EQ(qmm->input(4)->name(), "bs");
  expectSameOutputs(before, m, 0, 0.015686275 * 1.001);
}

TEST(QOperatorConversion, MatMulWithPerRowWeightScaleIsSkippedAndCounted) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,4] A) => (float[2,3] Y)
<float as = {0.007843137}, uint8 az = {128}, int8[4,3] B = $b$, float[4] bs = {0.005, 0.008, 0.006, 0.007},
 int8[4] bz = {0, 0, 0, 0}, float ys = {0.015686275}, uint8 yz = {128}>
{
  Aq = QuantizeLinear (A, as, az)
  Ad = DequantizeLinear (Aq, as, az)
  Bd = DequantizeLinear <axis = 0> (B, bs, bz)
  T = MatMul (Ad, Bd)
  Tq = QuantizeLinear (T, ys, yz)
  Y = DequantizeLinear (Tq, ys, yz)
}
)", {{"$b$", literal(seededInts(12, 7, -127, 127))}}).c_str());
  PassResult r = convert(m);
  EXPECT_EQ(statistic(r, "skipped MatMul: weight scale is not per column of a 2-D weight"), 1);
  EXPECT_EQ(countOps(m, "QLinearMatMul"), 0);
  EXPECT_EQ(countOps(m, "MatMul"), 1);
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 3);
  EXPECT_EQ(countOps(m, "QuantizeLinear"), 2);
}

TEST(QOperatorConversion, AddAndMulOfQuantizedTensorsBecomeContribOpsWithBroadcasting) {
  // int8 activations; X2 broadcasts along the rows.
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[3,4] X1, float[1,4] X2) => (float[3,4] S, float[3,4] P)
<float s1 = {0.007874016}, int8 z1 = {0}, float s2 = {0.0090}, int8 z2 = {-5},
 float st = {0.0157}, int8 zt = {2}>
{
  X1q = QuantizeLinear (X1, s1, z1)
  X1d = DequantizeLinear (X1q, s1, z1)
  X2q = QuantizeLinear (X2, s2, z2)
  X2d = DequantizeLinear (X2q, s2, z2)
  T = Add (X1d, X2d)
  Tq = QuantizeLinear (T, st, zt)
  S = DequantizeLinear (Tq, st, zt)
  U = Mul (X1d, X2d)
  Uq = QuantizeLinear (U, st, zt)
  P = DequantizeLinear (Uq, st, zt)
}
)");
  Model before = m.clone();
  PassResult r = convert(m);
  EXPECT_EQ(statistic(r, "QLinearAdd written"), 1);
  EXPECT_EQ(statistic(r, "QLinearMul written"), 1);
  EXPECT_EQ(countOps(m, "Add"), 0);
  EXPECT_EQ(countOps(m, "Mul"), 0);
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 2);  // the two float outputs
  Node* add = firstOp(m, "QLinearAdd");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->domain(), "com.microsoft");
  ASSERT_EQ(add->numInputs(), 8u);
  EXPECT_EQ(add->input(0)->name(), "X1q");
  EXPECT_EQ(add->input(3)->name(), "X2q");
  EXPECT_EQ(m.opsetVersion("com.microsoft"), 1);
  expectSameOutputs(before, m, 0, 0.0157 * 1.001);
}

TEST(QOperatorConversion, GemmBecomesQGemmWithQuantizedOrFloatOutput) {
  // T = Gemm(A, B^T, C) is quantized; Y = Gemm(T, B2) is the float graph output.
  const std::vector<float> bs{0.005f, 0.008f, 0.006f};
  const std::vector<int> b2 = seededInts(6, 9, -127, 127);
  constexpr float ts = 0.0235f, b2s = 0.004f;
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,4] A) => (float[2,2] Y)
<float as = {0.007843137}, uint8 az = {128}, int8[3,4] B = $b$, float[3] bs = $bs$, int8[3] bz = {0, 0, 0},
 int32[3] C = $c$, float[3] cs = $cs$, float ts = {0.0235}, uint8 tz = {128},
 int8[3,2] B2 = $b2$, float b2s = {0.004}, int8 b2z = {0}>
{
  Aq = QuantizeLinear (A, as, az)
  Ad = DequantizeLinear (Aq, as, az)
  Bd = DequantizeLinear <axis = 0> (B, bs, bz)
  Cd = DequantizeLinear <axis = 0> (C, cs)
  T = Gemm <transB = 1> (Ad, Bd, Cd)
  Tq = QuantizeLinear (T, ts, tz)
  Td = DequantizeLinear (Tq, ts, tz)
  B2d = DequantizeLinear (B2, b2s, b2z)
  Y = Gemm (Td, B2d)
}
)", {{"$b$", literal(seededInts(12, 8, -127, 127))}, {"$bs$", literal(bs)},
     {"$c$", literal(seededInts(3, 10, -3000, 3000))}, {"$cs$", literal(productScales(kXs, bs))},
     {"$b2$", literal(b2)}}).c_str());
  Model before = m.clone();
  PassResult r = convert(m);
  EXPECT_EQ(statistic(r, "QGemm written"), 2);
  EXPECT_EQ(statistic(r, "biases requantized"), 0);
  EXPECT_EQ(countOps(m, "Gemm"), 0);
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 0);
  EXPECT_EQ(m.opsetVersion("com.microsoft"), 1);
  toProto(m);  // exports (fails the test otherwise)
  Node* first = producerOf(m, "Tq");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->opType(), "QGemm");
  EXPECT_EQ(first->domain(), "com.microsoft");
  ASSERT_EQ(first->numInputs(), 9u);
  EXPECT_EQ(first->input(6)->name(), "C");
  EXPECT_EQ(first->intAttr("transB", 0), 1);
  EXPECT_EQ(first->attribute("beta"), nullptr);
  Node* last = producerOf(m, "Y");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->opType(), "QGemm");
  EXPECT_EQ(last->numInputs(), 6u);  // no C, no y_scale: float output
  EXPECT_EQ(last->input(0)->name(), "Tq");
  // Y is float; T can only differ by one step at a rounding tie, which moves Y by at
  // most ts times the largest column sum of |B2| * b2s.
  double columnSum = 0;
  for (int n = 0; n < 2; ++n) columnSum = std::max(columnSum, (std::abs(b2[n]) + std::abs(b2[2 + n]) + std::abs(b2[4 + n])) * 1.0);
  expectSameOutputs(before, m, 1e-5, 1e-5 + ts * b2s * columnSum);
}

TEST(QOperatorConversion, AveragePoolsBecomeContribOps) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,2,2,2] Y, float[1,2,1,1] Z)
<float xs = {0.007843137}, uint8 xz = {128}, float ps = {0.0039}, uint8 pz = {128}>
{
  Xq = QuantizeLinear (X, xs, xz)
  Xd = DequantizeLinear (Xq, xs, xz)
  P = AveragePool <kernel_shape = [2, 2], strides = [2, 2]> (Xd)
  Pq = QuantizeLinear (P, ps, pz)
  Y = DequantizeLinear (Pq, ps, pz)
  G = GlobalAveragePool (Xd)
  Gq = QuantizeLinear (G, ps, pz)
  Z = DequantizeLinear (Gq, ps, pz)
}
)");
  Model before = m.clone();
  PassResult r = convert(m);
  EXPECT_EQ(statistic(r, "QLinearAveragePool written"), 1);
  EXPECT_EQ(statistic(r, "QLinearGlobalAveragePool written"), 1);
  Node* pool = firstOp(m, "QLinearAveragePool");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->intsAttr("kernel_shape"), (std::vector<int64_t>{2, 2}));
  Node* global = firstOp(m, "QLinearGlobalAveragePool");
  ASSERT_NE(global, nullptr);
  EXPECT_EQ(global->intAttr("channels_last", -1), 0);
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 2);
  expectSameOutputs(before, m, 0, 0.0039 * 1.001);
}

TEST(QOperatorConversion, ConvWhoseOutputIsNotQuantizedIsSkippedAndCounted) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float xs = {0.007843137}, uint8 xz = {128}, int8[3,2,3,3] W = $w$, float[3] ws = $ws$, int8[3] wz = {0, 0, 0}>
{
  Xq = QuantizeLinear (X, xs, xz)
  Xd = DequantizeLinear (Xq, xs, xz)
  Wd = DequantizeLinear <axis = 0> (W, ws, wz)
  Y = Conv <pads = [1, 1, 1, 1]> (Xd, Wd)
}
)", {{"$w$", literal(seededInts(54, 11, -127, 127))}, {"$ws$", literal(kConvScales)}}).c_str());
  Model before = m.clone();
  PassResult r = convert(m);
  EXPECT_EQ(statistic(r, "skipped Conv: output not quantized"), 1);
  EXPECT_EQ(countOps(m, "Conv"), 1);
  EXPECT_EQ(countOps(m, "QLinearConv"), 0);
  expectSameOutputs(before, m, 0, 0);
}

TEST(QOperatorConversion, DequantizeThenQuantizeWithTheSameParametersIsRemoved) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
<float xs = {0.007843137}, uint8 xz = {128}>
{
  Xq = QuantizeLinear (X, xs, xz)
  Xd = DequantizeLinear (Xq, xs, xz)
  Xq2 = QuantizeLinear (Xd, xs, xz)
  Y = DequantizeLinear (Xq2, xs, xz)
}
)");
  Model before = m.clone();
  PassResult r = convert(m);
  EXPECT_EQ(statistic(r, "Q/DQ pairs removed"), 1);
  EXPECT_EQ(countOps(m, "QuantizeLinear"), 1);
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 1);
  Node* y = producerOf(m, "Y");
  ASSERT_NE(y, nullptr);
  ASSERT_NE(y->input(0)->producer(), nullptr);
  EXPECT_EQ(y->input(0)->producer()->opType(), "QuantizeLinear");
  expectSameOutputs(before, m, 0, 0);
}

TEST(QOperatorConversion, QLinearAddKernelRoundsHalfToEvenAndBroadcasts) {
  // A = (a - 10) * 0.5 = {0, 5, 10, 15}; B = (b - 5) * 0.25 = {0, 0.5}; C = round(A + B).
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13, "com.microsoft" : 1]>
g (uint8[2,2] A) => (uint8[2,2] C)
<float as = {0.5}, uint8 az = {10}, uint8[2] B = {5, 7}, float bs = {0.25}, uint8 bz = {5}, float cs = {1.0}, uint8 cz = {0}>
{
  C = com.microsoft.QLinearAdd (A, as, az, B, bs, bz, cs, cz)
}
)");
  auto out = runModel(m, {{"A", runtime::TensorData::fromVector<uint8_t>(DataType::UInt8, {2, 2}, {10, 20, 30, 40})}});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].dtype(), DataType::UInt8);
  const std::vector<uint8_t> expected{0, 6, 10, 16};  // 5.5 -> 6, 15.5 -> 16
  EXPECT_EQ(std::vector<uint8_t>(out[0].data<uint8_t>(), out[0].data<uint8_t>() + 4), expected);
}

TEST(QOperatorConversion, QLinearGlobalAveragePoolKernelHandlesChannelsLast) {
  // NHWC [1, 2, 2, 3]: channel k holds k, k+3, k+6, k+9 with means 4.5, 5.5, 6.5.
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13, "com.microsoft" : 1]>
g (int8[1,2,2,3] X) => (int8[1,1,1,3] Y)
<float s = {1.0}, int8 z = {0}>
{
  Y = com.microsoft.QLinearGlobalAveragePool <channels_last = 1> (X, s, z, s, z)
}
)");
  auto out = runModel(m, {{"X", runtime::TensorData::fromVector<int8_t>(DataType::Int8, {1, 2, 2, 3},
                                                                         {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (runtime::Shape{1, 1, 1, 3}));
  const std::vector<int8_t> expected{4, 6, 6};  // half to even
  EXPECT_EQ(std::vector<int8_t>(out[0].data<int8_t>(), out[0].data<int8_t>() + 3), expected);
}
