// prune granularity=head (pruneHeads). Tolerance: rtol 1e-5, atol 1e-5. Removing a
// head drops exactly its term of the output projection, so the pruned model must
// equal the original with that head's Wq/Wk/Wv columns and Wo rows zeroed (the
// "zeroed reference"), up to float rounding of the shorter sums.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/io/ModelIO.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/pruning/HeadPruning.h"
#include "onnxpress/passes/pruning/Prune.h"
#include "onnxpress/passes/pruning/PruneTargets.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

constexpr int kHidden = 8, kWidth = 2;  // 4 heads of width 2

// Seeded weights in which heads 1 and 3 are weak (x0.05), so l1 and l2 remove them.
std::string weights(int rows, int cols, uint32_t seed, bool headsAreRows) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::string out = "{";
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      float w = u(rng);
      if (((headsAreRows ? r : c) / kWidth) % 2 == 1) w *= 0.05f;
      out += fmt::format("{}{:.6f}", r + c ? ", " : "", w);
    }
  return out + "}";
}

std::vector<std::pair<std::string, std::string>> blockWeights() {
  return {{"$wq$", weights(kHidden, kHidden, 1, false)}, {"$wk$", weights(kHidden, kHidden, 2, false)},
          {"$wv$", weights(kHidden, kHidden, 3, false)}, {"$wo$", weights(kHidden, kHidden, 4, true)},
          {"$bq$", seededLiteral(kHidden, 5)},           {"$bk$", seededLiteral(kHidden, 6)},
          {"$bv$", seededLiteral(kHidden, 7)},           {"$bo$", seededLiteral(kHidden, 8)}};
}

// One attention block as torch exports it with static shapes; $mask$ is the mask type.
const char* kBlockBody = R"(
  qm = MatMul(x, Wq)
  q = Add(qm, bq)
  q4 = Reshape(q, split)
  qt = Transpose <perm = [0, 2, 1, 3]> (q4)
  km = MatMul(x, Wk)
  k = Add(bk, km)
  k4 = Reshape(k, split)
  kt = Transpose <perm = [0, 2, 3, 1]> (k4)
  vm = MatMul(x, Wv)
  v = Add(vm, bv)
  v4 = Reshape(v, split)
  vt = Transpose <perm = [0, 2, 1, 3]> (v4)
  scores = MatMul(qt, kt)
  scale = Constant <value_float = 1.4142135> ()
  scaled = Div(scores, scale)
  masked = Add(scaled, mask)
  probs = Softmax <axis = -1> (masked)
  context = MatMul(probs, vt)
  ct = Transpose <perm = [0, 2, 1, 3]> (context)
  merged = Reshape(ct, merge)
  om = MatMul(merged, Wo)
)";

const char* kInitializers = R"(<float[8,8] Wq = $wq$, float[8] bq = $bq$, float[8,8] Wk = $wk$, float[8] bk = $bk$,
 float[8,8] Wv = $wv$, float[8] bv = $bv$, float[8,8] Wo = $wo$, float[8] bo = $bo$,
 int64[4] split = {2, 3, 4, 2}, int64[3] merge = {2, 3, 8}>)";

Model staticBlock(const std::string& maskType = "float[2,1,1,3]") {
  std::string text = "<ir_version: 8, opset_import: [\"\" : 14]>\nattention (float[2,3,8] x, " + maskType +
                     " mask) => (float[2,3,8] y)\n" + kInitializers + "\n{" + kBlockBody + "  y = Add(om, bo)\n}\n";
  return parseModel(substitute(text, blockWeights()).c_str());
}

// The same block in an If's then-branch, reading the outer weights.
Model blockInSubgraph() {
  std::string text = "<ir_version: 8, opset_import: [\"\" : 14]>\n"
                     "attention (bool c, float[2,3,8] x, float[2,1,1,3] mask) => (float[2,3,8] y)\n" +
                     std::string(kInitializers) +
                     "\n{\n  y = If(c) <\n    then_branch = t () => (float[2,3,8] o) {" + kBlockBody +
                     "  o = Add(om, bo) },\n    else_branch = e () => (float[2,3,8] o) { o = Identity(x) }\n  >\n}\n";
  return parseModel(substitute(text, blockWeights()).c_str());
}

