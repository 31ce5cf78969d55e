// lowrank. Tolerances: at ratio=1 (full rank) the factors reproduce the layer up to
// float rounding of the factors and the longer accumulation chain: rtol 1e-4, atol
// 1e-5 (float32), rtol 1e-5, atol 1e-6 (float64 weights), rtol/atol 2e-2 (float16
// weights). Truncated: the weight error must equal the SVD tail sqrt(sum_{i>=r} s_i^2)
// within 1e-4 relative, and the output error obey |Y' - Y|_F <= |X|_F * s_r (+1e-4).
#include <Eigen/Dense>

#include <cmath>

#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/pass/PassOptions.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/substitution/LowRank.h"
#include "onnxpress/passes/substitution/SubstitutionUtil.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

PassResult runLowRank(Model& m, LowRankOptions options) {
  LowRankPass pass(options);
  return runPassOn(pass, m);
}

// Full rank, every layer, even when the factors are bigger: must be exact.
LowRankOptions fullRank() {
  LowRankOptions o;
  o.ratio = 1;
  o.onlyIfSmaller = false;
  o.minParams = 0;
  return o;
}

Eigen::MatrixXd matrixOf(const Value* v) {
  std::optional<substitution::Weight> w = substitution::readWeight(v);
  EXPECT_TRUE(w && w->dims.size() == 2);
  if (!w || w->dims.size() != 2) return {};
  return Eigen::Map<const RowMajor>(w->values.data(), w->dims[0], w->dims[1]);
}

// The node of type `op` reading `input` as its first input.
Node* readerOf(const Model& m, const std::string& op, const Value* input) {
  for (Node* n : m.graph().nodes())
    if (n->opType() == op && n->input(0) == input) return n;
  return nullptr;
}

std::vector<float> floats(const runtime::TensorData& t) {
  auto s = t.span<float>();
  return {s.begin(), s.end()};
}
}  // namespace

// The Gram-matrix SVD against its definition, for tall, wide and rank-deficient
// matrices: U S V^T = M (to the sqrt(eps) resolution of the Gram route), orthonormal
// columns where S > 0, S descending, and the rank of M nonzero values.
TEST(LowRank, ThinSvdReconstructsTallWideAndRankDeficientMatrices) {
  const std::vector<std::pair<Eigen::MatrixXd, Eigen::Index>> cases = {
      {Eigen::MatrixXd::Random(9, 5), 5},
      {Eigen::MatrixXd::Random(4, 11), 4},
      {Eigen::MatrixXd(Eigen::MatrixXd::Random(8, 2) * Eigen::MatrixXd::Random(2, 6)), 2}};
  for (const auto& [m, rank] : cases) {
    const substitution::ThinSvd svd = substitution::thinSvd(m);
    const Eigen::Index k = std::min(m.rows(), m.cols());
    ASSERT_EQ(svd.singular.size(), k);
    ASSERT_EQ(svd.u.rows(), m.rows());
    ASSERT_EQ(svd.v.rows(), m.cols());
    EXPECT_LT((svd.u * svd.singular.asDiagonal() * svd.v.transpose() - m).norm(), 1e-6 * m.norm());
    for (Eigen::Index i = 1; i < k; ++i) EXPECT_GE(svd.singular(i - 1), svd.singular(i));
    const Eigen::Index nonzero = (svd.singular.array() > 0).count();
    EXPECT_EQ(nonzero, rank);
    EXPECT_LT((svd.u.leftCols(nonzero).transpose() * svd.u.leftCols(nonzero) - Eigen::MatrixXd::Identity(nonzero, nonzero)).norm(), 1e-9);
    EXPECT_LT((svd.v.transpose() * svd.v - Eigen::MatrixXd::Identity(k, k)).norm(), 1e-9);
  }
}

