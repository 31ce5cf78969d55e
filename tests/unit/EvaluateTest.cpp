// Evaluate: top-1/top-5 on a model whose logits are known, the tie rule, the
// errors for unusable logits or labels, and fidelity against a reference
// (MSE computed by hand). Exact figures.
#include <cmath>
#include <limits>

#include "NpzTestUtil.h"
#include "onnxpress/analysis/Evaluate.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

// logits = 2 * X: scaling keeps every ranking.
const char* kDouble = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,6] X) => (float[1,6] logits)
<float two = {2.0}>
{
  logits = Mul(X, two)
}
)";
const char* kTimes2point2 = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,6] X) => (float[1,6] logits)
<float k = {2.2}>
{
  logits = Mul(X, k)
}
)";

// Four samples of six classes, with labels:
//   0: label 1 is the maximum                         -> top-1 and top-5
//   1: label 2 is second (0.5 > 0.3)                  -> top-5 only
//   2: label 5 is sixth                               -> neither
//   3: label 1 ties class 0; the lower index wins     -> top-5 only
const std::vector<float> kLogits = {0.1f, 0.9f, 0.0f, 0.0f, 0.0f, 0.0f,  //
                                    0.5f, 0.2f, 0.3f, 0.0f, 0.0f, 0.0f,  //
                                    6, 5, 4, 3, 2, 1,                    //
                                    1, 1, 0, 0, 0, 0};
const std::vector<int64_t> kLabels = {1, 2, 5, 1};

std::string writeData(const TempDir& dir, const std::vector<int64_t>& labels, bool withLabels = true) {
  std::vector<NpzMember> members = {npzArray("X", DataType::Float, {4, 1, 6}, kLogits)};
  if (withLabels) members.push_back(npzArray("labels", DataType::Int64, {static_cast<int64_t>(labels.size())}, labels));
  const std::string path = dir.file("data.npz");
  writeNpz(path, members);
  return path;
}

EvalOptions withMetric(Metric metric) {
  EvalOptions options;
  options.metric = metric;
  options.threads = 1;
  return options;
}

}  // namespace

TEST(Evaluate, TopKAccuracyOnKnownLogits) {
  TempDir dir;
  auto data = Dataset::open(writeData(dir, kLabels));
  ASSERT_TRUE(data) << data.status().message();
  Model m = parseModel(kDouble);
  int64_t ticks = 0;
  EvalOptions options = withMetric(Metric::Top1);
  options.onSample = [&] { ++ticks; };
  auto r = evaluate(m, nullptr, *data, options);
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(ticks, 4);
  EXPECT_EQ(r->samples, 4);
  ASSERT_TRUE(r->accuracy);
  EXPECT_EQ(r->accuracy->top1Correct, 1);
  EXPECT_EQ(r->accuracy->top5Correct, 3);
  EXPECT_EQ(r->accuracy->classes, 6);
  EXPECT_DOUBLE_EQ(r->value, 0.25);
  EXPECT_FALSE(r->fidelity);

  auto top5 = evaluate(m, nullptr, *data, withMetric(Metric::Top5));
  ASSERT_TRUE(top5);
  EXPECT_DOUBLE_EQ(top5->value, 0.75);

  EvalOptions firstTwo = withMetric(Metric::Top1);
  firstTwo.samples = 2;
  auto partial = evaluate(m, nullptr, *data, firstTwo);
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->samples, 2);
  EXPECT_DOUBLE_EQ(partial->value, 0.5);
}

TEST(Evaluate, AccuracyAccumulatorRules) {
  using runtime::TensorData;
  AccuracyAccumulator acc;
  EXPECT_TRUE(acc.add(TensorData::fromVector<float>(DataType::Float, {3}, {0, 2, 1}), 1).isOk());        // [C]
  EXPECT_TRUE(acc.add(TensorData::fromVector<float>(DataType::Float, {1, 1, 3}, {5, 2, 1}), 2).isOk());  // rank 2 of 3
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(acc.add(TensorData::fromVector<float>(DataType::Float, {3}, {nan, 0, 0}), 0).isOk());  // never correct
  EXPECT_TRUE(acc.add(TensorData::fromVector<float>(DataType::Float, {3}, {0, nan, 1}), 2).isOk());  // NaN ranks first
  EXPECT_EQ(acc.result().samples, 4);
  EXPECT_EQ(acc.result().top1Correct, 1);
  EXPECT_EQ(acc.result().top5Correct, 3);  // C = 3 <= 5: every sample but the NaN-labelled one
  Status batch = acc.add(TensorData::fromVector<float>(DataType::Float, {2, 3}, {0, 1, 2, 3, 4, 5}), 0);
  EXPECT_EQ(batch.code(), ErrorCode::InvalidInput);
  EXPECT_NE(batch.message().find("[2,3]"), std::string::npos) << batch.message();
  EXPECT_EQ(acc.add(TensorData::fromVector<float>(DataType::Float, {3}, {0, 1, 2}), 3).code(), ErrorCode::InvalidInput);
  EXPECT_EQ(acc.add(TensorData::fromVector<float>(DataType::Float, {3}, {0, 1, 2}), -1).code(), ErrorCode::InvalidInput);
}

