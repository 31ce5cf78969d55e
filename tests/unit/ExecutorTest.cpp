// Executor: prepare-time errors, input checks, the release plan, the observer,
// and the Conv->activation fusion (tolerance: exact; fusion clamps the same floats).
#include "TestUtil.h"
#include "onnxpress/runtime/Executor.h"

using namespace onnxpress;
using namespace onnxpress::runtime;
using namespace onnxpress::test;

namespace {
const char* kConvClip = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 1, 3, 3] X) => (float[1, 2, 3, 3] Y)
<float[2, 1, 1, 1] W = {2.0, -3.0}, float lo = {0.0}, float hi = {6.0}>
{
  C = Conv<kernel_shape = [1, 1]>(X, W)
  Y = Clip(C, lo, hi)
}
)";

TensorData input3x3() {
  return TensorData::fromVector<float>(DataType::Float, {1, 1, 3, 3}, {-2, -1, 0, 1, 2, 3, 4, 5, 6});
}
}  // namespace

TEST(Executor, FusedActivationMatchesTheUnfusedGraphAndObserversSeeRawValues) {
  Model m = parseModel(kConvClip);
  auto exec = Executor::create(m, {.threads = 1});
  ASSERT_TRUE(exec) << exec.status().message();
  auto fused = (*exec)->run({{"X", input3x3()}});
  ASSERT_TRUE(fused) << fused.status().message();
  std::vector<float> seenConv;
  auto observed = (*exec)->run({{"X", input3x3()}}, [&](const Node& n, size_t, const TensorData& t) {
    if (n.opType() == "Conv") seenConv.assign(t.span<float>().begin(), t.span<float>().end());
  });
  ASSERT_TRUE(observed);
  const auto a = (*fused)[0].span<float>(), b = (*observed)[0].span<float>();
  ASSERT_EQ(a.size(), 18u);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin()));
  // Channel 0 is 2x clamped to [0, 6]; channel 1 is -3x clamped.
  EXPECT_EQ(a[0], 0.f);
  EXPECT_EQ(a[4], 4.f);
  EXPECT_EQ(a[8], 6.f);
  EXPECT_EQ(a[9], 6.f);
  EXPECT_EQ(a[17], 0.f);
  // The observer saw the Conv output before clamping.
  ASSERT_EQ(seenConv.size(), 18u);
  EXPECT_EQ(seenConv[0], -4.f);
  EXPECT_EQ(seenConv[8], 12.f);
}

TEST(Executor, KeepIntermediatesAndReleaseAtLastUse) {
  Model m = parseModel(kConvClip);
  auto keep = Executor::create(m, {.threads = 1, .keepIntermediates = true});
  ASSERT_TRUE(keep);
  ASSERT_TRUE((*keep)->run({{"X", input3x3()}}));
  EXPECT_EQ((*keep)->intermediates().count("C"), 1u);
  EXPECT_EQ((*keep)->intermediates().at("C").span<float>()[0], -4.f);  // unclamped: no fusion when keeping
  auto plain = Executor::create(m, {.threads = 1});
  ASSERT_TRUE((*plain)->run({{"X", input3x3()}}));
  EXPECT_TRUE((*plain)->intermediates().empty());
}

TEST(Executor, ReportsUnsupportedOpsAndBadInputsBeforeRunning) {
  Model custom = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13, "com.example" : 1]>
g (float[2] X) => (float[2] Y) { T = Relu(X) Y = com.example.Mystery(T) }
)");
  auto exec = Executor::create(custom);
  ASSERT_FALSE(exec);
  EXPECT_EQ(exec.status().code(), ErrorCode::InvalidInput);
  EXPECT_NE(exec.status().message().find("Mystery (domain 'com.example')"), std::string::npos) << exec.status().message();

  Model m = parseModel(kConvClip);
  auto ok = Executor::create(m);
  ASSERT_TRUE(ok);
  auto missing = (*ok)->run({});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("the model expects: X float32[1,1,3,3]"), std::string::npos);
  auto wrongType = (*ok)->run({{"X", TensorData::zeros(DataType::Double, {1, 1, 3, 3})}});
  EXPECT_NE(wrongType.status().message().find("expects float32 but got float64"), std::string::npos);
  auto wrongShape = (*ok)->run({{"X", TensorData::zeros(DataType::Float, {1, 1, 3, 4})}});
  EXPECT_NE(wrongShape.status().message().find("expects shape"), std::string::npos);
}

TEST(Executor, SubgraphsReadOuterValues) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[2] X) => (float[2] Y)
<float[2] W = {10.0, 20.0}>
{
  A = Add(X, W)
  Y = If(c) <
    then_branch = t () => (float[2] o) { k = Constant<value = float[2] {2.0, 3.0}>() o = Mul(A, k) },
    else_branch = e () => (float[2] o) { o = Neg(A) }
  >
}
)");
  auto exec = Executor::create(m, {.threads = 1});
  ASSERT_TRUE(exec) << exec.status().message();
  auto x = TensorData::fromVector<float>(DataType::Float, {2}, {1, 2});
  auto yes = (*exec)->run({{"c", TensorData::fromVector<uint8_t>(DataType::Bool, {}, {1})}, {"X", x}});
  auto no = (*exec)->run({{"c", TensorData::fromVector<uint8_t>(DataType::Bool, {}, {0})}, {"X", x}});
  ASSERT_TRUE(yes && no);
  EXPECT_EQ((*yes)[0].span<float>()[1], 66.f);
  EXPECT_EQ((*no)[0].span<float>()[0], -11.f);
}
