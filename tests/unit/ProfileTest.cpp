// Profile: the peak-memory simulation on hand-computed chains, per-layer
// parameters / MACs / output bytes after binding symbolic dims, and the helpers
// (input shapes, random inputs, rankings, target gaps). Exact figures throughout.
#include <fmt/format.h>

#include <numeric>

#include "TestUtil.h"
#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/analysis/Profile.h"
#include "onnxpress/ir/GraphUtil.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

// X [1,100] float = 400 bytes. B reads X after A, so X lives until B has run.
const char* kBranchChain = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,100] X) => (float[1] Y)
{
  A = Relu(X)
  B = Sigmoid(X)
  C = Concat<axis = 1>(A, B)
  Y = ReduceMean<axes = [1], keepdims = 0>(C)
}
)";

std::vector<const Node*> fileOrder(const Graph& g) {
  std::vector<const Node*> order;
  for (const Node* n : g.nodes()) order.push_back(n);
  return order;
}

// Footprints from static shapes (a buffer per tensor).
FootprintFn staticFootprint() {
  return [](const Value* v) -> std::optional<TensorFootprint> {
    auto shape = staticShape(v);
    if (!shape) return std::nullopt;
    return TensorFootprint{static_cast<int64_t>(dataTypeStorageBytes(elementType(v), elementCount(*shape))), nullptr};
  };
}

// "{v0, v1, ...}" with n deterministic values in [-1, 1].
std::string values(int n, int salt) {
  std::string out = "{";
  for (int i = 0; i < n; ++i) out += fmt::format("{}{:.3f}", i ? ", " : "", ((i * 37 + salt * 11) % 21 - 10) / 10.0);
  return out + "}";
}

}  // namespace

TEST(PeakMemory, FollowsTheReleasePlanOnAHandComputedChain) {
  Model m = parseModel(kBranchChain);
  ASSERT_TRUE(inferShapes(m));
  // live before -> after each node (bytes):
  //   start      X                      400
  //   Relu       X A            800
  //   Sigmoid    X A B         1200, then X dies (last read)   -> 800
  //   Concat     A B C         1600, then A and B die          -> 800
  //   ReduceMean C Y            804, then C dies               -> 4
  const PeakMemory peak = simulatePeakMemory(m.graph(), fileOrder(m.graph()), staticFootprint());
  EXPECT_EQ(peak.bytes, 1600);
  ASSERT_NE(peak.atNode, nullptr);
  EXPECT_EQ(peak.atNode->opType(), "Concat");
  EXPECT_EQ(peak.unknownValues, 0);
}

TEST(PeakMemory, SharedBuffersCountOnceAndGraphOutputsStay) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,100] X) => (float[100] Y1, float[1] Y2)
<int64[1] s = {100}>
{
  A = Relu(X)
  R = Reshape(A, s)
  Y1 = Neg(R)
  Y2 = ReduceMean<axes = [1], keepdims = 0>(A)
}
)");
  ASSERT_TRUE(inferShapes(m));
  const Value* a = m.graph().findValue("A");
  // R is a view of A's buffer.
  FootprintFn shared = [&, base = staticFootprint()](const Value* v) -> std::optional<TensorFootprint> {
    auto fp = base(v);
    if (fp && (v->name() == "A" || v->name() == "R")) fp->storage = a;
    return fp;
  };
  //   start X 400; Relu X+A 800 -> X dies 400; Reshape (same buffer) 400;
  //   Neg A+Y1 800; ReduceMean A+Y1+Y2 804 -> A dies, Y1 and Y2 stay: 404.
  const PeakMemory withViews = simulatePeakMemory(m.graph(), fileOrder(m.graph()), shared);
  EXPECT_EQ(withViews.bytes, 804);
  EXPECT_EQ(withViews.atNode->opType(), "ReduceMean");
  // Counting R as a buffer of its own: Neg holds A+R+Y1 = 1200.
  const PeakMemory copies = simulatePeakMemory(m.graph(), fileOrder(m.graph()), staticFootprint());
  EXPECT_EQ(copies.bytes, 1200);
  EXPECT_EQ(copies.atNode->opType(), "Neg");
}

TEST(Profile, MeasuredRunSeesReshapeAsAView) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,100] X) => (float[100] Y1, float[1] Y2)
<int64[1] s = {100}>
{
  A = Relu(X)
  R = Reshape(A, s)
  Y1 = Neg(R)
  Y2 = ReduceMean<axes = [1], keepdims = 0>(A)
}
)");
  auto feed = randomFeed(m.graph(), {});
  ASSERT_TRUE(feed) << feed.status().message();
  auto profile = profileModel(m, *feed, {.iterations = 3, .warmup = 0, .threads = 1, .onRun = {}});
  ASSERT_TRUE(profile) << profile.status().message();
  // The runtime's Reshape aliases its input, so the peak is the 804 bytes of the hand count above.
  EXPECT_EQ(profile->peak.bytes, 804);
  EXPECT_EQ(profile->layers.size(), 4u);
}

TEST(Profile, PerLayerParametersMacsAndOutputsWithSymbolicBatch) {
  const std::string text = fmt::format(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,3,8,8] X) => (float[N,5] Y)
