// The accuracy repairs of static quantization: cross-layer equalization and
// SmoothQuant (both exact rewrites of the float model: rtol 1e-4, atol 1e-5, the
// reordering of one multiply per weight), and bias correction (the mean output error
// per channel over the calibration data must shrink: 5x for one layer, 3x for the
// second layer of a chain).
#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "FusionTestUtil.h"
#include "NpzTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/quantization/BiasCorrection.h"
#include "onnxpress/passes/quantization/CrossLayerEqualization.h"
#include "onnxpress/passes/quantization/SmoothQuant.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

std::vector<float> uniform(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

quant::Scope scopeOf(std::vector<std::string> opTypes) {
  auto scope = quant::Scope::create(QuantizeOptions{}, std::move(opTypes));
  EXPECT_TRUE(scope) << scope.status().message();
  return std::move(*scope);
}

// The float32 weight at input `index` of the node producing `output`.
quant::FloatConstant weightOf(const Model& m, const std::string& output, size_t index = 1) {
  const Value* v = m.graph().findValue(output);
  if (!v || !v->producer()) {
    ADD_FAILURE() << "no node produces " << output;
    return {};
  }
  auto w = quant::floatConstantInput(*v->producer(), index);
  EXPECT_TRUE(w) << output;
  return w ? std::move(*w) : quant::FloatConstant{};
}

// max_i r_i / min_i r_i with r_i = max |w| over row i of a weight [rows, ...].
double rowRangeSpread(const quant::FloatConstant& w) {
  if (w.dims.empty()) return NAN;  // fails every comparison
  const size_t rows = static_cast<size_t>(w.dims[0]), per = w.values.size() / rows;
  double lo = INFINITY, hi = 0;
  for (size_t r = 0; r < rows; ++r) {
    double m = 0;
    for (size_t k = 0; k < per; ++k) m = std::max(m, static_cast<double>(std::abs(w.values[r * per + k])));
    lo = std::min(lo, m);
    hi = std::max(hi, m);
  }
  return hi / lo;
}

// ---- cross-layer equalization ---------------------------------------------------------------

// Conv(3->8) -> Relu -> Conv(8->`out`, group `group`) with output channel i of conv1
// scaled by 10^(i%4-1) and input channel i of conv2 divided by it (same function).
Model unequalConvPair(int64_t out, int64_t group) {
  const int64_t mid = 8, inPerGroup = mid / group;
  std::vector<float> w1 = uniform(mid * 27, 1), b1 = uniform(mid, 2), w2 = uniform(out * inPerGroup * 9, 3),
                     b2 = uniform(out, 4);
  auto factor = [](int64_t channel) { return std::pow(10.f, static_cast<float>(channel % 4 - 1)); };
  for (int64_t i = 0; i < mid; ++i) {
    for (int64_t k = 0; k < 27; ++k) w1[i * 27 + k] *= factor(i);
    b1[i] *= factor(i);
  }
  const int64_t outPerGroup = out / group;
  for (int64_t o = 0; o < out; ++o)
    for (int64_t j = 0; j < inPerGroup; ++j) {
      const int64_t channel = (o / outPerGroup) * inPerGroup + j;
      for (int64_t k = 0; k < 9; ++k) w2[(o * inPerGroup + j) * 9 + k] /= factor(channel);
    }
  return parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,8] X) => (float[1,$out,8,8] Y)
<float[8,3,3,3] W1 = $w1, float[8] B1 = $b1, float[$out,$slots,3,3] W2 = $w2, float[$out] B2 = $b2>
{
  H = Conv <pads = [1,1,1,1]> (X, W1, B1)
  R = Relu (H)
  Y = Conv <pads = [1,1,1,1], group = $group> (R, W2, B2)
}
)", {{"$out", std::to_string(out)}, {"$slots", std::to_string(inPerGroup)}, {"$group", std::to_string(group)},
     {"$w1", literal(w1)}, {"$b1", literal(b1)}, {"$w2", literal(w2)}, {"$b2", literal(b2)}}).c_str());
}

}  // namespace

