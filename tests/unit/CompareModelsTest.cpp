// CompareModels: a model against itself (identical everywhere), a pair where one
// node's constant differs (the first divergence is that node's output, with the
// SNR computed by hand), the floor rule, and interface checks.
#include <fmt/format.h>

#include <cmath>

#include "NpzTestUtil.h"
#include "onnxpress/analysis/CompareModels.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

// H1 = 1.5 X, H2 = H1 + b, H3 = Relu(H2), Y = 3 H3; the pair differs only in b.
std::string chain(const char* b) {
  return fmt::format(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,8] X) => (float[1,8] Y)
<float s1 = {{1.5}}, float b2 = {{{}}}, float s3 = {{3.0}}>
{{
  H1 = Mul(X, s1)
  H2 = Add(H1, b2)
  H3 = Relu(H2)
  Y = Mul(H3, s3)
}}
)",
                     b);
}

constexpr int64_t kSamples = 8;

std::vector<float> inputs() {
  std::vector<float> x(kSamples * 8);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((static_cast<int>(i * 29 % 41) - 20) / 20.0);
  return x;
}

std::string writeData(const TempDir& dir) {
  const std::string path = dir.file("x.npz");
  writeNpz(path, {npzArray("X", DataType::Float, {kSamples, 1, 8}, inputs())});
  return path;
}

CompareOptions perLayer() {
  CompareOptions options;
  options.threads = 1;
  options.perLayer = true;
  return options;
}

}  // namespace

TEST(CompareModels, AModelMatchesItselfEverywhere) {
  TempDir dir;
  auto data = Dataset::open(writeData(dir));
  ASSERT_TRUE(data) << data.status().message();
  Model a = parseModel(chain("0.25").c_str());
  int64_t samples = 0, callbacks = 0;
  CompareOptions options = perLayer();
  options.onSample = [&] { ++samples; };
  options.onOutputs = [&](int64_t, const std::vector<runtime::TensorData>& x, const std::vector<runtime::TensorData>& y) {
    ++callbacks;
    EXPECT_EQ(x.size(), 1u);
    EXPECT_EQ(y.size(), 1u);
    return Status::ok();
  };
  auto r = compareModels(a, a, *data, options);
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(r->samples, kSamples);
  EXPECT_EQ(samples, kSamples);
  EXPECT_EQ(callbacks, kSamples);
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(r->outputs[0].name, "Y");
  EXPECT_EQ(r->outputs[0].stats.fidelity.snrDb, 999);
  EXPECT_EQ(r->outputs[0].stats.fidelity.maxAbs, 0);
  EXPECT_TRUE(r->outputsAllClose());
  ASSERT_EQ(r->layers.size(), 4u);  // H1, H2, H3, Y: constants are not layers
  const char* names[] = {"H1", "H2", "H3", "Y"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r->layers[i].name, names[i]);
    EXPECT_EQ(r->layers[i].stats.fidelity.snrDb, 999);
    EXPECT_TRUE(r->layers[i].stats.allClose);
    EXPECT_FALSE(r->layers[i].diverges);
  }
  EXPECT_EQ(r->layers[1].op, "Add");
  EXPECT_FALSE(r->firstDivergence);
}

