// quantize{mode=weight-only} and the opset upgrade it needs.
//
// Tolerance: a weight-only model computes in float with the dequantized weights, and
// quantize-dequantize moves each weight by at most half its step s (round to nearest;
// the scales of QuantizeCommon.h never clip a weight by more than that). Hence:
//   MatMul y = x W:  |y_q - y| <= sum_k |x_k| s(k, n) / 2, computed per output from the
//                    scales the pass wrote (expectWithinRoundingBound), with 0.1% slack
//                    for the float scale arithmetic and 1e-4 absolute for float32
//                    accumulation over at most 80 products of size <= 1;
//   Gather:          |e_q - e| <= s / 2 <= (max|E| / 127) / 2 < 1 / 254 for int8 and a
//                    table in [-1, 1): atol 0.004.
// Outputs that do not depend on a quantized weight must not change (atol 1e-6).
#include <cmath>
#include <functional>

#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/quantization/OpsetUpgrade.h"
#include "onnxpress/passes/quantization/WeightOnlyQuantization.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

QuantizeOptions weightOnly(const std::string& type, int64_t blockSize, bool matmulNBits = false) {
  QuantizeOptions o;
  o.mode = "weight-only";
  o.weightType = type;
  o.blockSize = blockSize;
  o.matmulNBits = matmulNBits;
  return o;
}

QuantizationResult quantize(Model& m, const QuantizeOptions& options) {
  Expected<QuantizationResult> r = quant::quantizeWeightOnly(m, options);
  EXPECT_TRUE(r) << r.status().message();
  Status verified = m.graph().verify();
  EXPECT_TRUE(verified.isOk()) << verified.message();
  return r ? *r : QuantizationResult{};
}

Node* firstNode(const Model& m, const std::string& opType) {
  Node* found = nullptr;
  m.graph().forEachGraph([&](const Graph& g) {
    for (Node* n : g.nodes())
      if (!found && n->opType() == opType) found = n;
  });
  return found;
}

size_t initializerBytes(const Model& m) {
  size_t bytes = 0;
  for (const Value* v : m.graph().initializers()) bytes += v->initializer()->byteSize();
  return bytes;
}

int64_t initializersOfType(const Model& m, DataType dtype) {
  int64_t n = 0;
  for (const Value* v : m.graph().initializers()) n += v->initializer()->dtype() == dtype;
  return n;
}

std::vector<float> constantFloats(const Value* v) {
  const Tensor* t = constantTensor(v);
  EXPECT_NE(t, nullptr);
  if (!t) return {};
  std::optional<std::vector<float>> values = floatValues(*t);
  EXPECT_TRUE(values);
  return values ? *values : std::vector<float>{};
}

// Output `output` of `quantized` against `reference` for y = x W with x the input `x`
// [rows, K] and W [K, N] of step s(k, n): see the bound in the file comment.
void expectWithinRoundingBound(const Model& reference, const Model& quantized, const std::string& x, size_t output,
                               int64_t K, int64_t N, const std::function<double(int64_t, int64_t)>& step) {
  auto inputs = randomInputs(reference);
  auto expected = runModel(reference, inputs);
  auto actual = runModel(quantized, inputs);
  ASSERT_GT(expected.size(), output);
  ASSERT_GT(actual.size(), output);
  const runtime::TensorData& in = inputs.at(x);
  const int64_t rows = in.numElements() / K;
  ASSERT_EQ(expected[output].numElements(), rows * N);
  ASSERT_EQ(actual[output].numElements(), rows * N);
  const float* px = in.data<float>();
  const float* pe = expected[output].data<float>();
  const float* pa = actual[output].data<float>();
  double largestError = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < N; ++n) {
      double bound = 0;
      for (int64_t k = 0; k < K; ++k) bound += std::fabs(px[r * K + k]) * step(k, n) / 2;
      const double error = std::fabs(static_cast<double>(pa[r * N + n]) - pe[r * N + n]);
      largestError = std::max(largestError, error);
      EXPECT_LE(error, bound * 1.001 + 1e-4) << "output " << output << " [" << r << ", " << n << "]";
    }
  EXPECT_GT(largestError, 0.0) << "the weights were not quantized";
}

