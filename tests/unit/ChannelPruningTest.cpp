// prune granularity=channel / neuron (pruneChannels). Tolerance: rtol 1e-5, atol 1e-5.
// Each numeric test builds a model in which the channels the pass must remove are
// already zero wherever they are read (zero weights and bias, BN scale and B zero,
// zero-preserving activations), i.e. the model is its own masked reference: the pruned
// model must reproduce its outputs up to float summation order.
#include <set>

#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/io/ModelIO.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/pruning/ChannelPruning.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

// "{...}": `rows` runs of `rowSize` seeded values in [lo, hi), the runs in `zeroRows` all zero.
std::string rowsLiteral(int rows, int rowSize, const std::set<int>& zeroRows, uint32_t seed, double lo = -1.0,
                        double hi = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::string out = "{";
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < rowSize; ++i) {
      const double v = u(rng);
      out += fmt::format("{}{:.6f}", r + i ? ", " : "", zeroRows.count(r) ? 0.0 : v);
    }
  return out + "}";
}

// "{...}": a row-major [rows, cols] matrix of seeded values whose columns `zeroCols` are zero.
std::string colsLiteral(int rows, int cols, const std::set<int>& zeroCols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::string out = "{";
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const double v = u(rng);
      out += fmt::format("{}{:.6f}", r + c ? ", " : "", zeroCols.count(c) ? 0.0 : v);
    }
  return out + "}";
}

// Every Conv/Gemm/MatMul with a constant weight at input 1, in every graph.
std::vector<PruneTarget> allTargets(Model& m, double sparsity) {
  std::vector<PruneTarget> targets;
  m.graph().forEachGraph([&](Graph& g) {
    for (Node* n : g.nodes())
      if ((n->opType() == "Conv" || n->opType() == "Gemm" || n->opType() == "MatMul") && isConstant(n->input(1)))
        targets.push_back({n, 1, sparsity});
  });
  return targets;
}

PruneOptions channelOptions(const std::string& granularity = "channel") {
  PruneOptions o;
  o.granularity = granularity;
  return o;
}

PassResult prune(Model& m, double sparsity, const PruneOptions& options = channelOptions()) {
  auto result = pruneChannels(m, options, allTargets(m, sparsity));
  EXPECT_TRUE(result) << result.status().message();
  Status verified = m.graph().verify();
  EXPECT_TRUE(verified.isOk()) << verified.message();
  return result ? *result : PassResult{};
}

// The dims of the constant `name` (initializer or Constant output) in the main graph.
std::vector<int64_t> dimsOf(const Model& m, const std::string& name) {
  const Value* v = m.graph().findValue(name);
  const Tensor* t = v ? constantTensor(v) : nullptr;
  EXPECT_NE(t, nullptr) << name;
  return t ? t->dims() : std::vector<int64_t>{};
}

std::vector<float> valuesOf(const Model& m, const std::string& name) {
  const Value* v = m.graph().findValue(name);
  const Tensor* t = v ? constantTensor(v) : nullptr;
  EXPECT_NE(t, nullptr) << name;
  return t ? *floatValues(*t) : std::vector<float>{};
}

// Runs of `rowSize` elements of `values`, those listed in `rows`.
std::vector<float> pickRows(const std::vector<float>& values, int rowSize, const std::vector<int>& rows) {
  std::vector<float> out;
  for (int r : rows) out.insert(out.end(), values.begin() + r * rowSize, values.begin() + (r + 1) * rowSize);
  return out;
}

int64_t parameterCount(const Model& m) {
  int64_t n = 0;
  m.graph().forEachGraph([&](const Graph& g) {
    for (const Value* v : g.initializers()) n += v->initializer()->numElements();
  });
  return n;
}

using Dims = std::vector<int64_t>;

}  // namespace

