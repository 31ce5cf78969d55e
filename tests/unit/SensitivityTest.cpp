// Sensitivity: a two-layer model where W1 is the identity plus tiny noise (pruning
// up to 7/8 of it only removes the noise) and W2 is dense and essential, on DATA
// made in the test whose labels are the original's confident predictions (baseline
// 100%). Tolerances: W1's drop at 0.75 is exactly 0 in accuracy and below 1e-4 in
// 1 - cosine; W2's drop at 0.75 is at least 2 points (0.02; a numpy simulation over
// 200 seeds never gave less than 3) and its 1 - cosine above 1e-3. The ranking, the
// chosen levels and the error paths are exact.
#include <algorithm>
#include <random>

#include "FusionTestUtil.h"
#include "NpzTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/analysis/Sensitivity.h"

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