TEST(CrossLayerEqualization, EqualizesAConvPairAndKeepsTheFunction) {
  Model m = unequalConvPair(4, 1);
  Model before = m.clone();
  const double spreadBefore = rowRangeSpread(weightOf(m, "H"));
  ASSERT_GT(spreadBefore, 100);
  PassResult r;
  EXPECT_EQ(quant::equalizeCrossLayer(m, scopeOf({"Conv", "Gemm", "MatMul"}), r), 1);
  EXPECT_EQ(statistic(r, "layer pairs equalized"), 1);
  EXPECT_LT(rowRangeSpread(weightOf(m, "H")), 4);
  EXPECT_TRUE(m.graph().verify().isOk());
  EXPECT_NE(m.graph().findValue("W1"), nullptr);  // rewritten in place, names kept
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(CrossLayerEqualization, MapsInputChannelsOfADepthwiseConv) {
  Model m = unequalConvPair(8, 8);
  Model before = m.clone();
  PassResult r;
  EXPECT_EQ(quant::equalizeCrossLayer(m, scopeOf({"Conv"}), r), 1);
  EXPECT_LT(rowRangeSpread(weightOf(m, "H")), 4);
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(CrossLayerEqualization, EqualizesAChainOfThreeConvs) {
  const std::vector<float> w1 = uniform(8 * 27, 11), w2 = uniform(8 * 8 * 9, 12), w3 = uniform(2 * 8 * 9, 13);
  std::vector<float> w2Scaled = w2;
  for (size_t i = 0; i < w2Scaled.size(); ++i) w2Scaled[i] *= (i / 72) % 2 ? 30.f : 1.f;  // unequal output rows
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] X) => (float[1,2,6,6] Y)
<float[8,3,3,3] W1 = $w1, float[8,8,3,3] W2 = $w2, float[2,8,3,3] W3 = $w3>
{
  H1 = Conv <pads = [1,1,1,1]> (X, W1)
  R1 = Relu (H1)
  H2 = Conv <pads = [1,1,1,1]> (R1, W2)
  R2 = LeakyRelu <alpha = 0.1> (H2)
  Y = Conv <pads = [1,1,1,1]> (R2, W3)
}
)", {{"$w1", literal(w1)}, {"$w2", literal(w2Scaled)}, {"$w3", literal(w3)}}).c_str());
  Model before = m.clone();
  PassResult r;
  EXPECT_EQ(quant::equalizeCrossLayer(m, scopeOf({"Conv"}), r), 2);
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(CrossLayerEqualization, EqualizesGemmIntoMatMulWithTransB) {
  const std::vector<float> b = uniform(5 * 6, 21), c = uniform(5, 22), w = uniform(5 * 3, 23);
  std::vector<float> bScaled = b, cScaled = c, wScaled = w;
  for (size_t n = 0; n < 5; ++n) {
    const float f = n % 2 ? 50.f : 0.5f;
    for (size_t k = 0; k < 6; ++k) bScaled[n * 6 + k] *= f;  // transB: row n of B is output n
    cScaled[n] *= f;
    for (size_t j = 0; j < 3; ++j) wScaled[n * 3 + j] /= f;
  }
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,6] X) => (float[2,3] Y)
<float[5,6] B = $b, float[5] C = $c, float[5,3] W = $w>
{
  H = Gemm <transB = 1, alpha = 0.5> (X, B, C)
  R = Relu (H)
  Y = MatMul (R, W)
}
)", {{"$b", literal(bScaled)}, {"$c", literal(cScaled)}, {"$w", literal(wScaled)}}).c_str());
  Model before = m.clone();
  PassResult r;
  EXPECT_EQ(quant::equalizeCrossLayer(m, scopeOf({"Gemm", "MatMul"}), r), 1);
  EXPECT_LT(rowRangeSpread(weightOf(m, "H")), 10);  // rows of 6 and 3 weights: ranges vary more
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(CrossLayerEqualization, LeavesASharedWeightAlone) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] X, float[1,8,6,6] Z) => (float[1,4,6,6] Y, float[1,4,6,6] V)
<float[8,3,3,3] W1 = $w1, float[4,8,3,3] W2 = $w2>
{
  H = Conv <pads = [1,1,1,1]> (X, W1)
  R = Relu (H)
  Y = Conv <pads = [1,1,1,1]> (R, W2)
  V = Conv <pads = [1,1,1,1]> (Z, W2)
}
)", {{"$w1", literal(uniform(8 * 27, 31))}, {"$w2", literal(uniform(4 * 8 * 9, 32))}}).c_str());
  Model before = m.clone();
  PassResult r;
  EXPECT_EQ(quant::equalizeCrossLayer(m, scopeOf({"Conv"}), r), 0);
  EXPECT_EQ(statistic(r, "skipped layer pairs with shared weights"), 1);
  EXPECT_EQ(weightOf(m, "H").values, weightOf(before, "H").values);
}

