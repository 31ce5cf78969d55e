// Static quantization: scale/zero-point math, calibration methods, and the QDQ
// rewrite. Numeric tolerance: a quantized output is compared with the float one by
// SNR; 8-bit per-channel weights and uint8 activations on these small models give
// well above 30 dB (a single rounding step of a uint8 range is ~48 dB below it).
#include <algorithm>
#include <cmath>
#include <random>

#include "FusionTestUtil.h"
#include "NpzTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/quantization/Calibration.h"
#include "onnxpress/passes/quantization/Quantize.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"

using namespace onnxpress;
using namespace onnxpress::test;
using namespace onnxpress::quant;

namespace {

// A DATA file with `samples` uniform [-1, 1] samples for input X of `shape` (batch included).
std::string writeCalibration(const TempDir& dir, std::vector<int64_t> shape, int samples, uint32_t seed = 3) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  int64_t per = 1;
  for (int64_t d : shape) per *= d;
  std::vector<float> values(static_cast<size_t>(per * samples));
  for (float& v : values) v = u(rng);
  shape.insert(shape.begin(), samples);
  const std::string path = dir.file("calib.npz");
  writeNpz(path, {npzArray("X", DataType::Float, shape, values)});
  return path;
}

// Runs the quantize pass; `quantized` holds the records it emitted into the context.
Expected<QuantizationResult> quantize(Model& m, const std::string& calibPath, RawOptions raw) {
  ASSIGN_OR_RETURN(QuantizeOptions options, parseOptions<QuantizeOptions>("quantize", raw));
  ASSIGN_OR_RETURN(Dataset data, Dataset::open(calibPath));
  QuantizePass pass(options);
  PassContext context;
  context.calibrationData = &data;
  ASSIGN_OR_RETURN(PassResult base, pass.run(m, context));
  QuantizationResult result;
  static_cast<PassResult&>(result) = std::move(base);
  for (const QuantizedTensorInfo* info : recordsOf<QuantizedTensorInfo>(context.records.records()))
    result.quantized.push_back(*info);
  return result;
}

double outputSnrDb(const Model& reference, const Model& quantized, uint32_t seed = 11) {
  auto inputs = randomInputs(reference, seed);
  auto a = runModel(reference, inputs);
  auto b = runModel(quantized, inputs);
  if (a.empty() || b.empty()) return -1;
  return sqnrDb(a[0].span<float>(), b[0].span<float>());
}

const Value* scaleOf(const Node* qOrDq) { return qOrDq ? qOrDq->input(1) : nullptr; }

const char* kCnn = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,8,8] X) => (float[1,4] Y)
<float[4,2,3,3] W = $w$, float[4] B = $b$, float[4,64] G = $g$, float[4] C = $c$>
{
  T = Conv <pads = [1,1,1,1]> (X, W, B)
  R = Relu (T)
  P = MaxPool <kernel_shape = [2,2], strides = [2,2]> (R)
  F = Flatten (P)
  Y = Gemm <transB = 1> (F, G, C)
}
)";

Model makeCnn() {
  return parseModel(substitute(kCnn, {{"$w$", seededLiteral(72, 1)},
                                      {"$b$", seededLiteral(4, 2)},
                                      {"$g$", seededLiteral(256, 3, -0.3, 0.3)},
                                      {"$c$", seededLiteral(4, 4)}})
                        .c_str());
}

}  // namespace

TEST(QuantMath, AsymmetricRangeContainsZeroExactly) {
  const QuantType u8 = *quantTypeFromName("uint8");
  QuantParams p = paramsForRange(-1.0f, 3.0f, u8, false);
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 255.0f);
  EXPECT_EQ(p.zeroPoint, 64);  // 0 - (-1) / (4/255) = 63.75 -> 64
  EXPECT_EQ(quantizeValue(0.0f, p, u8), 64);
  EXPECT_EQ(quantizeValue(100.0f, p, u8), 255);  // saturates
  // A range that excludes 0 is widened to contain it: [2, 4] -> [0, 4], zero point 0.
  p = paramsForRange(2.0f, 4.0f, u8, false);
  EXPECT_EQ(p.zeroPoint, 0);
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 255.0f);
}