// Torch-style dynamic shapes: Constant-node weights, head splits built by Concat from
// Shape/Gather/Unsqueeze and Slice(Shape), V split [0, 0, -1, d], K transposed twice,
// Q and K scaled before their MatMul, the mask added first, and a merge via Concat.
Model dynamicBlock() {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 14]>
attention (float[batch,seq,8] x, float[batch,1,1,seq] mask) => (float[batch,seq,8] y)
{
  Wq = Constant <value = float[8,8] $wq$> ()
  Wk = Constant <value = float[8,8] $wk$> ()
  Wv = Constant <value = float[8,8] $wv$> ()
  Wo = Constant <value = float[8,8] $wo$> ()
  bq = Constant <value = float[8] $bq$> ()
  bk = Constant <value = float[8] $bk$> ()
  bv = Constant <value = float[8] $bv$> ()
  bo = Constant <value = float[8] $bo$> ()
  heads = Constant <value = int64[1] {4}> ()
  width = Constant <value = int64[1] {2}> ()
  hidden = Constant <value = int64[1] {8}> ()
  zero = Constant <value_int = 0> ()
  one = Constant <value_int = 1> ()
  axes0 = Constant <value = int64[1] {0}> ()
  starts = Constant <value = int64[1] {0}> ()
  ends = Constant <value = int64[1] {2}> ()
  vshape = Constant <value = int64[4] {0, 0, -1, 2}> ()
  root = Constant <value_float = 0.8408964> ()
  qm = MatMul(x, Wq)
  q = Add(qm, bq)
  qs = Shape(q)
  qb = Gather(qs, zero)
  ql = Gather(qs, one)
  qb1 = Unsqueeze(qb, axes0)
  ql1 = Unsqueeze(ql, axes0)
  qshape = Concat <axis = 0> (qb1, ql1, heads, width)
  q4 = Reshape(q, qshape)
  qt = Transpose <perm = [0, 2, 1, 3]> (q4)
  qscaled = Mul(qt, root)
  km = MatMul(x, Wk)
  k = Add(km, bk)
  ks = Shape(k)
  klead = Slice(ks, starts, ends, axes0)
  kshape = Concat <axis = 0> (klead, heads, width)
  k4 = Reshape(k, kshape)
  kt0 = Transpose <perm = [0, 2, 1, 3]> (k4)
  kt = Transpose <perm = [0, 1, 3, 2]> (kt0)
  kscaled = Mul(root, kt)
  vm = MatMul(x, Wv)
  v = Add(bv, vm)
  v4 = Reshape(v, vshape)
  vt = Transpose <perm = [0, 2, 1, 3]> (v4)
  scores = MatMul(qscaled, kscaled)
  masked = Add(mask, scores)
  probs = Softmax <axis = -1> (masked)
  context = MatMul(probs, vt)
  ct = Transpose <perm = [0, 2, 1, 3]> (context)
  cs = Shape(ct)
  clead = Slice(cs, starts, ends, axes0)
  mshape = Concat <axis = 0> (clead, hidden)
  merged = Reshape(ct, mshape)
  om = MatMul(merged, Wo)
  y = Add(om, bo)
}
)";
  return parseModel(substitute(text, blockWeights()).c_str());
}

PruneOptions headOptions(double sparsity) {
  PruneOptions o;
  o.granularity = "head";
  o.sparsity = sparsity;
  return o;
}

PassResult prune(Model& m, const PruneOptions& options) {
  auto result = pruneHeads(m, options);
  EXPECT_TRUE(result) << result.status().message();
  Status verified = m.graph().verify();
  EXPECT_TRUE(verified.isOk()) << verified.message();
  return result ? *result : PassResult{};
}