TEST(CrossLayerEqualization, StopsAtClip) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] X) => (float[1,4,6,6] Y)
<float[8,3,3,3] W1 = $w1, float[4,8,3,3] W2 = $w2, float lo = {0.0}, float hi = {6.0}>
{
  H = Conv <pads = [1,1,1,1]> (X, W1)
  R = Clip (H, lo, hi)
  Y = Conv <pads = [1,1,1,1]> (R, W2)
}
)", {{"$w1", literal(uniform(8 * 27, 41))}, {"$w2", literal(uniform(4 * 8 * 9, 42))}}).c_str());
  PassResult r;
  EXPECT_EQ(quant::equalizeCrossLayer(m, scopeOf({"Conv"}), r), 0);
}

// ---- SmoothQuant --------------------------------------------------------------------------

namespace {

constexpr int64_t kSmoothSamples = 8;

// DATA with `kSmoothSamples` samples of X [1, 4, 16], channel `outlier` scaled by `gain`.
std::string writeActivations(const TempDir& dir, int64_t outlier = -1, float gain = 1.f) {
  std::vector<float> x = uniform(kSmoothSamples * 4 * 16, 51);
  for (size_t i = 0; i < x.size(); ++i)
    if (static_cast<int64_t>(i % 16) == outlier) x[i] *= gain;
  const std::string path = dir.file("x.npz");
  writeNpz(path, {npzArray("X", DataType::Float, {kSmoothSamples, 1, 4, 16}, x)});
  return path;
}

// gamma with channel 3 scaled 50x: the outlier channel of the LayerNormalization's output.
std::vector<float> outlierGamma() {
  std::vector<float> gamma = uniform(16, 52, 0.5f, 1.5f);
  gamma[3] *= 50;
  return gamma;
}

double spread(const std::vector<float>& v) {
  double lo = INFINITY, hi = 0;
  for (float x : v) {
    lo = std::min(lo, static_cast<double>(std::abs(x)));
    hi = std::max(hi, static_cast<double>(std::abs(x)));
  }
  return hi / lo;
}

Expected<int64_t> smooth(Model& m, const std::string& dataPath, PassResult& r) {
  auto data = Dataset::open(dataPath);
  if (!data) return data.status();
  return quant::applySmoothQuant(m, *data, QuantizeOptions{}, scopeOf({"MatMul", "Gemm"}), 1, r);
}

}  // namespace

TEST(SmoothQuant, FoldsIntoLayerNormalization) {
  TempDir dir;
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,4,16] X) => (float[1,4,8] Y)
<float[16] G = $g, float[16] Bt = $b, float[16,8] W = $w>
{
  N = LayerNormalization <axis = -1> (X, G, Bt)
  Y = MatMul (N, W)
}
)", {{"$g", literal(outlierGamma())}, {"$b", literal(uniform(16, 53))}, {"$w", literal(uniform(16 * 8, 54))}})
                           .c_str());
  Model before = m.clone();
  const double gammaSpreadBefore = spread(weightOf(m, "N", 1).values);
  PassResult r;
  auto smoothed = smooth(m, writeActivations(dir), r);
  ASSERT_TRUE(smoothed) << smoothed.status().message();
  EXPECT_EQ(*smoothed, 1);
  EXPECT_EQ(statistic(r, "MatMuls smoothed"), 1);
  EXPECT_EQ(statistic(r, "scales folded into LayerNormalization"), 1);
  EXPECT_EQ(countOps(m, "Mul"), 0);
  EXPECT_LT(spread(weightOf(m, "N", 1).values), gammaSpreadBefore / 2);
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(SmoothQuant, SharesOneScaleAcrossQkvProjections) {
  TempDir dir;
  Model qkv = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,4,16] X) => (float[1,4,8] Q, float[1,4,8] K, float[1,4,8] V)
