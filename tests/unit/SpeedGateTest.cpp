// The min-speedup gate against the paired latency rounds, and the paired measurement
// itself: a shortfall within the rounds' spread passes with a note, one beyond it fails.
#include "TestUtil.h"
#include "onnxpress/analysis/PairedLatency.h"
#include "onnxpress/driver/Compress.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

CompressionReport reportWith(std::optional<LatencyComparison> c) {
  CompressionReport r;
  r.latencyComparison = c;
  return r;
}

Gates minSpeedup(double limit) {
  Gates g;
  g.minSpeedup = limit;
  return g;
}

}  // namespace

TEST(SpeedGate, ShortfallWithinTheRoundsSpreadPassesWithANote) {
  const auto gates = checkGates(minSpeedup(1.0), reportWith(LatencyComparison{0.97, 0.91, 1.06, 5, 10, true}));
  ASSERT_EQ(gates.size(), 1u);
  EXPECT_TRUE(gates[0].passed);
  EXPECT_DOUBLE_EQ(gates[0].measured, 0.97);
  EXPECT_NE(gates[0].note.find("within noise: 5 paired rounds gave 0.91x to 1.06x"), std::string::npos) << gates[0].note;
}

TEST(SpeedGate, EveryRoundBelowTheLimitFailsBeyondNoise) {
  const auto gates = checkGates(minSpeedup(1.2), reportWith(LatencyComparison{1.1, 1.05, 1.15, 5, 10, false}));
  ASSERT_EQ(gates.size(), 1u);
  EXPECT_FALSE(gates[0].passed);
  EXPECT_NE(gates[0].note.find("beyond noise"), std::string::npos) << gates[0].note;
}

TEST(SpeedGate, MetWithoutNoteAndUnmeasuredFails) {
  auto met = checkGates(minSpeedup(1.2), reportWith(LatencyComparison{1.5, 1.4, 1.6, 5, 10, false}));
  ASSERT_EQ(met.size(), 1u);
  EXPECT_TRUE(met[0].passed);
  EXPECT_TRUE(met[0].note.empty());
  auto unmeasured = checkGates(minSpeedup(1.2), reportWith(std::nullopt));
  ASSERT_EQ(unmeasured.size(), 1u);
  EXPECT_FALSE(unmeasured[0].passed);
}

TEST(PairedLatency, RoundsRunsAndRangeFollowTheIterations) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[4,16] X) => (float[4,16] Y)
{
  Y = Relu (X)
}
)");
  InputFeed feed;
  feed["X"] = runtime::TensorData::zeros(DataType::Float, {4, 16});
  for (const auto& [iterations, rounds, runs] : std::vector<std::tuple<int, size_t, int64_t>>{{1, 1, 1}, {3, 3, 3}, {10, 5, 10}, {12, 5, 15}}) {
    Expected<PairedLatency> p = measurePairedLatency(m, m, feed, iterations, 1);
    ASSERT_TRUE(p) << p.status().message();
    EXPECT_EQ(p->roundRatios.size(), rounds) << iterations;
    EXPECT_EQ(p->runsPerModel, runs) << iterations;
    EXPECT_LE(p->ratioLow, p->ratioHigh);
    EXPECT_GT(p->medianMsA, 0);
    EXPECT_EQ(p->withinNoise(), p->ratioLow <= 1.0 && p->ratioHigh >= 1.0);
  }
  EXPECT_FALSE(measurePairedLatency(m, m, feed, 0, 1));
}