TEST(ChannelPruning, ConvBatchNormMulReluConvChain) {
  // Channel 2 of T is zero: zero weights and bias, BN scale and B zero, then Mul and Relu keep it zero.
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] X) => (float[1,5,6,6] Y)
<float[4,3,3,3] W1 = $w1$, float[4] B1 = $b1$, float[4] s = $s$, float[4] b = $b$, float[4] mean = $m$,
 float[4] var = $v$, float[4,1,1] K = $k$, float[5,4,3,3] W2 = $w2$, float[5] B2 = $b2$>
{
  T = Conv <pads = [1,1,1,1]> (X, W1, B1)
  U = BatchNormalization (T, s, b, mean, var)
  V = Mul (U, K)
  R = Relu (V)
  Y = Conv <pads = [1,1,1,1]> (R, W2, B2)
}
)", {{"$w1$", rowsLiteral(4, 27, {2}, 1)}, {"$b1$", rowsLiteral(4, 1, {2}, 2)},
     {"$s$", rowsLiteral(4, 1, {2}, 3, 0.5, 2.0)}, {"$b$", rowsLiteral(4, 1, {2}, 4)},
     {"$m$", seededLiteral(4, 5)}, {"$v$", seededLiteral(4, 6, 0.5, 2.0)}, {"$k$", seededLiteral(4, 7)},
     {"$w2$", seededLiteral(180, 8)}, {"$b2$", seededLiteral(5, 9)}}).c_str());
  Model before = m.clone();
  const std::vector<float> w2 = valuesOf(m, "W2");
  PassResult r = prune(m, 0.25);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(statistic(r, "groups pruned"), 1);
  EXPECT_EQ(statistic(r, "groups skipped"), 1);  // W2's channels are the graph output
  EXPECT_EQ(statistic(r, "channels removed"), 1);
  EXPECT_EQ(dimsOf(m, "W1"), (Dims{3, 3, 3, 3}));
  EXPECT_EQ(dimsOf(m, "B1"), (Dims{3}));
  for (const char* bn : {"s", "b", "mean", "var"}) EXPECT_EQ(dimsOf(m, bn), (Dims{3})) << bn;
  EXPECT_EQ(dimsOf(m, "K"), (Dims{3, 1, 1}));
  EXPECT_EQ(dimsOf(m, "W2"), (Dims{5, 3, 3, 3}));
  EXPECT_EQ(dimsOf(m, "B2"), (Dims{5}));
  // W2 lost input channel 2 of each output channel.
  std::vector<float> expected;
  for (int o = 0; o < 5; ++o)
    for (int i : {0, 1, 3}) expected.insert(expected.end(), w2.begin() + (o * 4 + i) * 9, w2.begin() + (o * 4 + i + 1) * 9);
  EXPECT_EQ(valuesOf(m, "W2"), expected);
  EXPECT_EQ(m.graph().findValue("T")->type().toString(), "float32[1,3,6,6]");
  EXPECT_EQ(statistic(r, "parameters before"), 108 + 4 * 5 + 4 + 180);
  EXPECT_EQ(statistic(r, "parameters after"), 81 + 3 * 5 + 3 + 135);
  expectSameOutputs(before, m, 1e-5, 1e-5);
}