<float[16] G = $g, float[16,8] Wq = $wq, float[16,8] Wk = $wk, float[16,8] Wv = $wv>
{
  N = LayerNormalization <axis = -1> (X, G)
  Q = MatMul (N, Wq)
  K = MatMul (N, Wk)
  V = MatMul (N, Wv)
}
)", {{"$g", literal(outlierGamma())},
     {"$wq", literal(uniform(16 * 8, 61))},
     {"$wk", literal(uniform(16 * 8, 62))},
     {"$wv", literal(uniform(16 * 8, 63))}})
                             .c_str());
  Model before = qkv.clone();
  PassResult r;
  auto smoothed = smooth(qkv, writeActivations(dir), r);
  ASSERT_TRUE(smoothed) << smoothed.status().message();
  EXPECT_EQ(*smoothed, 3);
  EXPECT_EQ(statistic(r, "scales folded into LayerNormalization"), 1);
  EXPECT_EQ(statistic(r, "Mul nodes inserted"), 0);
  expectSameOutputs(before, qkv, 1e-4, 1e-5);
}

TEST(SmoothQuant, InsertsAMulWhenTheActivationIsNotFoldable) {
  TempDir dir;
  // X is a graph input: it cannot absorb 1/s, so a Mul goes before the MatMul.
  Model direct = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,4,16] X) => (float[1,4,8] Z)
<float[16,8] Wz = $wz>
{
  Z = MatMul (X, Wz)
}
)", {{"$wz", literal(uniform(16 * 8, 72))}})
                                .c_str());
  Model before = direct.clone();
  PassResult r;
  auto smoothed = smooth(direct, writeActivations(dir, 3, 50.f), r);
  ASSERT_TRUE(smoothed) << smoothed.status().message();
  EXPECT_EQ(*smoothed, 1);
  EXPECT_EQ(statistic(r, "Mul nodes inserted"), 1);
  EXPECT_EQ(countOps(direct, "Mul"), 1);
  EXPECT_TRUE(direct.graph().verify().isOk());
  expectSameOutputs(before, direct, 1e-4, 1e-5);
}

TEST(SmoothQuant, SmoothsAGemmWithTransB) {
  TempDir dir;
  // Gemm needs 2-D activations: the [1,4,16] samples go through a Reshape to [4,16].
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,4,16] X) => (float[4,8] Y)
<float[8,16] W = $w, float[8] C = $c, int64[2] shape = {4, 16}>
{
  F = Reshape (X, shape)
  Y = Gemm <transB = 1, alpha = 2.0> (F, W, C)
}
)", {{"$w", literal(uniform(8 * 16, 81))}, {"$c", literal(uniform(8, 82))}})
                           .c_str());
  Model before = m.clone();
  PassResult r;
  auto smoothed = smooth(m, writeActivations(dir, 5, 40.f), r);
  ASSERT_TRUE(smoothed) << smoothed.status().message();
  EXPECT_EQ(*smoothed, 1);
  EXPECT_EQ(statistic(r, "Mul nodes inserted"), 1);
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

// ---- bias correction ----------------------------------------------------------------------
// Float layers and hand-made QDQ copies whose weight codes are rounded down (floor, per
// output channel, int8), which shifts every output channel's mean; inputs uniform in
// [0, 1], quantized as uint8 with scale 1/255. Correction is measured on the same data.

