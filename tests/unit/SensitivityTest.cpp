// Sensitivity: a two-layer model where W1 is the identity plus tiny noise (pruning
// up to 7/8 of it only removes the noise) and W2 is dense and essential, on DATA
// made in the test whose labels are the original's confident predictions (baseline
// 100%). Tolerances: W1's drop at 0.75 is exactly 0 in accuracy and below 1e-4 in
// 1 - cosine; W2's drop at 0.75 is at least 2 points (0.02; a numpy simulation over
// 200 seeds never gave less than 3) and its 1 - cosine above 1e-3. The ranking, the
// chosen levels and the error paths are exact.
//
// Technique quantize: MatMul -> Relu -> MatMul with random weights, on random
// unlabelled DATA (fidelity). Each layer is quantized alone, weight-only int8 then
// int4: both points run (finite SNR), and int4 costs more than int8 (its step is
// 127/7 times coarser, so its SNR is lower by far more than float noise). Node names
// hold regex metacharacters, so exclude-nodes must escape them; an unnamed node of
// another layer must stay float (the named layer's SNR is the same as when every
// node is named, to 1e-6 dB); unnamed and Conv layers are not measured, with the
// reason.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "FusionTestUtil.h"
#include "NpzTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/driver/Sensitivity.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

std::string identityWithNoise() {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1e-3f, 1e-3f);
  std::string out = "{";
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) out += fmt::format("{}{:.6f}", r + c ? ", " : "", r == c ? 1.0f : u(rng));
  return out + "}";
}

Model twoLayers() {
  return parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,8] x) => (float[1,8] y)
<float[8,8] W1 = $w1$, float[8] b1 = $b1$, float[8,8] W2 = $w2$, float[8] b2 = $b2$>
{
  h = Gemm(x, W1, b1)
  r = Relu(h)
  y = Gemm(r, W2, b2)
}
)",
                               {{"$w1$", identityWithNoise()},
                                {"$b1$", seededLiteral(8, 2, 0.2, 0.5)},
                                {"$w2$", seededLiteral(64, 3)},
                                {"$b2$", seededLiteral(8, 4, -0.1, 0.1)}})
                        .c_str());
}

// 64 inputs whose top logit leads the second by more than 0.2, labelled with the
// original's prediction; `labels` false leaves the labels out.
std::string writeData(const TempDir& dir, const Model& model, bool labels) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> xs;
  std::vector<int64_t> ys;
  while (ys.size() < 64) {
    std::vector<float> x(8);
    for (float& v : x) v = u(rng);
    auto out = runModel(model, {{"x", runtime::TensorData::fromVector(DataType::Float, {1, 8}, x)}});
    std::vector<float> logits(out[0].span<float>().begin(), out[0].span<float>().end());
    std::vector<float> sorted = logits;
    std::sort(sorted.rbegin(), sorted.rend());
    if (sorted[0] - sorted[1] <= 0.2f) continue;
    xs.insert(xs.end(), x.begin(), x.end());
    ys.push_back(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  std::vector<NpzMember> members = {npzArray("x", DataType::Float, {64, 1, 8}, xs)};
  if (labels) members.push_back(npzArray("labels", DataType::Int64, {64}, ys));
  const std::string path = dir.file(labels ? "eval.npz" : "calib.npz");
  writeNpz(path, members);
  return path;
}

SensitivityOptions levels(std::vector<double> l) {
  SensitivityOptions o;
  o.levels = std::move(l);
  o.threads = 2;
  return o;
}

// Node names with regex metacharacters ('.', '(', ')'): exclude-nodes must escape them.
constexpr const char* kFcIn = "/block.0/fc(in)";
constexpr const char* kFcOut = "/block.0/fc(out)";

// Names each node after its first output (`names`: output name -> node name).
void nameNodes(Model& model, const std::map<std::string, std::string>& names) {
  for (Node* n : model.graph().nodes()) {
    auto it = names.find(n->output(0)->name());
    if (it != names.end()) n->setName(it->second);
  }
}

// x[1,32] -> MatMul(W1[32,32]) -> Relu -> MatMul(W2[32,8]) -> y, random weights; the
// MatMuls are named kFcIn and, when `nameSecond`, kFcOut (the Relu stays unnamed).
Model twoMatMuls(bool nameSecond) {
  Model model = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,32] x) => (float[1,8] y)