TEST(QuantMath, SymmetricSignedAndUnsigned) {
  QuantParams s8 = paramsForRange(-2.0f, 1.0f, *quantTypeFromName("int8"), true);
  EXPECT_FLOAT_EQ(s8.scale, 2.0f / 127.0f);
  EXPECT_EQ(s8.zeroPoint, 0);
  QuantParams u8 = paramsForRange(-2.0f, 1.0f, *quantTypeFromName("uint8"), true);
  EXPECT_EQ(u8.zeroPoint, 128);
  QuantParams s4 = paramsForRange(-1.0f, 0.5f, *quantTypeFromName("int4"), true);
  EXPECT_FLOAT_EQ(s4.scale, 1.0f / 7.0f);
  QuantParams reduced = paramsForRange(-1.0f, 1.0f, *quantTypeFromName("int8", true), true);
  EXPECT_FLOAT_EQ(reduced.scale, 1.0f / 63.0f);
}

TEST(QuantMath, RoundsHalfToEven) {
  const QuantType s8 = *quantTypeFromName("int8");
  QuantParams p{1.0f, 0};
  EXPECT_EQ(quantizeValue(2.5f, p, s8), 2);
  EXPECT_EQ(quantizeValue(3.5f, p, s8), 4);
  EXPECT_EQ(quantizeValue(-2.5f, p, s8), -2);
}

TEST(QuantMath, PerChannelAndBlockwiseScales) {
  // [2, 4]: row 0 peaks at 1, row 1 at 4.
  const std::vector<float> w = {0.5f, -1.0f, 0.25f, 0.0f, 4.0f, -2.0f, 1.0f, 3.0f};
  const QuantType s8 = *quantTypeFromName("int8");
  QuantizedWeight perChannel = quantizeWeight(w, {2, 4}, s8, true, 0, 0);
  ASSERT_EQ(perChannel.scales.size(), 2u);
  EXPECT_FLOAT_EQ(perChannel.scales[0], 1.0f / 127.0f);
  EXPECT_FLOAT_EQ(perChannel.scales[1], 4.0f / 127.0f);
  EXPECT_EQ(perChannel.codes[1], -127);
  EXPECT_EQ(perChannel.scale.dims(), std::vector<int64_t>({2}));
  EXPECT_GT(perChannel.sqnrDb, 40.0);
  // Blocks of 2 along axis 1: scale shape [2, 2].
  QuantizedWeight blocked = quantizeWeight(w, {2, 4}, s8, true, 1, 2);
  EXPECT_EQ(blocked.scale.dims(), std::vector<int64_t>({2, 2}));
  EXPECT_FLOAT_EQ(blocked.scales[1], 0.25f / 127.0f);  // row 0, elements 2..3: max 0.25
  EXPECT_FLOAT_EQ(blocked.scales[2], 4.0f / 127.0f);   // row 1, elements 0..1
}

TEST(QuantMath, FourBitCodesPackLowNibbleFirst) {
  Tensor t = packCodes(std::vector<int32_t>{-1, 7, 3}, DataType::Int4, {3});
  ASSERT_EQ(t.byteSize(), 2u);
  EXPECT_EQ(t.bytes()[0], 0x7F);
  EXPECT_EQ(t.bytes()[1], 0x03);
}

TEST(Calibration, PercentileDropsTheOutliers) {
  Histogram h(-1.0f, 100.0f, 2048);
  std::vector<float> values(100000);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& v : values) v = u(rng);
  values[0] = 100.0f;  // one outlier in 1e5
  h.add(values.data(), static_cast<int64_t>(values.size()));
  CalibrationOptions options;
  options.method = "percentile";
  options.percentile = 99.99;
  const TensorRange r = rangeFromHistogram(h, options);
  EXPECT_LT(r.hi, 2.0f);
  EXPECT_GT(r.hi, 0.9f);
  EXPECT_LT(r.lo, -0.9f);
}