TEST(ChannelPruning, ResidualAddPrunesTheSameChannelsOnBothSides) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,5,5] X) => (float[1,2,5,5] Y)
<float[4,3,3,3] WA = $wa$, float[4] BA = $ba$, float[4,4,3,3] WB = $wb$, float[4] BB = $bb$, float[2,4,1,1] WC = $wc$>
{
  A = Conv <pads = [1,1,1,1]> (X, WA, BA)
  RA = Relu (A)
  B = Conv <pads = [1,1,1,1]> (RA, WB, BB)
  S = Add (RA, B)
  RS = Relu (S)
  Y = Conv (RS, WC)
}
)", {{"$wa$", rowsLiteral(4, 27, {1}, 11)}, {"$ba$", rowsLiteral(4, 1, {1}, 12)},
     {"$wb$", rowsLiteral(4, 36, {1}, 13)}, {"$bb$", rowsLiteral(4, 1, {1}, 14)}, {"$wc$", seededLiteral(8, 15)}})
                           .c_str());
  Model before = m.clone();
  const std::vector<float> wa = valuesOf(m, "WA"), wb = valuesOf(m, "WB");
  PassResult r = prune(m, 0.25);
  EXPECT_EQ(statistic(r, "groups pruned"), 1);  // Conv A and Conv B form one group
  EXPECT_EQ(statistic(r, "channels removed"), 2);
  EXPECT_EQ(dimsOf(m, "WA"), (Dims{3, 3, 3, 3}));
  EXPECT_EQ(dimsOf(m, "WB"), (Dims{3, 3, 3, 3}));
  EXPECT_EQ(dimsOf(m, "WC"), (Dims{2, 3, 1, 1}));
  EXPECT_EQ(valuesOf(m, "WA"), pickRows(wa, 27, {0, 2, 3}));
  std::vector<float> wbRows = pickRows(wb, 36, {0, 2, 3}), wbExpected;  // then input channel 1 of each
  for (int o = 0; o < 3; ++o)
    for (int i : {0, 2, 3})
      wbExpected.insert(wbExpected.end(), wbRows.begin() + (o * 4 + i) * 9, wbRows.begin() + (o * 4 + i + 1) * 9);
  EXPECT_EQ(valuesOf(m, "WB"), wbExpected);
  expectSameOutputs(before, m, 1e-5, 1e-5);
}

TEST(ChannelPruning, DepthwiseConvFollowsItsInputChannels) {
  // Depthwise with multiplier 2: input channel 3 feeds outputs 6 and 7 (their bias is zero).
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,5,5] X) => (float[1,3,5,5] Y)
<float[4,2,1,1] W1 = $w1$, float[4] B1 = $b1$, float[8,1,3,3] WD = $wd$, float[8] BD = $bd$, float[3,8,1,1] W2 = $w2$>
{
  T = Conv (X, W1, B1)
  R = Relu (T)
  D = Conv <group = 4, pads = [1,1,1,1]> (R, WD, BD)
  lo = Constant <value = float {0.0}> ()
  hi = Constant <value = float {6.0}> ()
  C = Clip (D, lo, hi)
  Y = Conv (C, W2)
}
)", {{"$w1$", rowsLiteral(4, 2, {3}, 21)}, {"$b1$", rowsLiteral(4, 1, {3}, 22)}, {"$wd$", seededLiteral(72, 23)},
     {"$bd$", rowsLiteral(8, 1, {6, 7}, 24)}, {"$w2$", seededLiteral(24, 25)}}).c_str());
  Model before = m.clone();
  PassResult r = prune(m, 0.25);
  EXPECT_EQ(statistic(r, "groups pruned"), 1);
  EXPECT_EQ(dimsOf(m, "W1"), (Dims{3, 2, 1, 1}));
  EXPECT_EQ(dimsOf(m, "WD"), (Dims{6, 1, 3, 3}));
  EXPECT_EQ(dimsOf(m, "BD"), (Dims{6}));
  EXPECT_EQ(dimsOf(m, "W2"), (Dims{3, 6, 1, 1}));
  EXPECT_EQ(m.graph().findValue("D")->producer()->intAttr("group", 0), 3);
  expectSameOutputs(before, m, 1e-5, 1e-5);
}

