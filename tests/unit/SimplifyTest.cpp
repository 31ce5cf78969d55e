// simplify. Tolerance: 1e-5 relative, the loosest of its members (fuse-bn).
#include "PassTestUtil.h"
#include "onnxpress/driver/Simplify.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
// A Shape-derived Reshape target, an Identity, a foldable Add of constants,
// a Conv+BatchNormalization and a dead branch.
const char* kMessy = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,32] Y)
<float[2,2,1,1] W = {1.0, 0.5, -0.25, 2.0}, float[2] gamma = {1.5, 0.5}, float[2] beta = {0.1, -0.2},
 float[2] mean = {0.3, -0.1}, float[2] var = {2.0, 0.5}, float[1] a = {1.0}, float[1] b = {2.0}>
{
  I = Identity(X)
  C = Conv(I, W)
  B = BatchNormalization(C, gamma, beta, mean, var)
  s = Shape(B)
  zero = Constant<value = int64[1] {0}>()
  n = Gather<axis = 0>(s, zero)
  minus1 = Constant<value = int64[1] {-1}>()
  target = Concat<axis = 0>(n, minus1)
  R = Reshape(B, target)
  ab = Add(a, b)
  Y = Mul(R, ab)
  dead = Neg(X)
}
)";
}  // namespace

TEST(Simplify, ReachesAFixedPointAndKeepsOutputs) {
  Model before = parseModel(kMessy);
  Model after = parseModel(kMessy);
  SimplifyPass pass;
  PassResult r = runPassOn(pass, after);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(countOps(after, "Identity"), 0);
  EXPECT_EQ(countOps(after, "BatchNormalization"), 0);
  EXPECT_EQ(countOps(after, "Shape"), 0);
  EXPECT_EQ(countOps(after, "Neg"), 0);
  EXPECT_EQ(countOps(after, "Add"), 0);  // constant Add folded
  EXPECT_EQ(after.graph().numNodes(), 3u) << "Conv, Reshape, Mul remain";
  EXPECT_GE(statistic(r, "rounds"), 2);
  expectSameOutputs(before, after, 1e-5, 1e-6);

  SimplifyPass again;
  PassResult second = runPassOn(again, after);
  EXPECT_FALSE(second.changed) << "a fixed point stays fixed";
}

TEST(Simplify, RejectsUnknownOrRecursiveMembers) {
  auto unknown = SimplifyPass::create({{"passes", "fold-constants,no-such-pass"}});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.status().message().find("no-such-pass"), std::string::npos);
  EXPECT_FALSE(SimplifyPass::create({{"passes", "simplify"}}));
  EXPECT_FALSE(SimplifyPass::create({{"max-rounds", "0"}}));
}