TEST(CompareModels, FindsTheNodeWhoseConstantDiffers) {
  TempDir dir;
  auto data = Dataset::open(writeData(dir));
  ASSERT_TRUE(data);
  Model a = parseModel(chain("0.25").c_str()), b = parseModel(chain("0.26").c_str());
  auto r = compareModels(a, b, *data, perLayer());
  ASSERT_TRUE(r) << r.status().message();
  ASSERT_EQ(r->layers.size(), 4u);
  const TensorComparison& h1 = r->layers[0];
  const TensorComparison& h2 = r->layers[1];
  EXPECT_EQ(h1.stats.fidelity.snrDb, 999);
  EXPECT_TRUE(h1.stats.allClose);
  // H2 differs by 0.01 everywhere: SNR = 10 log10(sum H2^2 / (n 0.01^2)).
  double signal = 0;
  for (float x : inputs()) signal += std::pow(1.5 * x + 0.25, 2);
  const double expectedSnr = 10 * std::log10(signal / (static_cast<double>(kSamples * 8) * 1e-4));
  EXPECT_NEAR(h2.stats.fidelity.snrDb, expectedSnr, 0.01);
  EXPECT_NEAR(h2.stats.mse, 1e-4, 1e-8);
  EXPECT_FALSE(h2.stats.allClose);
  EXPECT_DOUBLE_EQ(h2.inputSnrDb, kSnrCeilingDb);  // its activation input H1 is identical
  ASSERT_TRUE(r->firstDivergence);
  EXPECT_EQ(*r->firstDivergence, 1u);
  EXPECT_TRUE(h2.diverges);
  EXPECT_EQ(h2.node, "Add producing 'H2'");
  // Downstream tensors carry H2's error without adding a 20 dB drop of their own.
  EXPECT_FALSE(r->layers[2].diverges);
  EXPECT_FALSE(r->layers[3].diverges);
  EXPECT_FALSE(r->outputsAllClose());
  EXPECT_FALSE(r->outputs[0].stats.firstMismatch.empty());

  // Without --per-layer only outputs are compared.
  CompareOptions outputsOnly = perLayer();
  outputsOnly.perLayer = false;
  auto plain = compareModels(a, b, *data, outputsOnly);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->layers.empty());
  EXPECT_FALSE(plain->firstDivergence);
  EXPECT_EQ(plain->outputs[0].stats.fidelity.snrDb, r->outputs[0].stats.fidelity.snrDb);
}

TEST(CompareModels, FloorRuleCatchesSlowErosionAndSkipsUncomparableTensors) {
  Model a = parseModel(chain("0.25").c_str());
  std::vector<TensorComparison> layers(4);
  const char* names[] = {"H1", "H2", "H3", "Y"};
  const double snr[] = {90, 75, 60, 45};  // 10 to 15 dB steps: no drop exceeds 20 dB
  for (size_t i = 0; i < 4; ++i) {
    layers[i].name = names[i];
    layers[i].stats.fidelity.snrDb = snr[i];
  }
  auto first = markDivergence(a.graph(), layers, /*dropDb=*/20, /*floorDb=*/50);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 3u);  // Y falls below 50 dB
  EXPECT_DOUBLE_EQ(layers[0].inputSnrDb, kSnrCeilingDb);  // X is fed identically, s1 is a weight
  EXPECT_DOUBLE_EQ(layers[3].inputSnrDb, 60);
  EXPECT_FALSE(layers[2].diverges);

  // H3 cannot be compared: Y has no compared activation input left, so its input SNR is the ceiling.
  layers[3].stats.fidelity.snrDb = 50;
  layers[2].notComparable = "shape [1,8] vs [1,9]";
  first = markDivergence(a.graph(), layers, 20, 50);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 3u);
  EXPECT_DOUBLE_EQ(layers[3].inputSnrDb, kSnrCeilingDb);
  EXPECT_FALSE(layers[2].diverges);
}

TEST(CompareModels, InterfacesMustMatch) {
  Model a = parseModel(chain("0.25").c_str());
  Model otherInput = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,8] Z) => (float[1,8] Y)
{
  Y = Relu(Z)
}
)");
  Status s = checkSameInterface(a.graph(), otherInput.graph(), "a.onnx", "b.onnx");
  EXPECT_EQ(s.code(), ErrorCode::InvalidInput);
  EXPECT_EQ(s.message(), "input 'X' of a.onnx is not an input of b.onnx");
  Model intOutput = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,8] X) => (int64[1,8] Y)
{
  Y = Cast<to = 7>(X)
}
)");
  s = checkSameInterface(a.graph(), intOutput.graph(), "a.onnx", "b.onnx");
  EXPECT_EQ(s.message(), "output 'Y' is float32 in a.onnx but int64 in b.onnx");
  EXPECT_TRUE(checkSameInterface(a.graph(), a.graph(), "a", "a").isOk());
}