<float[32,32] W1 = $w1$, float[32,8] W2 = $w2$>
{
  h = MatMul(x, W1)
  r = Relu(h)
  y = MatMul(r, W2)
}
)",
                                      {{"$w1$", seededLiteral(32 * 32, 11)}, {"$w2$", seededLiteral(32 * 8, 12)}})
                               .c_str());
  std::map<std::string, std::string> names = {{"h", kFcIn}};
  if (nameSecond) names["y"] = kFcOut;
  nameNodes(model, names);
  return model;
}

// DATA file `name`: `count` samples of input `input` (one sample's shape `shape`),
// uniform in [-1, 1), no labels.
std::string writeRandomInputs(const TempDir& dir, const std::string& name, const std::string& input,
                              const std::vector<int64_t>& shape, int64_t count) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  int64_t elements = count;
  for (int64_t d : shape) elements *= d;
  std::vector<float> values(static_cast<size_t>(elements));
  for (float& v : values) v = u(rng);
  std::vector<int64_t> dims = {count};
  dims.insert(dims.end(), shape.begin(), shape.end());
  const std::string path = dir.file(name);
  writeNpz(path, {npzArray(input, DataType::Float, dims, values)});
  return path;
}

SensitivityOptions quantizeOptions() {
  SensitivityOptions o;
  o.technique = "quantize";
  o.threads = 2;
  return o;
}

const LayerSensitivity& layerNamed(const SensitivityResult& r, const std::string& name) {
  for (const LayerSensitivity& l : r.layers)
    if (l.name == name) return l;
  ADD_FAILURE() << "no layer " << name;
  return r.layers.front();
}

}  // namespace

TEST(Sensitivity, AccuracyCurvesRankTheDenseLayerFirst) {
  TempDir dir;
  Model model = twoLayers();
  auto data = Dataset::open(writeData(dir, model, true));
  ASSERT_TRUE(data) << data.status().message();
  SensitivityOptions options = levels({0.75, 0.25, 0.5});  // unsorted on purpose
  int steps = 0;
  options.onStep = [&] { ++steps; };
  auto result = analyzeSensitivity(model, *data, options);
  ASSERT_TRUE(result) << result.status().message();
  const SensitivityResult& r = *result;
  EXPECT_TRUE(r.accuracy);
  EXPECT_EQ(r.samples, 64);
  EXPECT_EQ(r.baselineTop1, 1.0);
  EXPECT_EQ(r.levels, (std::vector<double>{0.25, 0.5, 0.75}));
  EXPECT_EQ(steps, 6);
  ASSERT_EQ(r.layers.size(), 2u);
  EXPECT_EQ(r.layers[0].name, "W1");  // unnamed nodes go by their weight
  EXPECT_EQ(r.layers[0].opType, "Gemm");
  EXPECT_EQ(r.layers[0].params, 64);
  EXPECT_EQ(r.layers[1].params, 64);
  const LayerSensitivity &w1 = layerNamed(r, "W1"), &w2 = layerNamed(r, "W2");
  ASSERT_EQ(w1.points.size(), 3u);
  ASSERT_EQ(w2.points.size(), 3u);
  for (const SensitivityPoint& p : w1.points) EXPECT_EQ(p.drop, 0.0) << p.level;
  EXPECT_GE(w2.points.back().drop, 0.02);
  EXPECT_EQ(w2.dropAtMax, w2.points.back().drop);
  EXPECT_GT(w2.area, w1.area);
  ASSERT_EQ(r.ranking.size(), 2u);
  EXPECT_EQ(r.layers[r.ranking[0]].name, "W2");
  EXPECT_GT(r.seconds, 0);
  EXPECT_GE(r.threads, 1);
}