std::vector<float> floatsOf(const Value* v) {
  std::optional<Tensor> t = constantValue(v);
  EXPECT_TRUE(t.has_value());
  return t ? floatValues(*t).value_or(std::vector<float>{}) : std::vector<float>{};
}

// The `count` heads with the smallest l1 norm over Wq/Wk/Wv columns and Wo rows
// (ties to the lower index), computed here independently of the pass.
std::vector<int64_t> weakestHeads(const AttentionBlock& b, size_t count) {
  std::vector<double> l1(static_cast<size_t>(b.heads), 0.0);
  auto add = [&](const Node* n, bool byRow, int64_t width) {
    const std::vector<float> w = floatsOf(n->input(1));
    const int64_t cols = *staticShape(n->input(1)).value().rbegin();
    for (size_t i = 0; i < w.size(); ++i) {
      const int64_t index = byRow ? static_cast<int64_t>(i) / cols : static_cast<int64_t>(i) % cols;
      l1[static_cast<size_t>(index / width)] += std::abs(w[i]);
    }
  };
  add(b.query, false, b.keyDim);
  add(b.key, false, b.keyDim);
  add(b.value, false, b.valueDim);
  add(b.output, true, b.valueDim);
  std::vector<int64_t> order(l1.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t c) { return l1[size_t(a)] < l1[size_t(c)]; });
  std::vector<int64_t> weakest(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count));
  std::sort(weakest.begin(), weakest.end());
  return weakest;
}

std::span<float> mutableFloats(Value* v) {
  if (Tensor* t = v->initializer()) return t->mutableData<float>();
  return v->producer()->attribute("value")->tensors[0].mutableData<float>();
}

// Zeroes the Wq/Wk/Wv columns and Wo rows of `heads` (the zeroed reference).
void zeroHeads(const AttentionBlock& b, const std::vector<int64_t>& heads) {
  auto zeroColumns = [&](const Node* n, int64_t width) {
    std::span<float> w = mutableFloats(n->input(1));
    const int64_t cols = *staticShape(n->input(1)).value().rbegin();
    for (size_t i = 0; i < w.size(); ++i)
      if (std::count(heads.begin(), heads.end(), (static_cast<int64_t>(i) % cols) / width)) w[i] = 0;
  };
  zeroColumns(b.query, b.keyDim);
  zeroColumns(b.key, b.keyDim);
  zeroColumns(b.value, b.valueDim);
  std::span<float> wo = mutableFloats(b.output->input(1));
  const int64_t cols = *staticShape(b.output->input(1)).value().rbegin();
  for (size_t i = 0; i < wo.size(); ++i)
    if (std::count(heads.begin(), heads.end(), (static_cast<int64_t>(i) / cols) / b.valueDim)) wo[i] = 0;
}

// A clone of `m` with the `count` weakest heads of every block zeroed.
Model zeroedReference(const Model& m, size_t count) {
  Model reference = m.clone();
  for (const AttentionBlock& b : findAttentionBlocks(reference)) zeroHeads(b, weakestHeads(b, count));
  return reference;
}

std::vector<int64_t> weightDims(const Model& m, const std::string& matmulOutput) {
  return staticShape(producerOf(m, matmulOutput)->input(1)).value_or(std::vector<int64_t>{});
}

std::vector<int64_t> shapeOf(const Model& m, const std::string& reshapeOutput) {
  return constantInts(producerOf(m, reshapeOutput)->input(1)).value_or(std::vector<int64_t>{});
}

std::map<std::string, runtime::TensorData> blockInputs(int64_t batch, int64_t seq, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> x(static_cast<size_t>(batch * seq * kHidden)), mask(static_cast<size_t>(batch * seq));
  for (float& f : x) f = u(rng);
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = i % 3 == 2 ? -10000.f : 0.f;
  return {{"x", runtime::TensorData::fromVector(DataType::Float, {batch, seq, kHidden}, x)},
          {"mask", runtime::TensorData::fromVector(DataType::Float, {batch, 1, 1, seq}, mask)}};
}

