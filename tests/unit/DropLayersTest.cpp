// drop-layers. Tolerance: rtol 1e-6, atol 1e-6. Dropping a block must give exactly
// the model written by hand without that block (same weights, same op order), so
// the outputs agree to float rounding.
#include "BranchTestUtil.h"
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/passes/substitution/DropLayers.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
PassResult runDrop(Model& m, DropLayersOptions options) {
  DropLayersPass pass(options);
  return runPassOn(pass, m);
}
DropLayersOptions dropIndices(std::vector<int64_t> indices) {
  DropLayersOptions o;
  o.indices = std::move(indices);
  return o;
}
DropLayersOptions dropEvery(int64_t every, int64_t offset = 0) {
  DropLayersOptions o;
  o.every = every;
  o.offset = offset;
  return o;
}

using Substitutions = std::vector<std::pair<std::string, std::string>>;

Substitutions resnetWeights() {
  Substitutions s;
  for (int i = 1; i <= 7; ++i) s.emplace_back(fmt::format("$w{}$", i), seededLiteral(i == 5 ? 16 : 144, i));
  s.emplace_back("$b7$", seededLiteral(4, 8));
  return s;
}

// An identity block, a block with a downsampling skip (Conv on both sides: not a
// block), another identity block.
const char* kResNet = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,6,6] X) => (float[1,4,3,3] Y)
<float[4,4,3,3] W1 = $w1$, float[4,4,3,3] W2 = $w2$, float[4,4,3,3] W3 = $w3$, float[4,4,3,3] W4 = $w4$,
 float[4,4,1,1] W5 = $w5$, float[4,4,3,3] W6 = $w6$, float[4,4,3,3] W7 = $w7$, float[4] B7 = $b7$>
{
  A1 = Conv <pads = [1, 1, 1, 1]> (X, W1)
  A2 = Relu(A1)
  A3 = Conv <pads = [1, 1, 1, 1]> (A2, W2)
  S1 = Add(A3, X)
  R1 = Relu(S1)
  D1 = Conv <pads = [1, 1, 1, 1], strides = [2, 2]> (R1, W3)
  D2 = Relu(D1)
  D3 = Conv <pads = [1, 1, 1, 1]> (D2, W4)
  D4 = Conv <strides = [2, 2]> (R1, W5)
  S2 = Add(D3, D4)
  R2 = Relu(S2)
  E1 = Conv <pads = [1, 1, 1, 1]> (R2, W6)
  E2 = Relu(E1)
  E3 = Conv <pads = [1, 1, 1, 1]> (E2, W7, B7)
  S3 = Add(R2, E3)
  Y = Relu(S3)
}
)";

Substitutions transformerWeights() {
  return {{"$g1$", seededLiteral(8, 11, 0.5, 1.5)}, {"$b1$", seededLiteral(8, 12)},
          {"$g2$", seededLiteral(8, 13, 0.5, 1.5)}, {"$b2$", seededLiteral(8, 14)},
          {"$wq$", seededLiteral(64, 15)},          {"$wk$", seededLiteral(64, 16)},
          {"$wv$", seededLiteral(64, 17)},          {"$wo$", seededLiteral(64, 18)},
          {"$f1$", seededLiteral(128, 19)},         {"$f2$", seededLiteral(128, 20)}};
}

const char* kTransformerWeights = R"(<float[8] G1 = $g1$, float[8] Bt1 = $b1$, float[8] G2 = $g2$, float[8] Bt2 = $b2$,
 float[8,8] Wq = $wq$, float[8,8] Wk = $wk$, float[8,8] Wv = $wv$, float[8,8] Wo = $wo$, float scale = {0.35},
 float[8,16] F1 = $f1$, float[16,8] F2 = $f2$>)";