namespace {

constexpr int64_t kBiasSamples = 16;
constexpr float kInputScale = 1.f / 255;

std::vector<float> biasCalibration() { return uniform(kBiasSamples * 3 * 6 * 6, 91, 0.f, 1.f); }
std::vector<float> gemmCalibration() { return uniform(kBiasSamples * 4 * 16, 103, 0.f, 1.f); }

// Input "X" holding kBiasSamples samples of `sampleShape`.
std::string writeBiasData(const TempDir& dir, const std::vector<int64_t>& sampleShape, const std::vector<float>& x) {
  const std::string path = dir.file("calib.npz");
  std::vector<int64_t> shape{kBiasSamples};
  shape.insert(shape.end(), sampleShape.begin(), sampleShape.end());
  writeNpz(path, {npzArray("X", DataType::Float, shape, x)});
  return path;
}

// A weight [channels, ...] as int8 codes floor(w / s_c) with s_c = max |w| over channel c / 127.
struct FloorQuantized {
  std::vector<float> scale;  // [channels]
  std::vector<int> codes;
};

FloorQuantized floorQuantize(const std::vector<float>& w, size_t channels) {
  const size_t per = w.size() / channels;
  FloorQuantized q{std::vector<float>(channels), std::vector<int>(w.size())};
  for (size_t c = 0; c < channels; ++c) {
    float m = 0;
    for (size_t k = 0; k < per; ++k) m = std::max(m, std::abs(w[c * per + k]));
    q.scale[c] = m / 127;
    for (size_t k = 0; k < per; ++k)
      q.codes[c * per + k] = std::clamp(static_cast<int>(std::floor(w[c * per + k] / q.scale[c])), -128, 127);
  }
  return q;
}

// A bias as int32 codes with scale kInputScale * weight scale (as the static quantizer writes it).
struct BiasCodes {
  std::vector<float> scale;
  std::vector<int32_t> codes;
};

BiasCodes biasCodes(const std::vector<float>& b, const std::vector<float>& weightScale) {
  BiasCodes q;
  for (size_t c = 0; c < b.size(); ++c) {
    q.scale.push_back(kInputScale * weightScale[c]);
    q.codes.push_back(static_cast<int32_t>(std::nearbyint(b[c] / q.scale[c])));
  }
  return q;
}

struct ModelPair {
  Model floatModel, quantized;
};

// Float Conv(W[4,3,3,3], B?) on [1,3,6,6] with pads 1 and its QDQ version.
ModelPair convPair(bool withBias) {
  const std::vector<float> w = uniform(4 * 27, 92), b = uniform(4, 93);
  const FloorQuantized wq = floorQuantize(w, 4);
  const BiasCodes bq = biasCodes(b, wq.scale);
  const std::vector<std::pair<std::string, std::string>> values{
      // Longer keys first: substitute() would otherwise rewrite "$wq" as "$w" + "q".
      {"$wq", literal(wq.codes)}, {"$ws", literal(wq.scale)}, {"$bq", literal(bq.codes)}, {"$bs", literal(bq.scale)},
      {"$xs", fmt::format("{}", kInputScale)}, {"$w", literal(w)}, {"$b", literal(b)}};
  const char* floatText = withBias ? R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] X) => (float[1,4,6,6] Y)
<float[4,3,3,3] W = $w, float[4] B = $b>
{
  Y = Conv <pads = [1,1,1,1]> (X, W, B)
}
)"
                                   : R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] X) => (float[1,4,6,6] Y)
<float[4,3,3,3] W = $w>
{
  Y = Conv <pads = [1,1,1,1]> (X, W)
}
)";
  const char* quantText = withBias ? R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] X) => (float[1,4,6,6] Y)
<float xs = {$xs}, uint8 xz = {0}, int8[4,3,3,3] Wq = $wq, float[4] ws = $ws, int32[4] Bq = $bq, float[4] bs = $bs>
{
  Xq = QuantizeLinear (X, xs, xz)
  Xd = DequantizeLinear (Xq, xs, xz)
  Wd = DequantizeLinear <axis = 0> (Wq, ws)
  Bd = DequantizeLinear <axis = 0> (Bq, bs)
  Y = Conv <pads = [1,1,1,1]> (Xd, Wd, Bd)
}
)"
                                   : R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] X) => (float[1,4,6,6] Y)
