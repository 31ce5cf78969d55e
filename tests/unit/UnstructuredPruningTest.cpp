// prune granularity=unstructured / n:m, and sparse storage. Tolerances: pruning only
// zeroes weights, so a pruned model must reproduce, to float rounding (rtol 1e-6,
// atol 1e-6), the original model with the expected weights zeroed by hand; kept
// weights must be bit-identical; sparse storage must reproduce the dense pruned
// model exactly (rtol 0, atol 0).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/pass/PassOptions.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/pruning/Prune.h"
#include "onnxpress/passes/pruning/UnstructuredPruning.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

PassResult runPrune(Model& m, PruneOptions options) {
  PrunePass pass(options);
  return runPassOn(pass, m);
}

// Layer scope: every layer at `sparsity` (the default, scope=auto, is global for unstructured).
PruneOptions unstructured(double sparsity) {
  PruneOptions o;
  o.sparsity = sparsity;
  o.scope = "layer";
  return o;
}

PruneOptions nm(const std::string& pattern = "2:4") {
  PruneOptions o;
  o.granularity = "n:m";
  o.nm = pattern;
  return o;
}

std::vector<float> weightValues(const Model& m, const std::string& name) {
  const Value* v = m.graph().findValue(name);
  EXPECT_NE(v, nullptr) << name;
  const Tensor* t = v ? constantTensor(v) : nullptr;
  EXPECT_NE(t, nullptr) << name;
  if (!t) return {};
  return *floatValues(*t);
}

int64_t zeros(const std::vector<float>& values) { return std::count(values.begin(), values.end(), 0.0f); }

// `m` with initializer `name` replaced by `values` (same dims and dtype float32).
void setWeight(Model& m, const std::string& name, const std::vector<float>& values) {
  Tensor* t = m.graph().findValue(name)->initializer();
  Tensor replacement = makeFloatTensor(DataType::Float, t->dims(), values);
  replacement.setName(name);
  *t = std::move(replacement);
}

// The reference answer, computed independently: zero the round(s * n) smallest |w|
// (stable: lower index first among equals).
std::vector<float> magnitudePruned(std::vector<float> w, double sparsity) {
  std::vector<size_t> order(w.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return std::abs(w[a]) < std::abs(w[b]); });
  const auto k = static_cast<size_t>(std::llround(sparsity * static_cast<double>(w.size())));
  for (size_t i = 0; i < k; ++i) w[order[i]] = 0;
  return w;
}

// Every group of m consecutive weights along the reduction dim, the weight seen as
// [outer, length, inner] (element (o, l, i) at (o * length + l) * inner + i), keeps
// exactly ceil(n * size / m) of its (nonzero) weights, unchanged, and those are the
// largest in magnitude; the others are 0.
void expectNmPattern(const std::vector<float>& before, const std::vector<float>& after, int64_t outer, int64_t length,
                     int64_t inner, int64_t n, int64_t m) {
  ASSERT_EQ(before.size(), after.size());
  ASSERT_EQ(static_cast<int64_t>(before.size()), outer * length * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i)
      for (int64_t start = 0; start < length; start += m) {
        const int64_t size = std::min(m, length - start);
        const int64_t keep = (n * size + m - 1) / m;
        float smallestKept = INFINITY, largestZeroed = 0;
        int64_t kept = 0;
        for (int64_t l = start; l < start + size; ++l) {
          const auto at = static_cast<size_t>((o * length + l) * inner + i);
          ASSERT_NE(before[at], 0.0f);
          if (after[at] == 0) {
            largestZeroed = std::max(largestZeroed, std::abs(before[at]));
          } else {
            EXPECT_EQ(after[at], before[at]);
            smallestKept = std::min(smallestKept, std::abs(before[at]));
            ++kept;
          }
        }
        EXPECT_EQ(kept, keep) << "group (" << o << ", " << start << ", " << i << ")";
        EXPECT_GE(smallestKept, largestZeroed) << "group (" << o << ", " << start << ", " << i << ")";
      }
}

}  // namespace