TEST(Evaluate, ErrorsNameTheProblem) {
  TempDir dir;
  Model m = parseModel(kDouble);
  {
    auto data = Dataset::open(writeData(dir, {1, 2, 9, 1}));  // label 9 of 6 classes
    ASSERT_TRUE(data);
    auto r = evaluate(m, nullptr, *data, withMetric(Metric::Top1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidInput);
    EXPECT_NE(r.status().message().find("sample 2"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("label 9"), std::string::npos) << r.status().message();
  }
  {
    auto data = Dataset::open(writeData(dir, {}, /*withLabels=*/false));
    ASSERT_TRUE(data);
    auto r = evaluate(m, nullptr, *data, withMetric(Metric::Top1));
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidInput);
    EXPECT_NE(r.status().message().find("no 'labels'"), std::string::npos) << r.status().message();
    EXPECT_EQ(evaluate(m, nullptr, *data, withMetric(Metric::Snr)).status().code(), ErrorCode::Usage);
  }
  EXPECT_EQ(parseMetric("top3").status().code(), ErrorCode::Usage);
  ASSERT_TRUE(parseMetric("cosine"));
  EXPECT_EQ(*parseMetric("cosine"), Metric::Cosine);
  EXPECT_EQ(metricName(Metric::Top5), "top5");
}

TEST(Evaluate, FidelityAgainstAReference) {
  TempDir dir;
  auto data = Dataset::open(writeData(dir, kLabels));
  ASSERT_TRUE(data);
  Model model = parseModel(kTimes2point2), reference = parseModel(kDouble);

  auto same = evaluate(reference, &reference, *data, withMetric(Metric::Snr));
  ASSERT_TRUE(same) << same.status().message();
  EXPECT_EQ(same->value, 999);
  EXPECT_EQ(same->fidelity->overall.mse, 0);

  auto r = evaluate(model, &reference, *data, withMetric(Metric::Mse));
  ASSERT_TRUE(r) << r.status().message();
  // Error per element = (2.2 - 2) x = 0.2 x, so MSE = 0.04 * mean(x^2).
  double sumSq = 0;
  for (float x : kLogits) sumSq += static_cast<double>(x) * x;
  const double expectedMse = 0.04 * sumSq / static_cast<double>(kLogits.size());
  EXPECT_NEAR(r->value, expectedMse, 1e-6);
  ASSERT_TRUE(r->fidelity);
  ASSERT_EQ(r->fidelity->outputs.size(), 1u);
  EXPECT_EQ(r->fidelity->outputs[0].name, "logits");
  EXPECT_NEAR(r->fidelity->outputs[0].stats.fidelity.maxAbs, 0.2 * 6, 1e-5);
  EXPECT_NEAR(r->fidelity->overall.fidelity.cosine, 1.0, 1e-9);  // a pure scaling keeps the direction
  EXPECT_NEAR(r->fidelity->overall.fidelity.snrDb, 10 * std::log10(4.0 / 0.04), 1e-4);  // |2x|^2 / |0.2x|^2
  EXPECT_FALSE(r->accuracy);

  // An accuracy metric with a reference: both accuracies from the same runs.
  auto both = evaluate(model, &reference, *data, withMetric(Metric::Top1));
  ASSERT_TRUE(both) << both.status().message();
  EXPECT_EQ(both->accuracy->top1Correct, 1);
  EXPECT_EQ(both->referenceAccuracy->top1Correct, 1);
  EXPECT_TRUE(both->fidelity);
}

TEST(Evaluate, ReferenceWithAnotherInterfaceIsRejected) {
  TempDir dir;
  auto data = Dataset::open(writeData(dir, kLabels));
  ASSERT_TRUE(data);
  Model model = parseModel(kDouble);
  Model renamed = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,6] X) => (float[1,6] scores)
{
  scores = Relu(X)
}
)");
  auto r = evaluate(model, &renamed, *data, withMetric(Metric::Snr));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), ErrorCode::InvalidInput);
  EXPECT_NE(r.status().message().find("'scores'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("'logits'"), std::string::npos) << r.status().message();
}