TEST(ChannelPruning, GroupedConvKeepsEqualInputChannelsPerGroup) {
  // Conv group 2 reads channels 0..3 and 4..7; channel 1 and channel 6 are zero.
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,5,5] X) => (float[1,4,5,5] Y)
<float[8,2,1,1] W1 = $w1$, float[8] B1 = $b1$, float[4,4,3,3] W2 = $w2$>
{
  T = Conv (X, W1, B1)
  R = Relu (T)
  Y = Conv <group = 2, pads = [1,1,1,1]> (R, W2)
}
)", {{"$w1$", rowsLiteral(8, 2, {1, 6}, 31)}, {"$b1$", rowsLiteral(8, 1, {1, 6}, 32)},
     {"$w2$", seededLiteral(144, 33)}}).c_str());
  Model before = m.clone();
  const std::vector<float> w2 = valuesOf(m, "W2");
  PassResult r = prune(m, 0.25);
  EXPECT_EQ(statistic(r, "groups pruned"), 1);
  EXPECT_EQ(dimsOf(m, "W1"), (Dims{6, 2, 1, 1}));
  EXPECT_EQ(dimsOf(m, "W2"), (Dims{4, 3, 3, 3}));
  // Outputs 0,1 (conv group 0) drop local input 1; outputs 2,3 (group 1) drop local input 2.
  std::vector<float> expected;
  for (int o = 0; o < 4; ++o)
    for (int l : o < 2 ? std::vector<int>{0, 2, 3} : std::vector<int>{0, 1, 3})
      expected.insert(expected.end(), w2.begin() + (o * 4 + l) * 9, w2.begin() + (o * 4 + l + 1) * 9);
  EXPECT_EQ(valuesOf(m, "W2"), expected);
  expectSameOutputs(before, m, 1e-5, 1e-5);
}

TEST(ChannelPruning, ConcatOffsetsReachTheConsumer) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[4,2,1,1] WA = $wa$, float[4] BA = $ba$, float[4,2,3,3] WB = $wb$, float[3,8,1,1] WC = $wc$>
{
  A = Conv (X, WA, BA)
  B = Conv <pads = [1,1,1,1]> (X, WB)
  C = Concat <axis = 1> (A, B)
  R = Relu (C)
  Y = Conv (R, WC)
}
)", {{"$wa$", rowsLiteral(4, 2, {1}, 41)}, {"$ba$", rowsLiteral(4, 1, {1}, 42)}, {"$wb$", rowsLiteral(4, 18, {2}, 43)},
     {"$wc$", seededLiteral(24, 44)}}).c_str());
  Model before = m.clone();
  const std::vector<float> wc = valuesOf(m, "WC");
  PassResult r = prune(m, 0.25);
  EXPECT_EQ(statistic(r, "groups pruned"), 2);
  EXPECT_EQ(dimsOf(m, "WA"), (Dims{3, 2, 1, 1}));
  EXPECT_EQ(dimsOf(m, "WB"), (Dims{3, 2, 3, 3}));
  EXPECT_EQ(dimsOf(m, "WC"), (Dims{3, 6, 1, 1}));
  std::vector<float> expected;  // Concat channels 1 (A's 1) and 6 (B's 2) are gone
  for (int o = 0; o < 3; ++o)
    for (int i : {0, 2, 3, 4, 5, 7}) expected.push_back(wc[static_cast<size_t>(o * 8 + i)]);
  EXPECT_EQ(valuesOf(m, "WC"), expected);
  EXPECT_EQ(m.graph().findValue("C")->type().toString(), "float32[1,6,4,4]");
  expectSameOutputs(before, m, 1e-5, 1e-5);
}