<float[4,3,3,3] W = {}, float[4] Bc = {}, float[5,64] G = {}, float[5] Bg = {}>
{{
  C = Conv<pads = [1, 1, 1, 1], strides = [2, 2]>(X, W, Bc)
  F = Flatten(C)
  Y = Gemm<transB = 1>(F, G, Bg)
}}
)",
                                       values(108, 1), values(4, 2), values(320, 3), values(5, 4));
  Model m = parseModel(text.c_str());
  auto noShape = randomFeed(m.graph(), {});
  ASSERT_FALSE(noShape);
  EXPECT_EQ(noShape.status().code(), ErrorCode::Usage);
  EXPECT_NE(noShape.status().message().find("input 'X' dim 0 is symbolic ('N')"), std::string::npos);

  auto shapes = parseInputShapes({"X=2x3x8x8"});
  ASSERT_TRUE(shapes);
  auto feed = randomFeed(m.graph(), *shapes);
  ASSERT_TRUE(feed) << feed.status().message();
  auto profile = profileModel(m, *feed, {.iterations = 5, .warmup = 1, .threads = 1, .onRun = {}});
  ASSERT_TRUE(profile) << profile.status().message();
  ASSERT_EQ(profile->layers.size(), 3u);
  const LayerProfile& conv = profile->layers[0];
  const LayerProfile& flatten = profile->layers[1];
  const LayerProfile& gemm = profile->layers[2];
  EXPECT_EQ(conv.op, "Conv");
  EXPECT_EQ(conv.name, "C");  // unnamed node: its first output
  EXPECT_EQ(conv.parameters, 108 + 4);
  EXPECT_EQ(conv.weightBytes, (108 + 4) * 4);
  EXPECT_EQ(conv.macs, 2 * 4 * 4 * 4 * (3 * 3 * 3));  // N * Cout * OH * OW * (Cin * kh * kw)
  EXPECT_EQ(conv.outputBytes, 2 * 4 * 4 * 4 * 4);
  EXPECT_EQ(flatten.parameters, 0);
  EXPECT_EQ(flatten.macs, 0);
  EXPECT_EQ(flatten.outputBytes, 2 * 64 * 4);
  EXPECT_EQ(gemm.parameters, 320 + 5);
  EXPECT_EQ(gemm.macs, 2 * 5 * 64);  // the declared output [N,5] became [2,5] from the run
  EXPECT_EQ(gemm.outputBytes, 2 * 5 * 4);
  EXPECT_EQ(profile->parameters, 108 + 4 + 320 + 5);
  EXPECT_EQ(profile->macs, 3456 + 640);
  EXPECT_EQ(profile->unknownMacNodes, 0);
  EXPECT_EQ(profile->iterations, 5);
  EXPECT_GT(profile->medianLatencySeconds, 0);
  double shares = 0;
  for (const LayerProfile& l : profile->layers) {
    EXPECT_GE(l.latencyShare, 0);
    shares += l.latencyShare;
  }
  EXPECT_NEAR(shares, 1.0, 1e-9);
  EXPECT_EQ(topLayers(profile->layers, RankBy::Macs, 5), (std::vector<size_t>{0, 2}));  // Flatten has no MACs
}

TEST(Profile, BindingShapesRejectsContradictions) {
  Model m = parseModel(kBranchChain);
  EXPECT_EQ(bindInputShapes(m.graph(), {{"X", {1, 99}}}).code(), ErrorCode::InvalidInput);
  EXPECT_EQ(bindInputShapes(m.graph(), {{"nope", {1, 100}}}).code(), ErrorCode::InvalidInput);
  EXPECT_EQ(randomFeed(m.graph(), {{"X", {2, 100}}}).status().code(), ErrorCode::Usage);
  EXPECT_EQ(randomFeed(m.graph(), {{"nope", {1}}}).status().code(), ErrorCode::Usage);
}

TEST(Profile, ParsesInputShapes) {
  auto s = parseInputShapes({"input=1x1x28x28", "ids=2,16", "a=b=3"});
  ASSERT_TRUE(s) << s.status().message();
  EXPECT_EQ(s->at("input"), (std::vector<int64_t>{1, 1, 28, 28}));
  EXPECT_EQ(s->at("ids"), (std::vector<int64_t>{2, 16}));
  EXPECT_EQ(s->at("a=b"), (std::vector<int64_t>{3}));  // the last '=' splits
  for (const char* bad : {"x", "=3", "x=", "x=2x", "x=-1", "x=2y3", "x=1.5"})
    EXPECT_EQ(parseInputShapes({bad}).status().code(), ErrorCode::Usage) << bad;
}

TEST(Profile, RanksAndTargetGaps) {
  std::vector<LayerProfile> layers(4);
  layers[0].latencyShare = 0.1, layers[0].macs = 50;
  layers[1].latencyShare = 0.6, layers[1].macs = std::nullopt;
  layers[2].latencyShare = 0.0, layers[2].macs = 900;
  layers[3].latencyShare = 0.3, layers[3].macs = 0;
  EXPECT_EQ(topLayers(layers, RankBy::Latency, 2), (std::vector<size_t>{1, 3}));
  EXPECT_EQ(topLayers(layers, RankBy::Latency, 9), (std::vector<size_t>{1, 3, 0}));
  EXPECT_EQ(topLayers(layers, RankBy::Macs, 9), (std::vector<size_t>{2, 0}));
  const TargetGap tooBig = targetGap(6.4e6, 2e6);
  EXPECT_DOUBLE_EQ(tooBig.ratio, 3.2);
  EXPECT_FALSE(tooBig.met());
  const TargetGap fits = targetGap(1.0, 4.0);
  EXPECT_DOUBLE_EQ(fits.ratio, 0.25);
  EXPECT_TRUE(fits.met());
}