const char* kMatMul = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[4,64] X) => (float[4,32] Y)
<float[64,32] W = $w$>
{
  Y = MatMul (X, W)
}
)";

}  // namespace

TEST(WeightOnlyQuantization, MatMulInt4InBlocksOf32UpgradesToOpset21AndShrinksTheWeight8x) {
  const std::string text = substitute(kMatMul, {{"$w$", seededLiteral(64 * 32, 1)}});
  Model before = parseModel(text.c_str());
  Model m = parseModel(text.c_str());
  QuantizationResult r = quantize(m, weightOnly("int4", 32));
  EXPECT_EQ(statistic(r, "MatMul"), 1);
  EXPECT_EQ(statistic(r, "opset upgraded to 21"), 1);
  EXPECT_EQ(m.opsetVersion(""), 21);
  EXPECT_EQ(m.irVersion, 10);

  EXPECT_EQ(countOps(m, "DequantizeLinear"), 1);
  Node* dq = firstNode(m, "DequantizeLinear");
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(dq->intAttr("block_size", 0), 32);
  EXPECT_EQ(dq->intAttr("axis", 1), 0);
  const Tensor* q = constantTensor(dq->input(0));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->dtype(), DataType::Int4);
  EXPECT_EQ(q->dims(), (std::vector<int64_t>{64, 32}));
  EXPECT_GE(initializersOfType(m, DataType::Int4), 1);  // codes (and zero points)
  EXPECT_EQ(m.graph().findValue("W"), nullptr);         // the float weight is gone
  Node* matmul = firstNode(m, "MatMul");
  ASSERT_NE(matmul, nullptr);
  EXPECT_EQ(matmul->input(1), dq->output(0));

  // 4-bit codes are exactly 1/8 of the float32 bytes; with one float scale (1 bit per
  // weight) and at most one 4-bit zero point per block of 32: 1024 + 256 (+ 32) bytes
  // against 8192, 6.2x overall.
  EXPECT_EQ(q->byteSize() * 8, initializerBytes(before));
  EXPECT_GE(initializerBytes(m), 1024u + 256u);
  EXPECT_LE(initializerBytes(m), 1024u + 256u + 32u);

  ASSERT_EQ(r.quantized.size(), 1u);
  EXPECT_EQ(r.quantized[0].tensor, "W");
  EXPECT_EQ(r.quantized[0].role, "weight");
  EXPECT_EQ(r.quantized[0].dtype, "int4");
  EXPECT_EQ(r.quantized[0].blockSize, 32);
  EXPECT_EQ(r.quantized[0].count, 2 * 32);
  ASSERT_TRUE(r.quantized[0].sqnrDb);
  EXPECT_GT(*r.quantized[0].sqnrDb, 15.0);  // uniform weights, 4 bits: about 6 dB per bit

  const std::vector<float> scales = constantFloats(dq->input(1));  // [K/32, N]
  ASSERT_EQ(scales.size(), 2u * 32u);
  expectWithinRoundingBound(before, m, "X", 0, 64, 32, [&](int64_t k, int64_t n) { return scales[(k / 32) * 32 + n]; });
}