TEST(UnstructuredPruning, TwoFourOnConvAlongInputChannelsAtEachKernelPosition) {
  // W [4, 8, 3, 3]: at each of the 9 kernel positions of each output channel, the 8 input
  // channels form two groups of 4 that keep 2 each (TensorRT's layout). The second Conv
  // has 3 input channels, not a multiple of 4: skipped and counted.
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,8,5,5] X, float[1,3,5,5] Z) => (float[1,4,5,5] Y, float[1,4,5,5] V)
<float[4,8,3,3] W = $w$, float[4] B = $b$, float[4,3,3,3] K = $k$>
{
  Y = Conv <pads = [1, 1, 1, 1]> (X, W, B)
  V = Conv <pads = [1, 1, 1, 1]> (Z, K)
}
)", {{"$w$", seededLiteral(288, 1)}, {"$b$", seededLiteral(4, 2, -0.01, 0.01)}, {"$k$", seededLiteral(108, 3)}})
                               .c_str());
  const std::vector<float> before = weightValues(m, "W");
  const std::vector<float> bias = weightValues(m, "B");
  const std::vector<float> untouched = weightValues(m, "K");
  PassResult r = runPrune(m, nm());
  expectNmPattern(before, weightValues(m, "W"), 4, 8, 9, 2, 4);
  EXPECT_EQ(weightValues(m, "B"), bias);  // biases are never pruned
  EXPECT_EQ(weightValues(m, "K"), untouched);
  EXPECT_EQ(statistic(r, "layers pruned"), 1);
  EXPECT_EQ(statistic(r, "Conv weights skipped (input channels not a multiple of M)"), 1);
  EXPECT_EQ(statistic(r, "weights zeroed"), 144);
  EXPECT_EQ(statistic(r, "zero fraction (ppm)"), 500000);
}

TEST(UnstructuredPruning, TwoFourOnGemmAlongKForBothTransB) {
  // transB=0: B [K=8, N=5], groups of 4 rows per column. transB=1: B [N=5, K=10],
  // groups of 4 columns per row, and a trailing pair that keeps ceil(2*2/4) = 1.
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,8] X, float[2,10] Z) => (float[2,5] Y, float[2,5] V)
<float[8,5] B0 = $b0$, float[5,10] B1 = $b1$, float[5] C = $c$>
{
  Y = Gemm (X, B0, C)
  V = Gemm <transB = 1> (Z, B1, C)
}
)", {{"$b0$", seededLiteral(40, 3)}, {"$b1$", seededLiteral(50, 4)}, {"$c$", seededLiteral(5, 5)}}).c_str());
  const std::vector<float> b0 = weightValues(m, "B0"), b1 = weightValues(m, "B1");
  Model before = m.clone();
  PassResult r = runPrune(m, nm());
  expectNmPattern(b0, weightValues(m, "B0"), 1, 8, 5, 2, 4);
  expectNmPattern(b1, weightValues(m, "B1"), 5, 10, 1, 2, 4);
  EXPECT_EQ(statistic(r, "weights pruned"), 2);
  // Numeric: the pruned model is the original with exactly those weights zeroed.
  setWeight(before, "B0", weightValues(m, "B0"));
  setWeight(before, "B1", weightValues(m, "B1"));
  expectSameOutputs(before, m, 1e-6, 1e-6);
}

TEST(UnstructuredPruning, NmOnMatMulGroupsRowsOfKPerColumnAndBatch) {
  // B [K=8, N=6]: 4 consecutive rows per column. B3 [2, K=8, N=3]: the same per batch.
  // 1:4 keeps one weight per group.
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3,8] X) => (float[2,3,6] Y, float[2,3,3] V)
<float[8,6] B = $b$, float[2,8,3] B3 = $b3$>
{
  Y = MatMul(X, B)
  V = MatMul(X, B3)
}
)", {{"$b$", seededLiteral(48, 6)}, {"$b3$", seededLiteral(48, 7)}}).c_str());
  const std::vector<float> b = weightValues(m, "B"), b3 = weightValues(m, "B3");
  runPrune(m, nm("1:4"));
  expectNmPattern(b, weightValues(m, "B"), 1, 8, 6, 1, 4);
  expectNmPattern(b3, weightValues(m, "B3"), 2, 8, 3, 1, 4);
}