TEST(LowRank, GemmAtFullRankIsExactAndKeepsAlphaBetaAndBias) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[3,8] X) => (float[3,6] Y)
<float[6,8] W = $w$, float[6] C = $c$>
{
  Y = Gemm <alpha = 0.5, beta = 2.0, transB = 1> (X, W, C)
}
)", {{"$w$", seededLiteral(48, 1)}, {"$c$", seededLiteral(6, 2)}}).c_str());
  Model before = m.clone();
  PassResult r = runLowRank(m, fullRank());
  EXPECT_EQ(countOps(m, "Gemm"), 2);
  EXPECT_EQ(statistic(r, "layers replaced"), 1);
  EXPECT_EQ(statistic(r, "parameters before"), 48 + 6);
  EXPECT_EQ(statistic(r, "parameters after"), 6 * (8 + 6) + 6);  // rank min(8, 6) = 6
  EXPECT_EQ(statistic(r, "MACs before"), 3 * 8 * 6);
  EXPECT_EQ(statistic(r, "MACs after"), 3 * 8 * 6 + 3 * 6 * 6);
  EXPECT_EQ(m.graph().findValue("W"), nullptr);  // the old weight is gone
  ASSERT_EQ(m.graph().outputs().size(), 1u);
  const Node* second = m.graph().outputs()[0]->producer();
  EXPECT_EQ(m.graph().outputs()[0]->name(), "Y");
  ASSERT_EQ(second->numInputs(), 3u);
  EXPECT_EQ(second->input(2)->name(), "C");
  EXPECT_FLOAT_EQ(second->floatAttr("alpha", 1), 0.5f);
  EXPECT_FLOAT_EQ(second->floatAttr("beta", 1), 2.0f);
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(LowRank, TruncatedMatMulErrorIsTheSvdTail) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,5,16] X) => (float[2,5,12] Y)
<float[16,12] W = $w$>
{
  Y = MatMul(X, W)
}
)", {{"$w$", seededLiteral(16 * 12, 3)}}).c_str());
  Model before = m.clone();
  const Eigen::MatrixXd w = matrixOf(before.graph().findValue("W"));
  LowRankOptions o;
  o.minParams = 0;  // ratio 0.5: rank 6, 6 * 28 = 168 < 192 parameters
  PassResult r = runLowRank(m, o);
  ASSERT_EQ(countOps(m, "MatMul"), 2);
  Node* first = readerOf(m, "MatMul", m.graph().findValue("X"));
  ASSERT_NE(first, nullptr);
  Node* second = readerOf(m, "MatMul", first->output(0));
  ASSERT_NE(second, nullptr);
  const Eigen::MatrixXd p = matrixOf(first->input(1)), q = matrixOf(second->input(1));
  ASSERT_EQ(p.rows(), 16);
  ASSERT_EQ(p.cols(), 6);
  ASSERT_EQ(q.rows(), 6);
  ASSERT_EQ(q.cols(), 12);

  const Eigen::VectorXd s = substitution::thinSvd(w).singular;
  const double tail = std::sqrt(s.tail(s.size() - 6).squaredNorm());
  EXPECT_NEAR((w - p * q).norm(), tail, 1e-4 * w.norm());
  EXPECT_NEAR(static_cast<double>(statistic(r, "relative weight error (ppm)")), 1e6 * tail / w.norm(), 1.0);
  EXPECT_EQ(statistic(r, "parameters after"), 6 * (16 + 12));

  // |Y' - Y|_F = |X (PQ - W)|_F <= |X|_F * |PQ - W|_2 = |X|_F * s_6.
  auto inputs = randomInputs(before);
  const std::vector<float> x = floats(inputs.at("X"));
  const std::vector<float> y0 = floats(runModel(before, inputs).at(0)), y1 = floats(runModel(m, inputs).at(0));
  double diff = 0, xNorm = 0;
  for (size_t i = 0; i < y0.size(); ++i) diff += (y1[i] - y0[i]) * double(y1[i] - y0[i]);
  for (float v : x) xNorm += double(v) * v;
  EXPECT_LE(std::sqrt(diff), std::sqrt(xNorm) * s[6] + 1e-4);
  EXPECT_GT(std::sqrt(diff), 0.0);
}