TEST(ChannelPruning, FlattenAndReshapeIntoGemmAndMatMul) {
  // Channel 3 (16 columns after Flatten) is zero.
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,5] Y, float[1,5] Z)
<float[4,2,3,3] W = $w$, float[4] B = $b$, float[5,64] G = $g$, float[5] GB = $gb$, float[64,5] M = $m$,
 int64[2] shape = {1, 64}>
{
  T = Conv <pads = [1,1,1,1]> (X, W, B)
  R = Relu (T)
  F = Flatten (R)
  Y = Gemm <transB = 1> (F, G, GB)
  P = Reshape (R, shape)
  Z = MatMul (P, M)
}
)", {{"$w$", rowsLiteral(4, 18, {3}, 51)}, {"$b$", rowsLiteral(4, 1, {3}, 52)}, {"$g$", seededLiteral(320, 53)},
     {"$gb$", seededLiteral(5, 54)}, {"$m$", seededLiteral(320, 55)}}).c_str());
  Model before = m.clone();
  const std::vector<float> g = valuesOf(m, "G"), mm = valuesOf(m, "M");
  PassResult r = prune(m, 0.25);
  EXPECT_EQ(statistic(r, "groups pruned"), 1);
  EXPECT_EQ(statistic(r, "groups skipped"), 2);  // Gemm's and MatMul's outputs are graph outputs
  EXPECT_EQ(dimsOf(m, "W"), (Dims{3, 2, 3, 3}));
  EXPECT_EQ(dimsOf(m, "G"), (Dims{5, 48}));
  EXPECT_EQ(dimsOf(m, "M"), (Dims{48, 5}));
  EXPECT_EQ(valuesOf(m, "G")[48], g[64]);  // row 1 starts after the 48 kept columns of row 0
  const std::vector<float> mAfter = valuesOf(m, "M");
  EXPECT_EQ(mAfter, std::vector<float>(mm.begin(), mm.begin() + 240));  // rows 0..47 are channels 0..2
  auto shape = intValues(*constantTensor(m.graph().findValue("shape")));
  EXPECT_EQ(*shape, (std::vector<int64_t>{1, 48}));
  EXPECT_EQ(m.graph().findValue("F")->type().toString(), "float32[1,48]");
  expectSameOutputs(before, m, 1e-5, 1e-5);
}

TEST(ChannelPruning, NeuronGranularityPrunesFfnHiddenUnits) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3,8] X) => (float[2,3,8] Y)
<float[8,16] W1 = $w1$, float[16] B1 = $b1$, float[16,8] W2 = $w2$, float[8] B2 = $b2$>
{
  H = MatMul (X, W1)
  HB = Add (H, B1)
  A = Relu (HB)
  O = MatMul (A, W2)
  Y = Add (O, B2)
}
)", {{"$w1$", colsLiteral(8, 16, {3, 7, 10, 12}, 61)}, {"$b1$", rowsLiteral(16, 1, {3, 7, 10, 12}, 62)},
     {"$w2$", seededLiteral(128, 63)}, {"$b2$", seededLiteral(8, 64)}}).c_str());
  Model before = m.clone();
  const std::vector<float> w2 = valuesOf(m, "W2");
  PassResult r = prune(m, 0.25, channelOptions("neuron"));
  EXPECT_EQ(statistic(r, "groups pruned"), 1);
  EXPECT_EQ(statistic(r, "groups skipped"), 1);  // W2's features reach Y
  EXPECT_EQ(statistic(r, "channels removed"), 4);
  EXPECT_EQ(dimsOf(m, "W1"), (Dims{8, 12}));
  EXPECT_EQ(dimsOf(m, "B1"), (Dims{12}));
  EXPECT_EQ(dimsOf(m, "W2"), (Dims{12, 8}));
  EXPECT_EQ(valuesOf(m, "W2"), pickRows(w2, 8, {0, 1, 2, 4, 5, 6, 8, 9, 11, 13, 14, 15}));
  expectSameOutputs(before, m, 1e-5, 1e-5);
}

TEST(ChannelPruning, NeuronGranularityLeavesConvsAlone) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[4,2,1,1] W1 = $w1$, float[3,4,1,1] W2 = $w2$>
{
  T = Conv (X, W1)
  R = Relu (T)
  Y = Conv (R, W2)
}
)", {{"$w1$", seededLiteral(8, 65)}, {"$w2$", seededLiteral(12, 66)}}).c_str());
  PassResult r = prune(m, 0.5, channelOptions("neuron"));
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(dimsOf(m, "W1"), (Dims{4, 2, 1, 1}));
}