TEST(WeightOnlyQuantization, MatMulNBitsPacksSignedAndUnsignedCodesWithPaddedLastBlock) {
  // K = 80: blocks of 32, 32 and 16 (+16 padding), N = 24.
  for (const char* type : {"int4", "uint4"}) {
    SCOPED_TRACE(type);
    const std::string text = substitute(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[3,80] X) => (float[3,24] Y)
<float[80,24] W = $w$>
{
  Y = MatMul (X, W)
}
)", {{"$w$", seededLiteral(80 * 24, 2)}});
    Model before = parseModel(text.c_str());
    Model m = parseModel(text.c_str());
    QuantizationResult r = quantize(m, weightOnly(type, 32, /*matmulNBits=*/true));
    EXPECT_EQ(statistic(r, "MatMul as MatMulNBits"), 1);
    EXPECT_EQ(countOps(m, "MatMulNBits"), 1);
    EXPECT_EQ(countOps(m, "MatMul"), 0);
    EXPECT_EQ(countOps(m, "DequantizeLinear"), 0);
    EXPECT_EQ(m.opsetVersion(""), 17);  // no upgrade: MatMulNBits is a com.microsoft op
    EXPECT_EQ(m.opsetVersion("com.microsoft"), 1);
    EXPECT_EQ(m.graph().findValue("W"), nullptr);

    Node* nbits = firstNode(m, "MatMulNBits");
    ASSERT_NE(nbits, nullptr);
    EXPECT_EQ(nbits->domain(), "com.microsoft");
    EXPECT_EQ(nbits->output(0)->name(), "Y");
    EXPECT_EQ(nbits->intAttr("K", 0), 80);
    EXPECT_EQ(nbits->intAttr("N", 0), 24);
    EXPECT_EQ(nbits->intAttr("bits", 0), 4);
    EXPECT_EQ(nbits->intAttr("block_size", 0), 32);
    ASSERT_EQ(nbits->numInputs(), 4u);
    const Tensor* b = constantTensor(nbits->input(1));
    const Tensor* zp = constantTensor(nbits->input(3));
    ASSERT_TRUE(b && zp);
    EXPECT_EQ(b->dtype(), DataType::UInt8);
    EXPECT_EQ(b->dims(), (std::vector<int64_t>{24, 3, 16}));
    EXPECT_EQ(zp->dtype(), DataType::UInt8);
    EXPECT_EQ(zp->numElements(), 24 * 2);  // ceil(3 blocks * 4 bits / 8) bytes per column
    const std::vector<float> scales = constantFloats(nbits->input(2));
    ASSERT_EQ(scales.size(), 24u * 3u);

    const std::span<const uint8_t> zpBytes = zp->data<uint8_t>();
    const std::span<const uint8_t> codes = b->data<uint8_t>();
    for (int64_t n = 0; n < 24; ++n) {
      if (std::string(type) == "int4") {
        // Symmetric int4: zero point 0 stored as 8 (two per byte, low nibble first).
        EXPECT_EQ(zpBytes[n * 2], 0x88) << n;
        EXPECT_EQ(zpBytes[n * 2 + 1], 0x08) << n;
      }
      // Padding k = 80..95 (the second half of block 2) holds the zero point: it dequantizes to 0.
      const uint8_t z = (zpBytes[n * 2 + 1] & 0x0F);
      for (int64_t j = 16; j < 32; j += 2)
        EXPECT_EQ(codes[(n * 3 + 2) * 16 + j / 2], static_cast<uint8_t>(z | (z << 4))) << n << " " << j;
    }
    ASSERT_EQ(r.quantized.size(), 1u);
    EXPECT_EQ(r.quantized[0].tensor, "W");
    EXPECT_EQ(r.quantized[0].dtype, type);

    expectWithinRoundingBound(before, m, "X", 0, 80, 24,
                              [&](int64_t k, int64_t n) { return scales[n * 3 + k / 32]; });
  }
}