TEST(LowRank, EnergyPicksTheSmallestRankHoldingIt) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4,16] X) => (float[4,12] Y)
<float[16,12] W = $w$>
{
  Y = MatMul(X, W)
}
)", {{"$w$", seededLiteral(16 * 12, 4)}}).c_str());
  const Eigen::MatrixXd w = matrixOf(m.graph().findValue("W"));
  const Eigen::VectorXd s = substitution::thinSvd(w).singular;
  int64_t expectedRank = 0;
  for (double kept = 0; kept < 0.9 * s.squaredNorm();) kept += s[expectedRank] * s[expectedRank], ++expectedRank;

  LowRankOptions o = fullRank();
  o.energy = 0.9;
  runLowRank(m, o);
  Node* first = readerOf(m, "MatMul", m.graph().findValue("X"));
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(matrixOf(first->input(1)).cols(), expectedRank);
  EXPECT_LT(expectedRank, 12);
}

TEST(LowRank, ChannelModeConvsAtFullRankAreExact) {
  // A strided, padded 3x3 conv with bias, then a 1x1 conv.
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,9,9] X) => (float[1,4,5,5] Z)
<float[5,3,3,3] W = $w$, float[5] B = $b$, float[4,5,1,1] V = $v$>
{
  Y = Conv <kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]> (X, W, B)
  Z = Conv (Y, V)
}
)", {{"$w$", seededLiteral(135, 5)}, {"$b$", seededLiteral(5, 6)}, {"$v$", seededLiteral(20, 7)}}).c_str());
  Model before = m.clone();
  PassResult r = runLowRank(m, fullRank());
  EXPECT_EQ(countOps(m, "Conv"), 4);
  EXPECT_EQ(statistic(r, "layers replaced"), 2);
  Node* first = readerOf(m, "Conv", m.graph().findValue("X"));
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->intsAttr("kernel_shape"), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(first->intsAttr("strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(first->intsAttr("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(constantTensor(first->input(1))->dims(), (std::vector<int64_t>{5, 3, 3, 3}));  // rank min(5, 27)
  Node* pointwise = readerOf(m, "Conv", first->output(0));
  ASSERT_NE(pointwise, nullptr);
  EXPECT_EQ(pointwise->intsAttr("kernel_shape"), (std::vector<int64_t>{1, 1}));
  ASSERT_EQ(pointwise->numInputs(), 3u);
  EXPECT_EQ(pointwise->input(2)->name(), "B");
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(LowRank, SpatialModeSplitsStridesPadsDilationsAndAutoPadExactly) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,8,7] X) => (float[1,4,4,7] Y1, float[1,4,4,4] Y2, float[1,4,8,7] Y3)
<float[4,3,3,3] W1 = $w1$, float[4] B1 = $b1$, float[4,3,3,3] W2 = $w2$, float[4,3,3,2] W3 = $w3$>
{
  Y1 = Conv <strides = [2, 1], pads = [1, 2, 1, 0]> (X, W1, B1)
  Y2 = Conv <auto_pad = "SAME_UPPER", strides = [2, 2]> (X, W2)
  Y3 = Conv <dilations = [2, 1], pads = [2, 0, 2, 1]> (X, W3)
}
)", {{"$w1$", seededLiteral(108, 8)}, {"$b1$", seededLiteral(4, 9)}, {"$w2$", seededLiteral(108, 10)},
     {"$w3$", seededLiteral(72, 11)}}).c_str());
  Model before = m.clone();
  LowRankOptions o = fullRank();
  o.convMode = "spatial";
  PassResult r = runLowRank(m, o);
  EXPECT_EQ(statistic(r, "layers replaced"), 3);
  EXPECT_EQ(countOps(m, "Conv"), 6);
  int vertical = 0, horizontal = 0;
  for (const Node* n : m.graph().nodes()) {
    std::vector<int64_t> k = n->intsAttr("kernel_shape");
    vertical += k.size() == 2 && k[1] == 1 && k[0] == 3;
    horizontal += k.size() == 2 && k[0] == 1 && k[1] > 1;
  }
  EXPECT_EQ(vertical, 3);
  EXPECT_EQ(horizontal, 3);
  const Node* first = readerOf(m, "Conv", m.graph().findValue("X"));
  ASSERT_NE(first, nullptr);
  // Rank min(Ci*kh, Co*kw) = 9 for the 3x3 convs, 8 for the 3x2 one.
  const int64_t rank = constantTensor(first->input(1))->dims()[0];
  EXPECT_TRUE(rank == 9 || rank == 8);
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(LowRank, ConstantNodeDoubleWeightsKeepTheirType) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4,8] X) => (float[4,6] Y)
{
  Xd = Cast <to = 11> (X)
  W = Constant <value = double[8,6] $w$> ()
  Yd = MatMul(Xd, W)
  Y = Cast <to = 1> (Yd)
}
)", {{"$w$", seededLiteral(48, 12)}}).c_str());
  Model before = m.clone();
  runLowRank(m, fullRank());
  EXPECT_EQ(countOps(m, "MatMul"), 2);
  EXPECT_EQ(countOps(m, "Constant"), 0);  // the Constant node went with its last reader
  for (const Node* n : m.graph().nodes())
    if (n->opType() == "MatMul") {
      EXPECT_EQ(constantTensor(n->input(1))->dtype(), DataType::Double);
    }
  expectSameOutputs(before, m, 1e-5, 1e-6);
}