void expectSame(const Model& expected, const Model& actual, const std::map<std::string, runtime::TensorData>& inputs) {
  auto a = runModel(expected, inputs);
  auto b = runModel(actual, inputs);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].shape(), b[i].shape()) << "output " << i;
    auto cmp = runtime::allClose(b[i], a[i], 1e-5, 1e-5);
    EXPECT_TRUE(cmp.match) << "output " << i << ": " << cmp.reason;
  }
}

}  // namespace

TEST(HeadPruning, RemovesTheWeakestHeadsAndMatchesTheZeroedReference) {
  Model m = staticBlock();
  std::vector<AttentionBlock> blocks = findAttentionBlocks(m);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].heads, 4);
  EXPECT_EQ(blocks[0].keyDim, 2);
  EXPECT_EQ(blocks[0].valueDim, 2);
  EXPECT_EQ(weakestHeads(blocks[0], 2), (std::vector<int64_t>{1, 3}));
  Model reference = zeroedReference(m, 2);

  PassResult r = prune(m, headOptions(0.5));
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(statistic(r, "heads removed"), 2);
  EXPECT_EQ(statistic(r, "attention blocks pruned"), 1);
  EXPECT_EQ(statistic(r, "attention blocks skipped"), 0);
  EXPECT_EQ(statistic(r, "parameters before"), 4 * 64 + 3 * 8);  // Wq, Wk, Wv, Wo, bq, bk, bv
  EXPECT_EQ(statistic(r, "parameters after"), 4 * 32 + 3 * 4);
  for (const char* projection : {"qm", "km", "vm"}) EXPECT_EQ(weightDims(m, projection), (std::vector<int64_t>{8, 4}));
  EXPECT_EQ(weightDims(m, "om"), (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(producerOf(m, "qm")->input(1)->name(), "Wq");  // the weight keeps its name
  for (const char* split : {"q4", "k4", "v4"}) EXPECT_EQ(shapeOf(m, split), (std::vector<int64_t>{2, 3, 2, 2}));
  EXPECT_EQ(shapeOf(m, "merged"), (std::vector<int64_t>{2, 3, 4}));
  const Type& q4 = m.graph().findValue("q4")->type();
  ASSERT_TRUE(q4.hasShape);
  EXPECT_EQ(q4.dims[2], Dim::fixed(2));  // stale inferred dims were updated
  auto reinferred = inferShapes(m);
  ASSERT_TRUE(reinferred);
  EXPECT_EQ(reinferred->firstError, "");
  expectSameOutputs(reference, m, 1e-5, 1e-5);
}

TEST(HeadPruning, ConstantNodeWeightsAndShapesBuiltFromShape) {
  Model m = dynamicBlock();
  std::vector<AttentionBlock> blocks = findAttentionBlocks(m);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].heads, 4);
  Model reference = zeroedReference(m, 2);
  PassResult r = prune(m, headOptions(0.5));
  EXPECT_EQ(statistic(r, "heads removed"), 2);
  EXPECT_EQ(statistic(r, "attention blocks pruned"), 1);
  EXPECT_EQ(weightDims(m, "qm"), (std::vector<int64_t>{8, 4}));
  EXPECT_EQ(weightDims(m, "om"), (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(countOps(m, "Concat"), 3);
  EXPECT_EQ(shapeOf(m, "v4"), (std::vector<int64_t>{0, 0, -1, 2}));  // -1 adapts by itself
  const Node* qshape = producerOf(m, "q4")->input(1)->producer();
  ASSERT_TRUE(qshape && qshape->opType() == "Concat");
  EXPECT_EQ(constantInts(qshape->input(2)), (std::vector<int64_t>{2}));
  const Node* mshape = producerOf(m, "merged")->input(1)->producer();
  ASSERT_TRUE(mshape && mshape->opType() == "Concat");
  EXPECT_EQ(constantInts(mshape->input(1)), (std::vector<int64_t>{4}));
  for (int64_t seq : {3, 5}) expectSame(reference, m, blockInputs(2, seq, static_cast<uint32_t>(seq)));
}

TEST(HeadPruning, BlockInsideASubgraph) {
  Model m = blockInSubgraph();
  Model reference = zeroedReference(m, 2);
  PassResult r = prune(m, headOptions(0.5));
  EXPECT_EQ(statistic(r, "heads removed"), 2);
  EXPECT_EQ(statistic(r, "attention blocks pruned"), 1);
  expectSameOutputsOnBothBranches(reference, m, 1e-5, 1e-5);
}

TEST(HeadPruning, CriteriaL2AndRandom) {
  Model m = staticBlock();
  Model reference = zeroedReference(m, 2);
  PruneOptions l2 = headOptions(0.5);
  l2.criterion = "l2";
  EXPECT_EQ(statistic(prune(m, l2), "heads removed"), 2);
  expectSameOutputs(reference, m, 1e-5, 1e-5);  // the weak heads go under l2 too

  Model r1 = staticBlock(), r2 = staticBlock();
  PruneOptions random = headOptions(0.5);
  random.criterion = "random";
  random.seed = 3;
  EXPECT_EQ(statistic(prune(r1, random), "heads removed"), 2);
  EXPECT_EQ(statistic(prune(r2, random), "heads removed"), 2);
  EXPECT_EQ(weightDims(r1, "om"), (std::vector<int64_t>{4, 8}));
  EXPECT_TRUE(floatsOf(producerOf(r1, "om")->input(1)) == floatsOf(producerOf(r2, "om")->input(1)));  // seeded
  expectSameOutputs(r1, r2, 0, 0);
}

TEST(HeadPruning, PerLayerSparsityAndExcludedBlocks) {
  Model m = staticBlock();
  Model reference = zeroedReference(m, 1);
  PruneOptions o = headOptions(0);
  o.perLayer = {"Wo=0.25"};  // a weight of the block names it
  PassResult r = prune(m, o);
  EXPECT_EQ(statistic(r, "heads removed"), 1);
  EXPECT_EQ(weightDims(m, "qm"), (std::vector<int64_t>{8, 6}));
  expectSameOutputs(reference, m, 1e-5, 1e-5);

  Model excluded = staticBlock();
  for (Node* n : excluded.graph().nodes())
    if (n->output()->name() == "qm") n->setName("/layers.0/attn/q/MatMul");
  PruneOptions e = headOptions(0.5);
  e.excludeNodes = "attn/q";
  PassResult none = prune(excluded, e);
  EXPECT_FALSE(none.changed);
  EXPECT_EQ(statistic(none, "heads removed"), 0);
  EXPECT_EQ(statistic(none, "attention blocks skipped"), 0);  // matched, left alone on purpose
  EXPECT_EQ(weightDims(excluded, "qm"), (std::vector<int64_t>{8, 8}));
}

TEST(HeadPruning, PerHeadMaskIsSkipped) {
  Model m = staticBlock("float[2,4,3,3]");  // a [B, H, S, S] bias: heads are not independent of H
  PassResult r = prune(m, headOptions(0.5));
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(statistic(r, "attention blocks skipped"), 1);
  EXPECT_EQ(statistic(r, "heads removed"), 0);
  EXPECT_EQ(weightDims(m, "qm"), (std::vector<int64_t>{8, 8}));
  EXPECT_TRUE(findAttentionBlocks(m).empty());
}

TEST(HeadPruning, HeadDimensionReadThroughShapeIsSkipped) {
  // Gather(Shape(q), 2) lets H*d escape: the block must be left alone.
  std::string text = "<ir_version: 8, opset_import: [\"\" : 14]>\n"
                     "attention (float[2,3,8] x, float[2,1,1,3] mask) => (float[2,3,8] y, int64 width)\n" +
                     std::string(kInitializers) + "\n{" + kBlockBody +
                     "  y = Add(om, bo)\n  qs = Shape(q)\n  two = Constant <value_int = 2> ()\n"
                     "  width = Gather(qs, two)\n}\n";
  Model m = parseModel(substitute(text, blockWeights()).c_str());
  PassResult r = prune(m, headOptions(0.5));
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(statistic(r, "attention blocks skipped"), 1);
}

TEST(HeadPruning, BadOptionsAreUsageErrors) {
  Model m = staticBlock();
  auto all = pruneHeads(m, headOptions(0.9));  // round(0.9 * 4) = 4 heads: none would be left
  ASSERT_FALSE(all);
  EXPECT_EQ(all.status().code(), ErrorCode::Usage);
  EXPECT_NE(all.status().message().find("all 4 heads"), std::string::npos) << all.status().message();
  EXPECT_EQ(weightDims(m, "qm"), (std::vector<int64_t>{8, 8}));  // untouched

  PruneOptions badEntry = headOptions(0.5);
  badEntry.perLayer = {"Wq=half"};
  auto entry = pruneHeads(m, badEntry);
  ASSERT_FALSE(entry);
  EXPECT_EQ(entry.status().code(), ErrorCode::Usage);

  PruneOptions unknownLayer = headOptions(0.5);
  unknownLayer.perLayer = {"bo=0.5"};  // a weight of the block, but not of a projection MatMul
  auto unknown = pruneHeads(m, unknownLayer);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.status().code(), ErrorCode::Usage);
  EXPECT_NE(unknown.status().message().find("'bo'"), std::string::npos) << unknown.status().message();

  PruneOptions badRegex = headOptions(0.5);
  badRegex.excludeNodes = "(";
  auto regex = pruneHeads(m, badRegex);
  ASSERT_FALSE(regex);
  EXPECT_EQ(regex.status().code(), ErrorCode::Usage);
}