<float xs = {$xs}, uint8 xz = {0}, int8[4,3,3,3] Wq = $wq, float[4] ws = $ws>
{
  Xq = QuantizeLinear (X, xs, xz)
  Xd = DequantizeLinear (Xq, xs, xz)
  Wd = DequantizeLinear <axis = 0> (Wq, ws)
  Y = Conv <pads = [1,1,1,1]> (Xd, Wd)
}
)";
  return {parseModel(substitute(floatText, values).c_str()), parseModel(substitute(quantText, values).c_str())};
}

// Conv(3->4) -> Relu -> Conv(4->4), both 3x3 with pads 1, and the QDQ version with both
// weights rounded down. The second layer's weights are mostly positive, so the error
// reaching it from the first layer adds to its own: correcting its whole output error
// (what the first layer's correction also removes) would over-correct it.
ModelPair convChain() {
  const std::vector<float> w1 = uniform(4 * 27, 94), b1 = uniform(4, 95, 0.f, 1.f),
                           w2 = uniform(4 * 36, 96, -0.25f, 1.f), b2 = uniform(4, 97);
  const FloorQuantized w1q = floorQuantize(w1, 4), w2q = floorQuantize(w2, 4);
  // No DequantizeLinear between the layers: any scale serves the second bias's codes.
  const BiasCodes b1q = biasCodes(b1, w1q.scale), b2q = biasCodes(b2, w2q.scale);
  const std::vector<std::pair<std::string, std::string>> values{
      {"$w1q", literal(w1q.codes)}, {"$w1s", literal(w1q.scale)}, {"$b1q", literal(b1q.codes)},
      {"$b1s", literal(b1q.scale)}, {"$w2q", literal(w2q.codes)}, {"$w2s", literal(w2q.scale)},
      {"$b2q", literal(b2q.codes)}, {"$b2s", literal(b2q.scale)}, {"$xs", fmt::format("{}", kInputScale)},
      {"$w1", literal(w1)},         {"$b1", literal(b1)},         {"$w2", literal(w2)},
      {"$b2", literal(b2)}};
  const char* floatText = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] X) => (float[1,4,6,6] Y)
<float[4,3,3,3] W1 = $w1, float[4] B1 = $b1, float[4,4,3,3] W2 = $w2, float[4] B2 = $b2>
{
  H = Conv <pads = [1,1,1,1]> (X, W1, B1)
  R = Relu (H)
  Y = Conv <pads = [1,1,1,1]> (R, W2, B2)
}
)";
  const char* quantText = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] X) => (float[1,4,6,6] Y)
<float xs = {$xs}, uint8 xz = {0}, int8[4,3,3,3] W1q = $w1q, float[4] w1s = $w1s, int32[4] B1q = $b1q,
 float[4] b1s = $b1s, int8[4,4,3,3] W2q = $w2q, float[4] w2s = $w2s, int32[4] B2q = $b2q, float[4] b2s = $b2s>
{
  Xq = QuantizeLinear (X, xs, xz)
  Xd = DequantizeLinear (Xq, xs, xz)
  W1d = DequantizeLinear <axis = 0> (W1q, w1s)
  B1d = DequantizeLinear <axis = 0> (B1q, b1s)
  H = Conv <pads = [1,1,1,1]> (Xd, W1d, B1d)
  R = Relu (H)
  W2d = DequantizeLinear <axis = 0> (W2q, w2s)
  B2d = DequantizeLinear <axis = 0> (B2q, b2s)
  Y = Conv <pads = [1,1,1,1]> (R, W2d, B2d)
}
)";
  return {parseModel(substitute(floatText, values).c_str()), parseModel(substitute(quantText, values).c_str())};
}