TEST(WeightOnlyQuantization, GatherEmbeddingInt8BlocksAlongTheRow) {
  const std::string text = substitute(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (int64[3,5] I) => (float[3,5,64] Y)
<float[100,64] E = $e$>
{
  Y = Gather (E, I)
}
)", {{"$e$", seededLiteral(100 * 64, 3)}});
  Model before = parseModel(text.c_str());
  Model m = parseModel(text.c_str());
  QuantizationResult r = quantize(m, weightOnly("int8", 32));
  EXPECT_EQ(statistic(r, "Gather"), 1);
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 1);
  EXPECT_EQ(countOps(m, "Gather"), 1);
  Node* dq = firstNode(m, "DequantizeLinear");
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(dq->intAttr("axis", 1), 1);
  EXPECT_EQ(dq->intAttr("block_size", 0), 32);
  const Tensor* q = constantTensor(dq->input(0));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->dtype(), DataType::Int8);
  EXPECT_EQ(constantTensor(dq->input(1))->dims(), (std::vector<int64_t>{100, 2}));
  Node* gather = firstNode(m, "Gather");
  ASSERT_NE(gather, nullptr);
  EXPECT_EQ(gather->input(0), dq->output(0));
  EXPECT_EQ(m.graph().findValue("E"), nullptr);
  ASSERT_EQ(r.quantized.size(), 1u);
  EXPECT_EQ(r.quantized[0].role, "embedding");

  std::map<std::string, runtime::TensorData> inputs;
  inputs.emplace("I", runtime::TensorData::fromVector<int64_t>(
                          DataType::Int64, {3, 5}, {0, 1, 2, 3, 4, 17, 33, 50, 64, 71, 88, 95, 97, 98, 99}));
  auto expected = runModel(before, inputs);
  auto actual = runModel(m, inputs);
  ASSERT_EQ(expected.size(), 1u);
  ASSERT_EQ(actual.size(), 1u);
  auto cmp = runtime::allClose(actual[0], expected[0], 0, 0.004);
  EXPECT_TRUE(cmp.match) << cmp.reason;
  EXPECT_GT(cmp.maxAbsError, 0.0);
}

TEST(WeightOnlyQuantization, UpgradeFromOpset13MovesReduceMeanAxesToAnInput) {
  const std::string text = substitute(R"(
<ir_version: 7, opset_import: ["" : 13]>
g (float[4,64] X) => (float[4,32] Y, float[4,1] M)
<float[64,32] W = $w$>
{
  Y = MatMul (X, W)
  M = ReduceMean <axes = [1]> (X)
}
)", {{"$w$", seededLiteral(64 * 32, 4)}});
  Model before = parseModel(text.c_str());
  Model m = parseModel(text.c_str());
  QuantizationResult r = quantize(m, weightOnly("int4", 32));
  EXPECT_EQ(statistic(r, "opset upgraded to 21"), 1);
  EXPECT_EQ(statistic(r, "opset upgrade: ReduceMean axes attribute moved to an input"), 1);
  EXPECT_EQ(m.opsetVersion(""), 21);
  EXPECT_EQ(m.irVersion, 10);

  Node* reduce = firstNode(m, "ReduceMean");
  ASSERT_NE(reduce, nullptr);
  EXPECT_EQ(reduce->attribute("axes"), nullptr);
  ASSERT_EQ(reduce->numInputs(), 2u);
  const Tensor* axes = constantTensor(reduce->input(1));
  ASSERT_NE(axes, nullptr);
  EXPECT_EQ(axes->dtype(), DataType::Int64);
  EXPECT_EQ(*intValues(*axes), (std::vector<int64_t>{1}));
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 1);

  auto inputs = randomInputs(before);
  auto expected = runModel(before, inputs);
  auto actual = runModel(m, inputs);
  ASSERT_EQ(expected.size(), 2u);
  ASSERT_EQ(actual.size(), 2u);
  auto mean = runtime::allClose(actual[1], expected[1], 0, 1e-6);
  EXPECT_TRUE(mean.match) << mean.reason;
  const std::vector<float> scales = constantFloats(firstNode(m, "DequantizeLinear")->input(1));
  ASSERT_EQ(scales.size(), 2u * 32u);
  expectWithinRoundingBound(before, m, "X", 0, 64, 32, [&](int64_t k, int64_t n) { return scales[(k / 32) * 32 + n]; });
}