TEST(Calibration, EntropyAndMseClipALongTail) {
  // |x| of a Laplace(0, 0.3) sample of 1e6: the max is ~4.8, but most of the mass is
  // below 1, so both methods clip. numpy on the same histogram gives the MSE optimum at
  // 71% of the max (uint8, 2048 bins).
  std::vector<float> values;
  std::mt19937 rng(2);
  std::exponential_distribution<float> e(1.0f / 0.3f);
  for (int i = 0; i < 1000000; ++i) values.push_back(e(rng));
  const float maximum = *std::max_element(values.begin(), values.end());
  CalibrationOptions options;
  options.target = *quantTypeFromName("uint8");
  Histogram absolute(0.0f, maximum, 2048);
  absolute.add(values.data(), static_cast<int64_t>(values.size()));
  options.method = "entropy";
  const TensorRange entropy = rangeFromHistogram(absolute, options, true);
  EXPECT_LT(entropy.hi, 0.9f * maximum);
  EXPECT_GT(entropy.hi, 0.3f);
  EXPECT_EQ(entropy.lo, 0.0f);
  options.method = "mse";
  const TensorRange mse = rangeFromHistogram(absolute, options);
  EXPECT_LT(mse.hi, 0.85f * maximum);
  EXPECT_GT(mse.hi, 0.55f * maximum);
}

TEST(StaticQuantization, ConvReluPoolGemmBecomesQdq) {
  TempDir dir;
  const std::string calib = writeCalibration(dir, {1, 2, 8, 8}, 16);
  Model m = makeCnn();
  const Model original = m.clone();
  auto r = quantize(m, calib, {{"per-channel", "true"}});
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(countOps(m, "Relu"), 0);  // folded into the Conv's QuantizeLinear
  EXPECT_EQ(statistic(*r, "Relu/Clip folded into QuantizeLinear"), 1);
  // X, R (Relu folded), P (shares R's scale), F (shares P's): four Q/DQ pairs; Y stays float.
  EXPECT_EQ(countOps(m, "QuantizeLinear"), 4);
  EXPECT_EQ(countOps(m, "DequantizeLinear"), 4 + 4);  // + W, B, G, C
  const Graph& g = m.graph();
  const Node* maxPool = nullptr;
  for (const Node* n : g.nodes())
    if (n->opType() == "MaxPool") maxPool = n;
  ASSERT_NE(maxPool, nullptr);
  const Node* dqBefore = maxPool->input(0)->producer();
  ASSERT_EQ(dqBefore->opType(), "DequantizeLinear");
  const Use& after = maxPool->output(0)->uses().front();
  ASSERT_EQ(after.node->opType(), "QuantizeLinear");
  EXPECT_EQ(scaleOf(dqBefore), scaleOf(after.node));  // the very same scale initializer
  // Per-channel int8 weight on axis 0, int32 bias.
  const Value* w = g.findValue("W_quantized");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->initializer()->dtype(), DataType::Int8);
  const Value* b = g.findValue("B_quantized");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->initializer()->dtype(), DataType::Int32);
  EXPECT_EQ(g.findValue("W"), nullptr);  // the float weight is gone
  EXPECT_GT(outputSnrDb(original, m), 30.0);
  // The report records the activations with their calibrated range.
  bool sawActivation = false;
  for (const auto& q : r->quantized)
    if (q.role == "activation" && q.tensor == "X") {
      sawActivation = true;
      ASSERT_TRUE(q.rangeMin.has_value());
      EXPECT_GE(*q.rangeMin, -1.0f);
      EXPECT_LE(*q.rangeMax, 1.0f);
    }
  EXPECT_TRUE(sawActivation);
}

TEST(StaticQuantization, SharedWeightIsQuantizedOnce) {
  TempDir dir;
  const std::string calib = writeCalibration(dir, {1, 8}, 8);
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,8] X) => (float[1,8] Y)
<float[8,8] W = $w$>
{
  A = MatMul (X, W)
  R = Relu (A)
  Y = MatMul (R, W)
}
)", {{"$w$", seededLiteral(64, 5)}}).c_str());
  const Model original = m.clone();
  auto r = quantize(m, calib, {{"per-channel", "false"}});
  ASSERT_TRUE(r) << r.status().message();
  int int8Weights = 0;  // per tensor, zero points are int8 scalars; the weight is the only larger one
  for (const Value* v : m.graph().initializers())
    if (v->initializer()->dtype() == DataType::Int8 && v->initializer()->numElements() > 1) ++int8Weights;
  EXPECT_EQ(int8Weights, 1);
  EXPECT_EQ(statistic(*r, "weights quantized"), 1);
  EXPECT_GT(outputSnrDb(original, m), 25.0);
}