TEST(Sensitivity, FidelityWithoutLabels) {
  TempDir dir;
  Model model = twoLayers();
  auto data = Dataset::open(writeData(dir, model, false));
  ASSERT_TRUE(data) << data.status().message();
  auto result = analyzeSensitivity(model, *data, levels({0.25, 0.75}));
  ASSERT_TRUE(result) << result.status().message();
  EXPECT_FALSE(result->accuracy);
  const LayerSensitivity &w1 = layerNamed(*result, "W1"), &w2 = layerNamed(*result, "W2");
  ASSERT_EQ(w1.points.size(), 2u);
  EXPECT_LT(w1.points.back().drop, 1e-4);
  EXPECT_GT(w1.points.back().snrDb, 40);
  EXPECT_GT(w2.points.back().drop, 1e-3);
  EXPECT_NEAR(w2.points.back().drop, 1 - w2.points.back().cosine, 1e-12);
  EXPECT_EQ(result->layers[result->ranking[0]].name, "W2");
}

TEST(Sensitivity, ChooseSparsityPerLayerRespectsMaxDrop) {
  TempDir dir;
  Model model = twoLayers();
  auto data = Dataset::open(writeData(dir, model, true));
  ASSERT_TRUE(data) << data.status().message();
  SensitivityOptions options = levels({0.25, 0.5, 0.75});
  auto analysis = analyzeSensitivity(model, *data, options);
  ASSERT_TRUE(analysis) << analysis.status().message();
  const double maxDrop = 0.01;
  auto chosen = chooseSparsityPerLayer(model, *data, maxDrop, options);
  ASSERT_TRUE(chosen) << chosen.status().message();
  ASSERT_EQ(chosen->size(), 2u);
  EXPECT_EQ((*chosen)[0], "W1=0.75");
  // W2 gets the highest level below which every drop is within maxDrop.
  const LayerSensitivity& w2 = layerNamed(*analysis, "W2");
  double expected = 0;
  for (const SensitivityPoint& p : w2.points) {
    if (p.drop > maxDrop) break;
    expected = p.level;
  }
  EXPECT_LT(expected, 0.75);
  EXPECT_EQ((*chosen)[1], fmt::format("W2={}", expected));
  EXPECT_EQ(choosePerLayer(*analysis, 1.0), (std::vector<std::string>{"W1=0.75", "W2=0.75"}));
  EXPECT_EQ(choosePerLayer(*analysis, -1.0), (std::vector<std::string>{"W1=0", "W2=0"}));

  auto negative = chooseSparsityPerLayer(model, *data, -0.5, options);
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.status().code(), ErrorCode::Usage);
}

TEST(Sensitivity, NmUsesThePatternsSparsity) {
  TempDir dir;
  Model model = twoLayers();
  auto data = Dataset::open(writeData(dir, model, true));
  ASSERT_TRUE(data) << data.status().message();
  SensitivityOptions options;
  options.granularity = "n:m";
  options.threads = 1;
  auto result = analyzeSensitivity(model, *data, options);
  ASSERT_TRUE(result) << result.status().message();
  EXPECT_EQ(result->levels, (std::vector<double>{0.5}));
  for (const LayerSensitivity& l : result->layers) EXPECT_TRUE(l.points.size() == 1 || !l.error.empty()) << l.name;
}