// x + Attention(LN(x), mask), then h + MLP(LN(h)).
const char* kPreLn = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,4,8] X, float[1,4,4] M) => (float[1,4,8] Y)
$weights$
{
  L1 = LayerNormalization <axis = -1> (X, G1, Bt1)
  Q = MatMul(L1, Wq)
  K = MatMul(L1, Wk)
  V = MatMul(L1, Wv)
  Kt = Transpose <perm = [0, 2, 1]> (K)
  S = MatMul(Q, Kt)
  Ss = Mul(S, scale)
  Sm = Add(Ss, M)
  P = Softmax <axis = -1> (Sm)
  O = MatMul(P, V)
  A = MatMul(O, Wo)
  H = Add(X, A)
  L2 = LayerNormalization <axis = -1> (H, G2, Bt2)
  U = MatMul(L2, F1)
  Ur = Relu(U)
  F = MatMul(Ur, F2)
  Y = Add(H, F)
}
)";

// LN(x + Attention(x, mask)), then LN(h + MLP(h)).
const char* kPostLn = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,4,8] X, float[1,4,4] M) => (float[1,4,8] Y)
$weights$
{
  Q = MatMul(X, Wq)
  K = MatMul(X, Wk)
  V = MatMul(X, Wv)
  Kt = Transpose <perm = [0, 2, 1]> (K)
  S = MatMul(Q, Kt)
  Ss = Mul(S, scale)
  Sm = Add(Ss, M)
  P = Softmax <axis = -1> (Sm)
  O = MatMul(P, V)
  A = MatMul(O, Wo)
  H0 = Add(A, X)
  H = LayerNormalization <axis = -1> (H0, G1, Bt1)
  U = MatMul(H, F1)
  Ur = Relu(U)
  F = MatMul(Ur, F2)
  Y0 = Add(H, F)
  Y = LayerNormalization <axis = -1> (Y0, G2, Bt2)
}
)";

Model transformer(const char* text) {
  Substitutions s = transformerWeights();
  s.insert(s.begin(), {"$weights$", kTransformerWeights});
  return parseModel(substitute(text, s).c_str());
}
}  // namespace

TEST(DropLayers, DropsAResNetIdentityBlockButNotADownsamplingOne) {
  Model m = parseModel(substitute(kResNet, resnetWeights()).c_str());
  PassResult r = runDrop(m, dropIndices({1}));
  EXPECT_EQ(statistic(r, "blocks found"), 2);
  EXPECT_EQ(statistic(r, "blocks dropped"), 1);
  EXPECT_EQ(statistic(r, "nodes removed"), 4);  // Conv, Relu, Conv, Add
  EXPECT_EQ(statistic(r, "parameters before"), 144 + 144 + 4);
  EXPECT_EQ(statistic(r, "parameters after"), 0);
  EXPECT_EQ(statistic(r, "MACs before"), 2 * (4 * 9 * 4 * 9));
  EXPECT_EQ(countOps(m, "Conv"), 5);
  EXPECT_EQ(m.graph().findValue("W6"), nullptr);
  EXPECT_EQ(m.graph().outputs()[0]->name(), "Y");

  Model expected = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,6,6] X) => (float[1,4,3,3] Y)
<float[4,4,3,3] W1 = $w1$, float[4,4,3,3] W2 = $w2$, float[4,4,3,3] W3 = $w3$, float[4,4,3,3] W4 = $w4$,
 float[4,4,1,1] W5 = $w5$>
{
  A1 = Conv <pads = [1, 1, 1, 1]> (X, W1)
  A2 = Relu(A1)
  A3 = Conv <pads = [1, 1, 1, 1]> (A2, W2)
  S1 = Add(A3, X)
  R1 = Relu(S1)
  D1 = Conv <pads = [1, 1, 1, 1], strides = [2, 2]> (R1, W3)
  D2 = Relu(D1)
  D3 = Conv <pads = [1, 1, 1, 1]> (D2, W4)
  D4 = Conv <strides = [2, 2]> (R1, W5)
  S2 = Add(D3, D4)
  R2 = Relu(S2)
  Y = Relu(R2)
}
)", resnetWeights()).c_str());
  expectSameOutputs(expected, m, 1e-6, 1e-6);
}