TEST(WeightOnlyQuantization, GroupNormalizationRefusesTheUpgradeAndLeavesTheModelAlone) {
  const std::string text = substitute(R"(
<ir_version: 8, opset_import: ["" : 18]>
g (float[1,4,2,2] X, float[2,64] A) => (float[1,4,2,2] Y, float[2,32] Z)
<float[2] s = {1.0, 1.0}, float[2] b = {0.0, 0.0}, float[64,32] W = $w$>
{
  Y = GroupNormalization <num_groups = 2> (X, s, b)
  Z = MatMul (A, W)
}
)", {{"$w$", seededLiteral(64 * 32, 5)}});
  Model m = parseModel(text.c_str());
  firstNode(m, "GroupNormalization")->setName("gn1");
  Expected<QuantizationResult> r = quant::quantizeWeightOnly(m, weightOnly("int4", 32));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), ErrorCode::Usage);
  EXPECT_NE(r.status().message().find("GroupNormalization 'gn1'"), std::string::npos) << r.status().message();
  EXPECT_EQ(m.opsetVersion(""), 18);
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 0);
  EXPECT_NE(m.graph().findValue("W"), nullptr);

  // MatMulNBits needs no upgrade, so the same model quantizes with matmul-nbits.
  quantize(m, weightOnly("int4", 32, /*matmulNBits=*/true));
  EXPECT_EQ(countOps(m, "MatMulNBits"), 1);
  EXPECT_EQ(m.opsetVersion(""), 18);
}

TEST(WeightOnlyQuantization, SharedWeightIsQuantizedOnce) {
  const std::string text = substitute(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,64] X, float[3,64] Z) => (float[2,32] Y, float[3,32] U)
<float[64,32] W = $w$>
{
  Y = MatMul (X, W)
  U = MatMul (Z, W)
}
)", {{"$w$", seededLiteral(64 * 32, 6)}});
  {
    SCOPED_TRACE("DequantizeLinear");
    Model before = parseModel(text.c_str());
    Model m = parseModel(text.c_str());
    QuantizationResult r = quantize(m, weightOnly("int4", 32));
    EXPECT_EQ(statistic(r, "MatMul"), 2);
    EXPECT_EQ(countOps(m, "DequantizeLinear"), 1);
    EXPECT_LE(initializersOfType(m, DataType::Int4), 2);  // one weight: its codes (and zero points)
    EXPECT_EQ(initializersOfType(m, DataType::Float), 1);  // its scales; W is gone
    ASSERT_EQ(r.quantized.size(), 1u);
    Node* dq = firstNode(m, "DequantizeLinear");
    ASSERT_NE(dq, nullptr);
    EXPECT_EQ(dq->output(0)->uses().size(), 2u);
    const std::vector<float> scales = constantFloats(dq->input(1));
    ASSERT_EQ(scales.size(), 2u * 32u);
    auto step = [&](int64_t k, int64_t n) { return scales[(k / 32) * 32 + n]; };
    expectWithinRoundingBound(before, m, "X", 0, 64, 32, step);
    expectWithinRoundingBound(before, m, "Z", 1, 64, 32, step);
  }
  {
    SCOPED_TRACE("MatMulNBits");
    Model m = parseModel(text.c_str());
    QuantizationResult r = quantize(m, weightOnly("uint4", 32, /*matmulNBits=*/true));
    EXPECT_EQ(countOps(m, "MatMulNBits"), 2);
    EXPECT_EQ(initializersOfType(m, DataType::UInt8), 2);  // packed codes and zero points, once
    EXPECT_EQ(m.graph().findValue("W"), nullptr);
    ASSERT_EQ(r.quantized.size(), 1u);
    std::vector<Node*> readers;
    for (Node* n : m.graph().nodes())
      if (n->opType() == "MatMulNBits") readers.push_back(n);
    ASSERT_EQ(readers.size(), 2u);
    EXPECT_EQ(readers[0]->input(1), readers[1]->input(1));
    EXPECT_EQ(readers[0]->input(2), readers[1]->input(2));
  }
}

TEST(WeightOnlyQuantization, MatMulNBitsNeedsA4BitType) {
  const std::string text = substitute(kMatMul, {{"$w$", seededLiteral(64 * 32, 7)}});
  Model m = parseModel(text.c_str());
  Expected<QuantizationResult> r = quant::quantizeWeightOnly(m, weightOnly("int8", 32, /*matmulNBits=*/true));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), ErrorCode::Usage);
  EXPECT_EQ(countOps(m, "MatMul"), 1);
}