TEST(LowRank, Float16WeightsKeepTheirType) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4,8] X) => (float[4,6] Y)
<float[8,6] W = $w$>
{
  Xh = Cast <to = 10> (X)
  Yh = MatMul(Xh, W)
  Y = Cast <to = 1> (Yh)
}
)", {{"$w$", seededLiteral(48, 13)}}).c_str());
  Value* w = m.graph().findValue("W");
  std::vector<float> values = *floatValues(*w->initializer());
  Tensor half = makeFloatTensor(DataType::Float16, {8, 6}, values);
  half.setName("W");
  *w->initializer() = std::move(half);
  w->setType(Type::tensor(DataType::Float16, {Dim::fixed(8), Dim::fixed(6)}));
  Model before = m.clone();
  runLowRank(m, fullRank());
  EXPECT_EQ(countOps(m, "MatMul"), 2);
  std::vector<const Tensor*> factors;
  for (const Node* n : m.graph().nodes())
    if (n->opType() == "MatMul") {
      EXPECT_EQ(constantTensor(n->input(1))->dtype(), DataType::Float16);
      factors.push_back(constantTensor(n->input(1)));
    }
  // The runtime has no float16 MatMul: check the factors' product against W instead.
  ASSERT_EQ(factors.size(), 2u);
  const int64_t rank = factors[0]->dims()[1];
  auto a = *floatValues(*factors[0]), b = *floatValues(*factors[1]);
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < 6; ++j) {
      double product = 0;
      for (int64_t k = 0; k < rank; ++k) product += a[i * rank + k] * b[k * 6 + j];
      EXPECT_NEAR(product, values[i * 6 + j], 2e-2) << i << "," << j;
    }
}

TEST(LowRank, Opset9GemmGetsAZeroBiasOnTheFirstLayer) {
  Model m = parseModel(substitute(R"(
<ir_version: 4, opset_import: ["" : 9]>
g (float[3,8] X) => (float[3,6] Y)
<float[8,6] W = $w$, float[6] C = $c$>
{
  Y = Gemm(X, W, C)
}
)", {{"$w$", seededLiteral(48, 14)}, {"$c$", seededLiteral(6, 15)}}).c_str());
  Model before = m.clone();
  runLowRank(m, fullRank());
  Node* first = readerOf(m, "Gemm", m.graph().findValue("X"));
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->numInputs(), 3u);  // C is required before opset 11
  expectSameOutputs(before, m, 1e-4, 1e-5);
}