TEST(DropLayers, EveryDropsAllSelectedBlocks) {
  Model m = parseModel(substitute(kResNet, resnetWeights()).c_str());
  PassResult r = runDrop(m, dropEvery(1));
  EXPECT_EQ(statistic(r, "blocks dropped"), 2);
  EXPECT_EQ(countOps(m, "Add"), 1);  // the downsampling block's
  Model expected = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,6,6] X) => (float[1,4,3,3] Y)
<float[4,4,3,3] W3 = $w3$, float[4,4,3,3] W4 = $w4$, float[4,4,1,1] W5 = $w5$>
{
  R1 = Relu(X)
  D1 = Conv <pads = [1, 1, 1, 1], strides = [2, 2]> (R1, W3)
  D2 = Relu(D1)
  D3 = Conv <pads = [1, 1, 1, 1]> (D2, W4)
  D4 = Conv <strides = [2, 2]> (R1, W5)
  S2 = Add(D3, D4)
  R2 = Relu(S2)
  Y = Relu(R2)
}
)", resnetWeights()).c_str());
  expectSameOutputs(expected, m, 1e-6, 1e-6);

  Model offset = parseModel(substitute(kResNet, resnetWeights()).c_str());
  PassResult second = runDrop(offset, dropEvery(2, 1));
  EXPECT_EQ(statistic(second, "blocks dropped"), 1);
  EXPECT_EQ(offset.graph().findValue("W6"), nullptr);  // block 1 went, block 0 stayed
  EXPECT_NE(offset.graph().findValue("W1"), nullptr);
}

TEST(DropLayers, DropsAPreLnAttentionSublayerWithAMaskSideInput) {
  Model m = transformer(kPreLn);
  PassResult r = runDrop(m, dropIndices({0}));
  EXPECT_EQ(statistic(r, "blocks found"), 2);
  EXPECT_EQ(statistic(r, "blocks dropped"), 1);
  EXPECT_EQ(countOps(m, "Softmax"), 0);
  EXPECT_EQ(countOps(m, "LayerNormalization"), 1);
  ASSERT_EQ(m.graph().inputs().size(), 2u);  // the mask stays an input, now unread

  Substitutions s = transformerWeights();
  s.insert(s.begin(), {"$weights$", kTransformerWeights});
  Model expected = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,4,8] X, float[1,4,4] M) => (float[1,4,8] Y)
$weights$
{
  L2 = LayerNormalization <axis = -1> (X, G2, Bt2)
  U = MatMul(L2, F1)
  Ur = Relu(U)
  F = MatMul(Ur, F2)
  Y = Add(X, F)
}
)", s).c_str());
  expectSameOutputs(expected, m, 1e-6, 1e-6);
}

TEST(DropLayers, DroppingEveryPreLnBlockLeavesIdentityOfTheInput) {
  Model m = transformer(kPreLn);
  PassResult r = runDrop(m, dropEvery(1));
  EXPECT_EQ(statistic(r, "blocks dropped"), 2);
  EXPECT_EQ(countOps(m, "Identity"), 1);  // the input cannot itself become the output Y
  EXPECT_EQ(m.graph().outputs()[0]->name(), "Y");
  Model expected = parseModel(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,4,8] X, float[1,4,4] M) => (float[1,4,8] Y)
{
  Y = Identity(X)
}
)");
  expectSameOutputs(expected, m, 0, 0);
}

TEST(DropLayers, DropsAPostLnFeedForwardSublayer) {
  Model m = transformer(kPostLn);
  PassResult r = runDrop(m, dropIndices({1}));
  EXPECT_EQ(statistic(r, "blocks found"), 2);
  EXPECT_EQ(statistic(r, "blocks dropped"), 1);
  EXPECT_EQ(statistic(r, "nodes removed"), 4);  // MatMul, Relu, MatMul, Add
  Substitutions s = transformerWeights();
  s.insert(s.begin(), {"$weights$", kTransformerWeights});
  Model expected = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,4,8] X, float[1,4,4] M) => (float[1,4,8] Y)