TEST(StaticQuantization, ConstantNodeAndSubgraphWeightsAndActivations) {
  TempDir dir;
  const std::string calib = writeCalibration(dir, {1, 4}, 8);
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X, bool c) => (float[1,4] Y)
{
  W = Constant <value = float[4,4] $w$> ()
  A = MatMul (X, W)
  Y = If (c) <
    then_branch = t () => (float[1,4] T) {
      V = Constant <value = float[4,4] $v$> ()
      T = MatMul (A, V)
    },
    else_branch = e () => (float[1,4] E) { E = Identity (A) }
  >
}
)", {{"$w$", seededLiteral(16, 6)}, {"$v$", seededLiteral(16, 7)}}).c_str());
  // The calibration DATA needs the bool input too.
  writeNpz(calib, {npzArray("X", DataType::Float, {8, 1, 4}, std::vector<float>(32, 0.5f)),
                   npzArray("c", DataType::Bool, {8}, std::vector<uint8_t>(8, 1))});
  auto r = quantize(m, calib, {});
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(statistic(*r, "weights quantized"), 2);
  // The branch's MatMul is calibrated too (the data takes the then branch): A gets its pair
  // inside the branch as well as in the main graph.
  EXPECT_EQ(statistic(*r, "MatMul quantized"), 2);
  int branchPairs = 0;
  for (const Node* n : m.graph().nodeList().back()->subgraphs().front()->nodes())
    branchPairs += n->opType() == "QuantizeLinear";
  EXPECT_EQ(branchPairs, 1);
  EXPECT_EQ(countOps(m, "Constant"), 0);
}

TEST(StaticQuantization, RefusesAQuantizedModelAndMissingData) {
  Model m = makeCnn();
  QuantizePass pass;
  PassContext context;
  auto noData = pass.run(m, context);
  ASSERT_FALSE(noData);
  EXPECT_NE(noData.status().message().find("--calib-data"), std::string::npos);

  TempDir dir;
  const std::string calib = writeCalibration(dir, {1, 2, 8, 8}, 4);
  ASSERT_TRUE(quantize(m, calib, {}));
  auto again = quantize(m, calib, {});
  ASSERT_FALSE(again);
  EXPECT_NE(again.status().message().find("already quantized"), std::string::npos);
}

TEST(StaticQuantization, OptionErrorsNameTheOption) {
  auto bad = [](RawOptions raw) {
    auto parsed = parseOptions<QuantizeOptions>("quantize", raw);
    EXPECT_FALSE(parsed);
    return parsed ? std::string() : parsed.status().message();
  };
  EXPECT_NE(bad({{"mode", "int3"}}).find("mode 'int3'"), std::string::npos);
  EXPECT_NE(bad({{"mode", "dynamic"}, {"weight-type", "int4"}}).find("int4"), std::string::npos);
  EXPECT_NE(bad({{"block-size", "48"}}).find("power of two"), std::string::npos);
  EXPECT_NE(bad({{"mode", "dynamic"}, {"calib-method", "entropy"}}).find("calib-method"), std::string::npos);
  EXPECT_NE(bad({{"keep-io-types", "true"}}).find("keep-io-types"), std::string::npos);
}

TEST(StaticQuantization, CalibrationMethodsAllProduceWorkingModels) {
  TempDir dir;
  const std::string calib = writeCalibration(dir, {1, 2, 8, 8}, 16);
  for (const char* method : {"minmax", "percentile", "entropy", "mse"}) {
    Model m = makeCnn();
    const Model original = m.clone();
    auto r = quantize(m, calib, {{"calib-method", method}, {"per-channel", "true"}});
    ASSERT_TRUE(r) << method << ": " << r.status().message();
    // Entropy clips hardest on these uniform random inputs (KL targets bell-shaped data).
    EXPECT_GT(outputSnrDb(original, m), std::string(method) == "entropy" ? 10.0 : 20.0) << method;
  }
}