TEST(LowRank, FactorizesInsideIfBranches) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[3,8] X) => (float[3,6] Y)
<float[8,6] W = $w$>
{
  Y = If(c) <
    then_branch = t () => (float[3,6] o) { o = MatMul(X, W) },
    else_branch = e () => (float[3,6] o) { n = Neg(X) o = MatMul(n, W) }
  >
}
)", {{"$w$", seededLiteral(48, 16)}}).c_str());
  Model before = m.clone();
  PassResult r = runLowRank(m, fullRank());
  EXPECT_EQ(statistic(r, "layers replaced"), 2);
  EXPECT_EQ(countOps(m, "MatMul"), 4);
  EXPECT_EQ(m.graph().findValue("W"), nullptr);  // unused once both branches read their factors
  expectSameOutputsOnBothBranches(before, m, 1e-4, 1e-5);
}

TEST(LowRank, SkipsSmallBiggerGroupedAndDynamicLayers) {
  Model small = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[3,8] X) => (float[3,6] Y)
<float[8,6] W = $w$>
{
  Y = MatMul(X, W)
}
)", {{"$w$", seededLiteral(48, 17)}}).c_str());
  EXPECT_FALSE(runLowRank(small, LowRankOptions{}).changed);  // 48 < min-params 4096
  LowRankOptions notSmaller;
  notSmaller.ratio = 1;
  notSmaller.minParams = 0;
  EXPECT_FALSE(runLowRank(small, notSmaller).changed);  // 6 * 14 > 48 with only-if-smaller

  Model other = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,5,5] X, float[3,8] A, float[8,6] V) => (float[1,4,3,3] Y, float[3,6] Z)
<float[4,2,3,3] W = $w$>
{
  Y = Conv <group = 2> (X, W)
  Z = MatMul(A, V)
}
)", {{"$w$", seededLiteral(72, 18)}}).c_str());
  LowRankOptions any;
  any.minParams = 0;
  any.onlyIfSmaller = false;
  EXPECT_FALSE(runLowRank(other, any).changed);
}

TEST(LowRank, OpTypesRestrictWhatIsFactorized) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[3,8] X) => (float[3,6] Y, float[3,6] Z)
<float[8,6] W = $w$>
{
  Y = MatMul(X, W)
  Z = Gemm(X, W)
}
)", {{"$w$", seededLiteral(48, 19)}}).c_str());
  LowRankOptions o = fullRank();
  o.opTypes = {"Gemm"};
  PassResult r = runLowRank(m, o);
  EXPECT_EQ(statistic(r, "layers replaced"), 1);
  EXPECT_EQ(countOps(m, "MatMul"), 1);
  EXPECT_EQ(countOps(m, "Gemm"), 2);
  EXPECT_NE(m.graph().findValue("W"), nullptr);  // still read by the MatMul
}

TEST(LowRank, BadOptionsAreUsageErrors) {
  for (const RawOptions& raw : std::vector<RawOptions>{{{"ratio", "0"}},
                                                       {{"ratio", "1.5"}},
                                                       {{"energy", "2"}},
                                                       {{"energy", "-0.1"}},
                                                       {{"conv-mode", "diagonal"}},
                                                       {{"op-types", "Gemm,Relu"}},
                                                       {{"min-params", "-1"}}}) {
    auto created = LowRankPass::create(raw);
    ASSERT_FALSE(created) << raw[0].first << "=" << raw[0].second;
    EXPECT_EQ(created.status().code(), ErrorCode::Usage);
    EXPECT_NE(created.status().message().find(raw[0].first), std::string::npos) << created.status().message();
  }
  EXPECT_TRUE(LowRankPass::create({{"ratio", "1"}, {"energy", "0.95"}, {"conv-mode", "spatial"}}));
}