TEST(ChannelPruning, GroupsReachingGraphOutputsOrSoftmaxAreSkipped) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,4,4,4] Y, float[1,3,4,4] Z)
<float[4,2,1,1] W1 = $w1$, float[4,2,1,1] W2 = $w2$, float[3,4,1,1] W3 = $w3$>
{
  T = Conv (X, W1)
  Y = Relu (T)
  S = Conv (X, W2)
  M = Softmax <axis = 1> (S)
  Z = Conv (M, W3)
}
)", {{"$w1$", seededLiteral(8, 71)}, {"$w2$", seededLiteral(8, 72)}, {"$w3$", seededLiteral(12, 73)}}).c_str());
  Model before = m.clone();
  PassResult r = prune(m, 0.25);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(statistic(r, "groups pruned"), 0);
  EXPECT_EQ(statistic(r, "groups skipped"), 3);
  EXPECT_EQ(dimsOf(m, "W1"), (Dims{4, 2, 1, 1}));
  EXPECT_EQ(dimsOf(m, "W2"), (Dims{4, 2, 1, 1}));
  EXPECT_EQ(dimsOf(m, "W3"), (Dims{3, 4, 1, 1}));
  expectSameOutputs(before, m, 1e-6, 1e-6);
}

TEST(ChannelPruning, EmptyingALayerIsAnErrorBeforeAnyChange) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[2,2,1,1] W1 = $w1$, float[3,2,1,1] W2 = $w2$>
{
  T = Conv (X, W1)
  R = Relu (T)
  Y = Conv (R, W2)
}
)", {{"$w1$", seededLiteral(4, 81)}, {"$w2$", seededLiteral(6, 82)}}).c_str());
  auto result = pruneChannels(m, channelOptions(), allTargets(m, 0.75));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), ErrorCode::Usage);
  EXPECT_NE(result.status().message().find("Conv producing 'T'"), std::string::npos) << result.status().message();
  EXPECT_EQ(dimsOf(m, "W1"), (Dims{2, 2, 1, 1}));
  EXPECT_EQ(dimsOf(m, "W2"), (Dims{3, 2, 1, 1}));
}

TEST(ChannelPruning, BadCriterionAndGlobalScopeAreUsageErrors) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[4,2,1,1] W1 = $w1$, float[3,4,1,1] W2 = $w2$>
{
  T = Conv (X, W1)
  Y = Conv (T, W2)
}
)", {{"$w1$", seededLiteral(8, 83)}, {"$w2$", seededLiteral(12, 84)}}).c_str());
  PruneOptions bogus = channelOptions();
  bogus.criterion = "taylor";
  auto r1 = pruneChannels(m, bogus, allTargets(m, 0.25));
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.status().code(), ErrorCode::Usage);
  PruneOptions global = channelOptions();
  global.scope = "global";
  auto r2 = pruneChannels(m, global, allTargets(m, 0.25));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.status().code(), ErrorCode::Usage);
}

TEST(ChannelPruning, ConstantNodeWeightsBecomeSlicedInitializers) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
{
  W1 = Constant <value = float[4,2,1,1] $w1$> ()
  B1 = Constant <value = float[4] $b1$> ()
  W2 = Constant <value = float[3,4,1,1] $w2$> ()
  T = Conv (X, W1, B1)
  R = Relu (T)
  Y = Conv (R, W2)
}
)", {{"$w1$", rowsLiteral(4, 2, {0}, 91)}, {"$b1$", rowsLiteral(4, 1, {0}, 92)}, {"$w2$", seededLiteral(12, 93)}})
                           .c_str());
  Model before = m.clone();
  PassResult r = prune(m, 0.25);
  EXPECT_EQ(statistic(r, "groups pruned"), 1);
  EXPECT_EQ(countOps(m, "Constant"), 0);
  EXPECT_EQ(dimsOf(m, "W1"), (Dims{3, 2, 1, 1}));
  EXPECT_EQ(dimsOf(m, "B1"), (Dims{3}));
  EXPECT_EQ(dimsOf(m, "W2"), (Dims{3, 3, 1, 1}));
  EXPECT_EQ(constantTensor(m.graph().findValue("W1"))->dtype(), DataType::Float);
  expectSameOutputs(before, m, 1e-5, 1e-5);
}