TEST(Sensitivity, BadOptionsAndDataAreErrors) {
  TempDir dir;
  Model model = twoLayers();
  auto data = Dataset::open(writeData(dir, model, true));
  ASSERT_TRUE(data) << data.status().message();
  for (const std::vector<double>& bad : {std::vector<double>{0.5, 1.0}, std::vector<double>{0.0}}) {
    auto r = analyzeSensitivity(model, *data, levels(bad));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.status().code(), ErrorCode::Usage) << r.status().message();
  }
  SensitivityOptions granularity;
  granularity.granularity = "rows";
  auto g = analyzeSensitivity(model, *data, granularity);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.status().code(), ErrorCode::Usage);
  SensitivityOptions nm;
  nm.granularity = "n:m";
  nm.nm = "4:2";
  EXPECT_FALSE(analyzeSensitivity(model, *data, nm));

  Model other = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,8] z) => (float[1,8] y)
{
  y = Relu(z)
}
)");
  auto mismatch = analyzeSensitivity(other, *data, SensitivityOptions{});
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.status().code(), ErrorCode::InvalidInput);
}

TEST(Sensitivity, QuantizeMeasuresEachLayerAtInt8AndInt4) {
  TempDir dir;
  Model model = twoMatMuls(true);
  auto data = Dataset::open(writeRandomInputs(dir, "inputs.npz", "x", {1, 32}, 32));
  ASSERT_TRUE(data) << data.status().message();
  SensitivityOptions options = quantizeOptions();
  auto total = sensitivitySteps(model, options);
  ASSERT_TRUE(total) << total.status().message();
  EXPECT_EQ(*total, 4);
  int steps = 0;
  options.onStep = [&] { ++steps; };
  auto result = analyzeSensitivity(model, *data, options);
  ASSERT_TRUE(result) << result.status().message();
  const SensitivityResult& r = *result;
  EXPECT_EQ(steps, 4);
  EXPECT_FALSE(r.accuracy);
  EXPECT_EQ(r.samples, 32);
  EXPECT_EQ(r.technique, "quantize");
  EXPECT_EQ(r.granularity, "");
  EXPECT_EQ(r.levels, (std::vector<double>{0.75, 0.875}));
  EXPECT_EQ(r.labels, (std::vector<std::string>{"int8", "int4"}));
  ASSERT_EQ(r.layers.size(), 2u);
  EXPECT_EQ(r.layers[0].name, kFcIn);
  EXPECT_EQ(r.layers[1].name, kFcOut);
  for (const LayerSensitivity& l : r.layers) {
    EXPECT_EQ(l.opType, "MatMul");
    EXPECT_EQ(l.error, "") << l.name;
    ASSERT_EQ(l.points.size(), 2u) << l.name;
    const SensitivityPoint &int8 = l.points[0], &int4 = l.points[1];
    EXPECT_EQ(int8.label, "int8");
    EXPECT_EQ(int4.label, "int4");
    EXPECT_EQ(int8.level, 0.75);
    EXPECT_EQ(int4.level, 0.875);
    EXPECT_TRUE(int8.changed && int4.changed);
    for (const SensitivityPoint& p : l.points) {
      EXPECT_TRUE(std::isfinite(p.snrDb) && p.snrDb < 999) << l.name << " " << p.label << " " << p.snrDb;
      EXPECT_NEAR(p.drop, 1 - p.cosine, 1e-12);
    }
    EXPECT_GE(int8.drop, 0) << l.name;
    EXPECT_GE(int4.drop, int8.drop) << l.name;
    EXPECT_LT(int4.snrDb, int8.snrDb) << l.name;
    EXPECT_EQ(l.dropAtMax, int4.drop);
    EXPECT_GT(l.area, 0);
  }
  ASSERT_EQ(r.ranking.size(), 2u);
  const LayerSensitivity &first = r.layers[r.ranking[0]], &second = r.layers[r.ranking[1]];
  EXPECT_GE(first.dropAtMax, second.dropAtMax);
}