// Y = 0.5 X W^T + 2 C with X [4,16], W [8,16] (transB), and its QDQ version.
ModelPair gemmPair() {
  const std::vector<float> w = uniform(8 * 16, 101), c = uniform(8, 102);
  const FloorQuantized wq = floorQuantize(w, 8);
  const BiasCodes cq = biasCodes(c, wq.scale);
  const std::vector<std::pair<std::string, std::string>> values{
      {"$wq", literal(wq.codes)}, {"$ws", literal(wq.scale)}, {"$cq", literal(cq.codes)}, {"$cs", literal(cq.scale)},
      {"$xs", fmt::format("{}", kInputScale)}, {"$w", literal(w)}, {"$c", literal(c)}};
  const char* floatText = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4,16] X) => (float[4,8] Y)
<float[8,16] W = $w, float[8] C = $c>
{
  Y = Gemm <transB = 1, alpha = 0.5, beta = 2.0> (X, W, C)
}
)";
  const char* quantText = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4,16] X) => (float[4,8] Y)
<float xs = {$xs}, uint8 xz = {0}, int8[8,16] Wq = $wq, float[8] ws = $ws, int32[8] Cq = $cq, float[8] cs = $cs>
{
  Xq = QuantizeLinear (X, xs, xz)
  Xd = DequantizeLinear (Xq, xs, xz)
  Wd = DequantizeLinear <axis = 0> (Wq, ws)
  Cd = DequantizeLinear <axis = 0> (Cq, cs)
  Y = Gemm <transB = 1, alpha = 0.5, beta = 2.0> (Xd, Wd, Cd)
}
)";
  return {parseModel(substitute(floatText, values).c_str()), parseModel(substitute(quantText, values).c_str())};
}

// mean(quantized - float) per output channel of Y over the samples of `x` (input X, one
// sample per `sampleShape`); channels on axis 1 ([N, C, ...]) or, with channelLast, the last axis.
std::vector<double> meanErrorPerChannel(const ModelPair& p, const std::vector<float>& x,
                                        const std::vector<int64_t>& sampleShape, int64_t channels,
                                        bool channelLast = false) {
  int64_t perSample = 1;
  for (int64_t d : sampleShape) perSample *= d;
  std::vector<double> error(static_cast<size_t>(channels), 0.0);
  int64_t perChannel = 0;
  for (int64_t s = 0; s < kBiasSamples; ++s) {
    std::vector<float> sample(x.begin() + s * perSample, x.begin() + (s + 1) * perSample);
    std::map<std::string, runtime::TensorData> in;
    in.emplace("X", runtime::TensorData::fromVector(DataType::Float, sampleShape, sample));
    auto f = runModel(p.floatModel, in), q = runModel(p.quantized, in);
    if (f.size() != 1 || q.size() != 1 || f[0].numElements() != q[0].numElements()) {
      ADD_FAILURE() << "model did not run";
      return error;
    }
    const int64_t n = f[0].numElements(), inner = channelLast ? 1 : n / (f[0].dim(0) * channels);
    for (int64_t i = 0; i < n; ++i)
      error[static_cast<size_t>(i / inner % channels)] += q[0].data<float>()[i] - f[0].data<float>()[i];
    perChannel += n / channels;
  }
  for (double& e : error) e /= static_cast<double>(perChannel);
  return error;
}

void expectErrorShrank(const std::vector<double>& before, const std::vector<double>& after, double factor) {
  for (size_t c = 0; c < before.size(); ++c) {
    EXPECT_GT(std::abs(before[c]), 1e-3) << "channel " << c << ": the rounded-down weights should bias it";
    EXPECT_LT(std::abs(after[c]) * factor, std::abs(before[c]))
        << "channel " << c << ": mean error " << before[c] << " -> " << after[c];
  }
}

const std::vector<int64_t> kConvSample{1, 3, 6, 6}, kGemmSample{4, 16};

}  // namespace