$weights$
{
  Q = MatMul(X, Wq)
  K = MatMul(X, Wk)
  V = MatMul(X, Wv)
  Kt = Transpose <perm = [0, 2, 1]> (K)
  S = MatMul(Q, Kt)
  Ss = Mul(S, scale)
  Sm = Add(Ss, M)
  P = Softmax <axis = -1> (Sm)
  O = MatMul(P, V)
  A = MatMul(O, Wo)
  H0 = Add(A, X)
  H = LayerNormalization <axis = -1> (H0, G1, Bt1)
  Y = LayerNormalization <axis = -1> (H, G2, Bt2)
}
)", s).c_str());
  expectSameOutputs(expected, m, 1e-6, 1e-6);
}

TEST(DropLayers, ShapeOnlyBroadcastAndTwoBranchAddsAreNotBlocks) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y1, float[2,3] Y2, float[2,3] Y3)
{
  Sh = Shape(X)
  P = ConstantOfShape <value = float[1] {0.5}> (Sh)
  Y1 = Add(X, P)
  Mn = ReduceMean <axes = [1], keepdims = 1> (X)
  Y2 = Add(X, Mn)
  Rx = Relu(X)
  Nx = Neg(X)
  Y3 = Add(Rx, Nx)
}
)");
  PassResult r = runDrop(m, dropEvery(1));
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(statistic(r, "blocks found"), 0);

  DropLayersPass pass(dropIndices({0}));
  PassContext ctx;
  auto failed = pass.run(m, ctx);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.status().code(), ErrorCode::Usage);
  EXPECT_NE(failed.status().message().find("found 0"), std::string::npos) << failed.status().message();
}

TEST(DropLayers, IndexPastTheLastBlockNamesTheCount) {
  Model m = parseModel(substitute(kResNet, resnetWeights()).c_str());
  DropLayersPass pass(dropIndices({0, 5}));
  PassContext ctx;
  auto failed = pass.run(m, ctx);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.status().code(), ErrorCode::Usage);
  EXPECT_NE(failed.status().message().find("index 5"), std::string::npos) << failed.status().message();
  EXPECT_NE(failed.status().message().find("found 2"), std::string::npos) << failed.status().message();
  EXPECT_EQ(countOps(m, "Add"), 3);  // nothing dropped
}

TEST(DropLayers, NumbersBlocksInIfBranchesAfterTheMainGraph) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[2,3] X) => (float[2,3] Y)
{
  T = Tanh(X)
  Z = Add(X, T)
  Y = If(c) <
    then_branch = t () => (float[2,3] o) { r = Relu(Z) s = Sigmoid(r) o = Add(r, s) },
    else_branch = e () => (float[2,3] o) { o = Neg(Z) }
  >
}
)");
  PassResult r = runDrop(m, dropIndices({1}));
  EXPECT_EQ(statistic(r, "blocks found"), 2);
  EXPECT_EQ(statistic(r, "blocks dropped"), 1);
  EXPECT_EQ(countOps(m, "Sigmoid"), 0);
  EXPECT_EQ(countOps(m, "Tanh"), 1);
  Model expected = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[2,3] X) => (float[2,3] Y)
{
  T = Tanh(X)
  Z = Add(X, T)
  Y = If(c) <
    then_branch = t () => (float[2,3] o) { o = Relu(Z) },
    else_branch = e () => (float[2,3] o) { o = Neg(Z) }
  >
}
)");
  expectSameOutputsOnBothBranches(expected, m, 1e-6, 1e-6);
}

TEST(DropLayers, BadOptionsAreUsageErrors) {
  for (const RawOptions& raw : std::vector<RawOptions>{{},
                                                       {{"every", "2"}, {"indices", "1"}},
                                                       {{"every", "-1"}},
                                                       {{"indices", "0,-2"}},
                                                       {{"indices", "1"}, {"offset", "1"}},
                                                       {{"every", "2"}, {"offset", "-1"}}}) {
    auto created = DropLayersPass::create(raw);
    ASSERT_FALSE(created);
    EXPECT_EQ(created.status().code(), ErrorCode::Usage);
  }
  EXPECT_TRUE(DropLayersPass::create({{"indices", "0,3"}}));
  EXPECT_TRUE(DropLayersPass::create({{"every", "3"}, {"offset", "1"}}));
}