TEST(Sensitivity, QuantizeTakesOneNamedLayerAtATime) {
  TempDir dir;
  auto data = Dataset::open(writeRandomInputs(dir, "inputs.npz", "x", {1, 32}, 32));
  ASSERT_TRUE(data) << data.status().message();
  auto named = analyzeSensitivity(twoMatMuls(true), *data, quantizeOptions());
  ASSERT_TRUE(named) << named.status().message();
  auto partly = analyzeSensitivity(twoMatMuls(false), *data, quantizeOptions());
  ASSERT_TRUE(partly) << partly.status().message();

  ASSERT_EQ(partly->layers.size(), 2u);
  const LayerSensitivity &fcIn = layerNamed(*partly, kFcIn), &w2 = layerNamed(*partly, "W2");
  EXPECT_NE(w2.error.find("unnamed node"), std::string::npos) << w2.error;
  EXPECT_TRUE(w2.points.empty());
  ASSERT_EQ(partly->ranking.size(), 1u);
  EXPECT_EQ(partly->layers[partly->ranking[0]].name, kFcIn);
  // The unnamed second MatMul stays float while the first is quantized.
  const LayerSensitivity& reference = layerNamed(*named, kFcIn);
  ASSERT_EQ(fcIn.points.size(), 2u);
  ASSERT_EQ(reference.points.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(fcIn.points[i].snrDb, reference.points[i].snrDb, 1e-6) << i;
}

TEST(Sensitivity, QuantizeSkipsConvAndUnnamedLayers) {
  TempDir dir;
  Model cnn = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,1,4,4] x) => (float[1,4] y)
<float[2,1,3,3] K = $k$, float[8,4] W = $w$>
{
  c = Conv(x, K)
  f = Flatten(c)
  y = MatMul(f, W)
}
)",
                                    {{"$k$", seededLiteral(18, 21)}, {"$w$", seededLiteral(32, 22)}})
                         .c_str());
  nameNodes(cnn, {{"c", "conv"}, {"f", "flatten"}, {"y", "fc"}});
  auto images = Dataset::open(writeRandomInputs(dir, "images.npz", "x", {1, 1, 4, 4}, 8));
  ASSERT_TRUE(images) << images.status().message();
  auto result = analyzeSensitivity(cnn, *images, quantizeOptions());
  ASSERT_TRUE(result) << result.status().message();
  ASSERT_EQ(result->layers.size(), 2u);
  const LayerSensitivity &conv = layerNamed(*result, "conv"), &fc = layerNamed(*result, "fc");
  EXPECT_EQ(conv.error, "weight-only quantization covers MatMul and Gemm, not Conv");
  EXPECT_TRUE(conv.points.empty());
  EXPECT_EQ(fc.error, "");
  EXPECT_EQ(fc.points.size(), 2u);
  EXPECT_EQ(result->ranking, (std::vector<size_t>{1}));

  // Nothing measurable: an error naming the first layer's reason.
  auto inputs = Dataset::open(writeRandomInputs(dir, "inputs.npz", "x", {1, 32}, 8));
  ASSERT_TRUE(inputs) << inputs.status().message();
  Model unnamed = twoMatMuls(false);
  nameNodes(unnamed, {{"h", ""}});
  auto none = analyzeSensitivity(unnamed, *inputs, quantizeOptions());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.status().code(), ErrorCode::InvalidInput);
  EXPECT_NE(none.status().message().find("W1: unnamed node"), std::string::npos) << none.status().message();
}

TEST(Sensitivity, TechniqueErrors) {
  TempDir dir;
  Model model = twoMatMuls(true);
  auto data = Dataset::open(writeRandomInputs(dir, "inputs.npz", "x", {1, 32}, 8));
  ASSERT_TRUE(data) << data.status().message();
  SensitivityOptions distill;
  distill.technique = "distill";
  auto unknown = analyzeSensitivity(model, *data, distill);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.status().code(), ErrorCode::Usage);
  auto steps = sensitivitySteps(model, distill);
  ASSERT_FALSE(steps);
  EXPECT_EQ(steps.status().code(), ErrorCode::Usage);
  // Per-layer sparsities only come from pruning.
  auto chosen = chooseSparsityPerLayer(model, *data, 0.01, quantizeOptions());
  ASSERT_FALSE(chosen);
  EXPECT_EQ(chosen.status().code(), ErrorCode::Usage);
}