TEST(BiasCorrection, ShiftsTheInt32BiasCodes) {
  TempDir dir;
  ModelPair p = convPair(true);
  const std::vector<double> before = meanErrorPerChannel(p, biasCalibration(), kConvSample, 4);
  auto data = Dataset::open(writeBiasData(dir, kConvSample, biasCalibration()));
  ASSERT_TRUE(data) << data.status().message();
  PassResult r;
  auto corrected = quant::correctBias(p.floatModel, p.quantized, *data, 0, 1, r);
  ASSERT_TRUE(corrected) << corrected.status().message();
  EXPECT_EQ(*corrected, 1);
  EXPECT_EQ(statistic(r, "biases corrected"), 1);
  EXPECT_EQ(countOps(p.quantized, "DequantizeLinear"), 3);
  EXPECT_TRUE(p.quantized.graph().verify().isOk());
  // Padding: the kernel's border taps read fewer input elements, which the correction counts.
  expectErrorShrank(before, meanErrorPerChannel(p, biasCalibration(), kConvSample, 4), 5);
}

TEST(BiasCorrection, AddsABiasToAConvWithoutOne) {
  TempDir dir;
  ModelPair p = convPair(false);
  const std::vector<double> before = meanErrorPerChannel(p, biasCalibration(), kConvSample, 4);
  auto data = Dataset::open(writeBiasData(dir, kConvSample, biasCalibration()));
  ASSERT_TRUE(data) << data.status().message();
  PassResult r;
  auto corrected = quant::correctBias(p.floatModel, p.quantized, *data, 0, 1, r);
  ASSERT_TRUE(corrected) << corrected.status().message();
  EXPECT_EQ(*corrected, 1);
  EXPECT_EQ(countOps(p.quantized, "DequantizeLinear"), 3);  // input, weight and the new bias
  const Node* conv = p.quantized.graph().findValue("Y")->producer();
  ASSERT_EQ(conv->numInputs(), 3u);
  ASSERT_NE(conv->input(2), nullptr);
  EXPECT_EQ(conv->input(2)->producer()->opType(), "DequantizeLinear");
  EXPECT_TRUE(p.quantized.graph().verify().isOk());
  expectErrorShrank(before, meanErrorPerChannel(p, biasCalibration(), kConvSample, 4), 5);
}

TEST(BiasCorrection, CorrectsEachLayerOfAChainForItsOwnWeightsOnly) {
  TempDir dir;
  ModelPair p = convChain();
  const std::vector<double> before = meanErrorPerChannel(p, biasCalibration(), kConvSample, 4);
  auto data = Dataset::open(writeBiasData(dir, kConvSample, biasCalibration()));
  ASSERT_TRUE(data) << data.status().message();
  PassResult r;
  auto corrected = quant::correctBias(p.floatModel, p.quantized, *data, 0, 1, r);
  ASSERT_TRUE(corrected) << corrected.status().message();
  EXPECT_EQ(*corrected, 2);
  EXPECT_EQ(statistic(r, "biases corrected"), 2);
  EXPECT_TRUE(p.quantized.graph().verify().isOk());
  // Correcting each layer by its whole measured output error, all at once, shrinks Y's
  // error only 1.4-1.6x here and flips its sign; each layer's own weight error: 20x or more.
  expectErrorShrank(before, meanErrorPerChannel(p, biasCalibration(), kConvSample, 4), 3);
}

TEST(BiasCorrection, CorrectsAGemmWithTransBAlphaAndBeta) {
  TempDir dir;
  ModelPair p = gemmPair();
  const std::vector<double> before = meanErrorPerChannel(p, gemmCalibration(), kGemmSample, 8, true);
  auto data = Dataset::open(writeBiasData(dir, kGemmSample, gemmCalibration()));
  ASSERT_TRUE(data) << data.status().message();
  PassResult r;
  auto corrected = quant::correctBias(p.floatModel, p.quantized, *data, 0, 1, r);
  ASSERT_TRUE(corrected) << corrected.status().message();
  EXPECT_EQ(*corrected, 1);
  EXPECT_EQ(countOps(p.quantized, "DequantizeLinear"), 3);
  EXPECT_TRUE(p.quantized.graph().verify().isOk());
  expectErrorShrank(before, meanErrorPerChannel(p, gemmCalibration(), kGemmSample, 8, true), 5);
}