TEST(UnstructuredPruning, ReductionLayouts) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X, float[3,2,2,2] K, float[3,6] A, float[5,6] W, float[6,5] V)
  => (float[1,3,3,3] Y, float[3,5] Z, float[3,5] U)
{
  Y = Conv(X, K)
  Z = Gemm <transB = 1> (A, W)
  U = MatMul(A, V)
}
)");
  const Node* conv = m.graph().outputs()[0]->producer();
  const Node* gemm = m.graph().outputs()[1]->producer();
  const Node* matmul = m.graph().outputs()[2]->producer();
  EXPECT_EQ(reductionLayout(*conv, {3, 2, 2, 2}), (ReductionLayout{3, 2, 4}));
  EXPECT_EQ(reductionLayout(*gemm, {5, 6}), (ReductionLayout{5, 6, 1}));
  EXPECT_EQ(reductionLayout(*matmul, {6, 5}), (ReductionLayout{1, 6, 5}));
  EXPECT_EQ(reductionLayout(*matmul, {6}), (ReductionLayout{1, 6, 1}));
  EXPECT_FALSE(reductionLayout(*gemm, {5, 6, 1}).has_value());
  EXPECT_FALSE(reductionLayout(*conv, {3, 8}).has_value());
}

TEST(UnstructuredPruning, LayerScopeZeroesTheSmallestMagnitudesAndMatchesTheMaskedModel) {
  Model model = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[3,8] X) => (float[3,6] Y)
<float[6,8] W = $w$, float[6] C = $c$>
{
  H = Gemm <transB = 1> (X, W, C)
  R = Relu(H)
  W2 = Constant <value = float[6,6] $w2$> ()
  Y = MatMul(R, W2)
}
)", {{"$w$", seededLiteral(48, 8)}, {"$c$", seededLiteral(6, 9, -0.001, 0.001)}, {"$w2$", seededLiteral(36, 10)}})
                            .c_str());
  const std::vector<float> w = weightValues(model, "W"), w2 = weightValues(model, "W2");
  const std::vector<float> c = weightValues(model, "C");
  PassResult r = runPrune(model, unstructured(0.5));
  EXPECT_EQ(weightValues(model, "W"), magnitudePruned(w, 0.5));
  EXPECT_EQ(weightValues(model, "W2"), magnitudePruned(w2, 0.5));  // the Constant node, edited in place
  EXPECT_EQ(countOps(model, "Constant"), 1);
  EXPECT_EQ(weightValues(model, "C"), c);  // tiny, but a bias
  EXPECT_EQ(statistic(r, "layers pruned"), 2);
  EXPECT_EQ(statistic(r, "weight parameters"), 48 + 36);
  EXPECT_EQ(statistic(r, "weights zeroed"), 24 + 18);
  EXPECT_EQ(statistic(r, "zero fraction (ppm)"), 500000);
  EXPECT_TRUE(r.changed);

  Model handMasked = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[3,8] X) => (float[3,6] Y)
<float[6,8] W = $w$, float[6] C = $c$, float[6,6] W2 = $w2$>
{
  H = Gemm <transB = 1> (X, W, C)
  R = Relu(H)
  Y = MatMul(R, W2)
}
)", {{"$w$", seededLiteral(48, 8)}, {"$c$", seededLiteral(6, 9, -0.001, 0.001)}, {"$w2$", seededLiteral(36, 10)}})
                                   .c_str());
  setWeight(handMasked, "W", magnitudePruned(w, 0.5));
  setWeight(handMasked, "W2", magnitudePruned(w2, 0.5));
  expectSameOutputs(handMasked, model, 1e-6, 1e-6);
}

TEST(UnstructuredPruning, ZeroSparsityChangesNothing) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,4] X) => (float[2,3] Y)
<float[4,3] W = $w$>
{
  Y = MatMul(X, W)
}
)", {{"$w$", seededLiteral(12, 11)}}).c_str());
  Model before = m.clone();
  PassResult r = runPrune(m, unstructured(0));
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(weightValues(m, "W"), weightValues(before, "W"));
  expectSameOutputs(before, m, 0, 0);
}