TEST(ChannelPruning, PrunesInsideIfBranchesWithOuterWeights) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[4,2,1,1] W1 = $w1$, float[4] B1 = $b1$, float[3,4,1,1] W2 = $w2$>
{
  Y = If (c) <
    then_branch = t () => (float[1,3,4,4] o) { T = Conv (X, W1, B1) R = Relu (T) o = Conv (R, W2) },
    else_branch = e () => (float[1,3,4,4] o) { U = Conv (X, W1, B1) N = Neg (U) o = Conv (N, W2) }
  >
}
)", {{"$w1$", rowsLiteral(4, 2, {2}, 101)}, {"$b1$", rowsLiteral(4, 1, {2}, 102)}, {"$w2$", seededLiteral(12, 103)}})
                           .c_str());
  Model before = m.clone();
  PassResult r = prune(m, 0.25);
  EXPECT_EQ(statistic(r, "groups pruned"), 2);
  EXPECT_EQ(statistic(r, "groups skipped"), 2);  // the second Convs produce the branch outputs
  EXPECT_EQ(m.graph().findValue("W1"), nullptr);   // each branch reads its own pruned copy
  expectSameOutputsOnBothBranches(before, m, 1e-5, 1e-5);
}

TEST(ChannelPruning, L2AndSeededRandomCriteria) {
  const std::string text = substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[8,2,1,1] W1 = $w1$, float[3,8,1,1] W2 = $w2$>
{
  T = Conv (X, W1)
  R = Relu (T)
  Y = Conv (R, W2)
}
)", {{"$w1$", rowsLiteral(8, 2, {4, 5}, 111)}, {"$w2$", seededLiteral(24, 112)}});
  Model l2 = parseModel(text.c_str());
  Model before = l2.clone();
  PruneOptions options = channelOptions();
  options.criterion = "l2";
  prune(l2, 0.25, options);
  EXPECT_EQ(dimsOf(l2, "W1"), (Dims{6, 2, 1, 1}));
  expectSameOutputs(before, l2, 1e-5, 1e-5);

  options.criterion = "random";
  options.seed = 5;
  Model a = parseModel(text.c_str()), b = parseModel(text.c_str());
  prune(a, 0.25, options);
  prune(b, 0.25, options);
  EXPECT_EQ(dimsOf(a, "W1"), (Dims{6, 2, 1, 1}));
  EXPECT_EQ(valuesOf(a, "W1"), valuesOf(b, "W1"));
  EXPECT_EQ(runModel(a, randomInputs(a)).size(), 1u);
}

TEST(ChannelPruning, ResNetSmallFromDiskShrinksAndStillRuns) {
  auto loaded = loadModel(std::string(ONNXPRESS_SOURCE_DIR) + "/models/parity/resnet_small.onnx");
  ASSERT_TRUE(loaded) << loaded.status().message();
  Model m = std::move(*loaded);
  Model before = m.clone();
  PassResult r = prune(m, 0.25);
  // Three residual stages (one group each, the last through the depthwise block), six
  // inner block convs and the pointwise conv; the classifier Gemm feeds the output.
  EXPECT_EQ(statistic(r, "groups pruned"), 10);
  EXPECT_EQ(statistic(r, "groups skipped"), 1);
  EXPECT_LT(statistic(r, "parameters after"), statistic(r, "parameters before"));
  EXPECT_LT(parameterCount(m), parameterCount(before));
  (void)inferShapes(before);  // the pass inferred shapes on `m`; compare like with like
  ASSERT_EQ(m.graph().outputs().size(), before.graph().outputs().size());
  for (size_t i = 0; i < m.graph().outputs().size(); ++i)
    EXPECT_EQ(m.graph().outputs()[i]->type(), before.graph().outputs()[i]->type());
  auto inputs = randomInputs(before);
  auto a = runModel(before, inputs);
  auto b = runModel(m, inputs);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].shape(), b[i].shape());
}