namespace {

// upgradeOpset to `target`: it must succeed and leave a valid graph at that opset.
PassResult expectUpgradedTo(Model& m, int64_t target) {
  PassResult r;
  const Status s = quant::upgradeOpset(m, target, r);
  EXPECT_TRUE(s.isOk()) << s.message();
  EXPECT_TRUE(m.graph().verify().isOk());
  EXPECT_EQ(m.opsetVersion(""), target);
  return r;
}

}  // namespace

TEST(OpsetUpgrade, BumpFrom17RewritesSplitAndReductionsAndKeepsOutputs) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[2,6] X) => (float[2,3] A, float[2,3] B, float[2] C)
{
  A, B = Split <axis = 1> (X)
  C = ReduceMax <axes = [1], keepdims = 0> (X)
}
)";
  Model before = parseModel(text);
  Model m = parseModel(text);
  const PassResult r = expectUpgradedTo(m, 21);
  EXPECT_EQ(statistic(r, "opset converted to 17 (onnx version converter)"), 0);
  EXPECT_EQ(statistic(r, "opset upgraded to 21"), 1);
  EXPECT_EQ(m.irVersion, 10);
  Node* split = firstNode(m, "Split");
  ASSERT_NE(split, nullptr);
  EXPECT_EQ(split->intAttr("num_outputs", 0), 2);
  Node* reduce = firstNode(m, "ReduceMax");
  ASSERT_NE(reduce, nullptr);
  EXPECT_EQ(reduce->attribute("axes"), nullptr);
  EXPECT_EQ(reduce->numInputs(), 2u);
  expectSameOutputs(before, m, 0, 1e-6);

  // Already there: nothing to do.
  PassResult again;
  ASSERT_TRUE(quant::upgradeOpset(m, 21, again).isOk());
  EXPECT_FALSE(again.changed);
  EXPECT_FALSE(quant::upgradeOpset(m, 22, again).isOk());
}

// Opset 6's legacy broadcast (B aligned to A from `axis`) becomes numpy broadcasting:
// B gets trailing 1-dims; without axis it already is numpy's right alignment.
TEST(OpsetUpgrade, LegacyBroadcastOfOpset6BecomesNumpyBroadcast) {
  const char* legacy = R"(
<ir_version: 3, opset_import: ["" : 6]>
g (float[2,3,4,5] X) => (float[2,3,4,5] Y)
<float[3] B = {1.5, -2, 4}, float[5] S = {1, 2, 3, 4, 5}>
{
  T = Add <broadcast = 1, axis = 1> (X, B)
  Y = Mul <broadcast = 1> (T, S)
}
)";
  const char* numpy = R"(
<ir_version: 7, opset_import: ["" : 13]>
g (float[2,3,4,5] X) => (float[2,3,4,5] Y)
<float[3,1,1] B = {1.5, -2, 4}, float[5] S = {1, 2, 3, 4, 5}>
{
  T = Add (X, B)
  Y = Mul (T, S)
}
)";
  Model reference = parseModel(numpy);
  Model m = parseModel(legacy);
  const PassResult r = expectUpgradedTo(m, 13);
  EXPECT_EQ(statistic(r, "opset upgrade: Add legacy broadcast: input 1 given trailing 1-dims"), 1);
  EXPECT_EQ(statistic(r, "opset upgrade: Mul legacy broadcast attributes dropped"), 1);
  for (Node* n : m.graph().nodes()) {
    EXPECT_EQ(n->attribute("broadcast"), nullptr) << n->describe();
    EXPECT_EQ(n->attribute("axis"), nullptr) << n->describe();
  }
  expectSameOutputs(reference, m, 0, 0);

  // A non-constant B along an axis cannot be carried without shapes: refused, named.
  Model dynamic = parseModel(R"(
<ir_version: 3, opset_import: ["" : 6]>
g (float[2,3,4,5] X, float[3] B) => (float[2,3,4,5] Y)
{
  Y = Add <broadcast = 1, axis = 1> (X, B)
}
)");
  PassResult refused;
  Status d = quant::upgradeOpset(dynamic, 13, refused);
  ASSERT_FALSE(d.isOk());
  EXPECT_NE(d.message().find("legacy broadcast along axis 1"), std::string::npos) << d.message();
}