TEST(HeadPruning, ThroughThePrunePass) {
  Model m = staticBlock();
  Model reference = zeroedReference(m, 2);
  PrunePass pass(headOptions(0.5));
  PassResult r = runPassOn(pass, m);
  EXPECT_EQ(statistic(r, "heads removed"), 2);
  expectSameOutputs(reference, m, 1e-5, 1e-5);
}

TEST(HeadPruning, BertTinyFromDisk) {
  auto loaded = loadModel(std::string(ONNXPRESS_SOURCE_DIR) + "/models/parity/bert_tiny.onnx");
  ASSERT_TRUE(loaded) << loaded.status().message();
  Model m = std::move(*loaded);
  std::vector<AttentionBlock> blocks = findAttentionBlocks(m);
  ASSERT_EQ(blocks.size(), 2u);
  for (const AttentionBlock& b : blocks) {
    EXPECT_EQ(b.heads, 4);
    EXPECT_EQ(b.keyDim, 16);
    EXPECT_EQ(b.valueDim, 16);
  }
  Model reference = zeroedReference(m, 2);
  PassResult r = prune(m, headOptions(0.5));
  EXPECT_EQ(statistic(r, "heads removed"), 4);
  EXPECT_EQ(statistic(r, "attention blocks pruned"), 2);
  EXPECT_EQ(statistic(r, "attention blocks skipped"), 0);
  for (const AttentionBlock& b : findAttentionBlocks(m)) EXPECT_EQ(b.heads, 2);

  std::mt19937 rng(11);
  std::vector<int64_t> ids(16), mask(16, 1), types(16, 0);
  for (int64_t& id : ids) id = static_cast<int64_t>(rng() % 1000);
  for (size_t i = 13; i < 16; ++i) mask[i] = 0;
  for (size_t i = 8; i < 16; ++i) types[i] = 1;
  std::map<std::string, runtime::TensorData> inputs = {
      {"input_ids", runtime::TensorData::fromVector(DataType::Int64, {1, 16}, ids)},
      {"attention_mask", runtime::TensorData::fromVector(DataType::Int64, {1, 16}, mask)},
      {"token_type_ids", runtime::TensorData::fromVector(DataType::Int64, {1, 16}, types)}};
  auto before = runModel(reference, inputs);
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0].shape(), (runtime::Shape{1, 16, 64}));
  EXPECT_EQ(before[1].shape(), (runtime::Shape{1, 64}));
  expectSame(reference, m, inputs);
}