TEST(UnstructuredPruning, GlobalScopeSharesOneThresholdAcrossLayers) {
  // S holds small weights, L large ones: one global threshold takes mostly from S.
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,8] X) => (float[2,8] Y)
<float[8,8] S = $s$, float[8,8] L = $l$, float[8,8] P = $p$>
{
  A = MatMul(X, S)
  B = MatMul(A, L)
  Y = MatMul(B, P)
}
)", {{"$s$", seededLiteral(64, 12, -0.1, 0.1)}, {"$l$", seededLiteral(64, 13)}, {"$p$", seededLiteral(64, 14)}})
                      .c_str());
  const std::vector<float> s = weightValues(m, "S"), l = weightValues(m, "L"), p = weightValues(m, "P");
  PruneOptions o = unstructured(0.5);
  o.scope = "global";
  o.perLayer = {"P=0.25"};  // an override is pruned on its own
  PassResult r = runPrune(m, o);
  // The reference: the 64 smallest |w| of S and L together.
  std::vector<float> pooled = s;
  pooled.insert(pooled.end(), l.begin(), l.end());
  pooled = magnitudePruned(pooled, 0.5);
  EXPECT_EQ(weightValues(m, "S"), std::vector<float>(pooled.begin(), pooled.begin() + 64));
  EXPECT_EQ(weightValues(m, "L"), std::vector<float>(pooled.begin() + 64, pooled.end()));
  EXPECT_GT(zeros(weightValues(m, "S")), 32);
  EXPECT_EQ(zeros(weightValues(m, "S")) + zeros(weightValues(m, "L")), 64);
  EXPECT_EQ(weightValues(m, "P"), magnitudePruned(p, 0.25));
  EXPECT_EQ(statistic(r, "weights zeroed"), 64 + 16);
}

TEST(UnstructuredPruning, RandomCriterionIsSeededAndHitsTheCount) {
  const std::string text = substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,8] X) => (float[2,8] Y)
<float[8,8] W = $w$>
{
  Y = MatMul(X, W)
}
)", {{"$w$", seededLiteral(64, 15)}});
  auto pruneWithSeed = [&](int64_t seed) {
    Model m = parseModel(text.c_str());
    PruneOptions o = unstructured(0.25);
    o.criterion = "random";
    o.seed = seed;
    runPrune(m, o);
    return weightValues(m, "W");
  };
  const std::vector<float> a = pruneWithSeed(1), b = pruneWithSeed(1), c = pruneWithSeed(2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(zeros(a), 16);
  EXPECT_EQ(zeros(c), 16);
}

TEST(UnstructuredPruning, SharedWeightInIfBranchesIsPrunedOnce) {
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
  Model expected = m.clone();
  const std::vector<float> w = weightValues(m, "W");
  PruneOptions o = unstructured(0.5);
  o.perLayer = {"W=0.75"};  // by weight name: both readers get 0.75
  PassResult r = runPrune(m, o);
  EXPECT_EQ(statistic(r, "layers pruned"), 2);
  EXPECT_EQ(statistic(r, "weights pruned"), 1);
  EXPECT_EQ(weightValues(m, "W"), magnitudePruned(w, 0.75));
  setWeight(expected, "W", magnitudePruned(w, 0.75));
  expectSameOutputsOnBothBranches(expected, m, 1e-6, 1e-6);
}

TEST(UnstructuredPruning, WeightAlsoReadByAnExcludedNodeStaysDense) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,8] X) => (float[2,8] Y, float[2,8] Z)
<float[8,8] W = $w$, float[8,8] U = $u$>
{
  Y = MatMul(X, W)
  keep_me = MatMul(X, U)
  Z = MatMul(keep_me, W)
}
)", {{"$w$", seededLiteral(64, 17)}, {"$u$", seededLiteral(64, 18)}}).c_str());
  // Name the nodes: the text parser leaves them unnamed.
  for (Node* n : m.graph().nodes()) n->setName(n->output(0)->name() == "Z" ? "protected_z" : n->output(0)->name());
  const std::vector<float> w = weightValues(m, "W"), u = weightValues(m, "U");
  PruneOptions o = unstructured(0.5);
  o.excludeNodes = "^protected";
  PassResult r = runPrune(m, o);
  EXPECT_EQ(weightValues(m, "W"), w);
  EXPECT_EQ(statistic(r, "weights skipped (read by other nodes)"), 1);
  EXPECT_EQ(weightValues(m, "U"), magnitudePruned(u, 0.5));
}

TEST(UnstructuredPruning, Float16WeightsKeepTheirBits) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float16[2,8] X) => (float16[2,4] Y)
<float[8,4] W = $w$>
{
  Y = MatMul(X, W)
}
)", {{"$w$", seededLiteral(32, 19)}}).c_str());
  Value* v = m.graph().findValue("W");
  Tensor half = makeFloatTensor(DataType::Float16, {8, 4}, *floatValues(*v->initializer()));
  half.setName("W");
  *v->initializer() = std::move(half);
  const std::vector<uint8_t> before(v->initializer()->bytes().begin(), v->initializer()->bytes().end());
  runPrune(m, unstructured(0.5));
  const Tensor& after = *v->initializer();
  ASSERT_EQ(after.dtype(), DataType::Float16);
  int64_t zeroed = 0;
  for (size_t i = 0; i < 32; ++i) {
    const uint8_t* b = after.bytes().data() + 2 * i;
    if (b[0] == 0 && b[1] == 0) ++zeroed;
    else EXPECT_EQ(std::memcmp(b, before.data() + 2 * i, 2), 0) << "element " << i;
  }
  EXPECT_EQ(zeroed, 16);
}

TEST(UnstructuredPruning, SparseStorageWhenSmallerAndTheSameOutputs) {
  const std::string text = substitute(R"(
<ir_version: 5, opset_import: ["" : 11]>
g (float[2,16] X) => (float[2,16] Y)
<float[16,16] W = $w$, float[16] C = $c$>
{
  H = MatMul(X, W)
  Y = Add(H, C)
}
)", {{"$w$", seededLiteral(256, 20)}, {"$c$", seededLiteral(16, 21)}});
  Model dense = parseModel(text.c_str());
  Model sparse = parseModel(text.c_str());
  PruneOptions o = unstructured(0.9);
  runPrune(dense, o);
  o.sparseStorage = true;
  PassResult r = runPrune(sparse, o);
  // 26 of 256 float32 weights left: 26 * 12 bytes < 1024. The dense bias stays.
  EXPECT_EQ(statistic(r, "sparse initializers"), 1);
  EXPECT_EQ(statistic(r, "dense bytes"), 1024);
  EXPECT_EQ(statistic(r, "sparse bytes"), 26 * 12);
  const Value* w = sparse.graph().findValue("W");
  ASSERT_NE(w, nullptr);
  ASSERT_NE(w->sparseInitializer(), nullptr);
  EXPECT_EQ(w->initializer(), nullptr);
  EXPECT_EQ(w->sparseInitializer()->dims, (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(w->sparseInitializer()->indices.dims(), (std::vector<int64_t>{26}));
  EXPECT_EQ(w->sparseInitializer()->indices.dtype(), DataType::Int64);
  EXPECT_NE(sparse.graph().findValue("C")->initializer(), nullptr);
  EXPECT_EQ(sparse.irVersion, 6);  // raised: sparse_initializer needs IR 6
  onnx::ModelProto proto = toProto(sparse);
  EXPECT_EQ(proto.graph().sparse_initializer_size(), 1);
  EXPECT_EQ(proto.graph().initializer_size(), 1);
  expectSameOutputs(dense, sparse, 0, 0);
}

TEST(UnstructuredPruning, SparseStorageSkipsWhatWouldGrow) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,16] X) => (float[2,16] Y)
<float[16,16] W = $w$>
{
  Y = MatMul(X, W)
}
)", {{"$w$", seededLiteral(256, 22)}}).c_str());
  PruneOptions o = unstructured(0.5);  // float32 needs more than 2/3 zeros
  o.sparseStorage = true;
  PassResult r = runPrune(m, o);
  EXPECT_EQ(statistic(r, "sparse initializers"), 0);
  EXPECT_TRUE(m.graph().sparseInitializers().empty());
  EXPECT_EQ(m.irVersion, 8);
}

TEST(UnstructuredPruning, BadNmPatternsAreUsageErrors) {
  for (const char* bad : {"4:2", "2-4", "0:4", "2:", ":4", "a:b"}) {
    auto parsed = parseOptions<PruneOptions>("prune", {{"granularity", "n:m"}, {"n-m", bad}});
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.status().code(), ErrorCode::Usage);
    EXPECT_NE(parsed.status().message().find("n-m"), std::string::npos) << parsed.status().message();
  }
  auto reversed = parseOptions<PruneOptions>("prune", {{"n-m", "4:2"}});
  ASSERT_FALSE(reversed);
  EXPECT_NE(reversed.status().message().find("N must not exceed M"), std::string::npos);
}
