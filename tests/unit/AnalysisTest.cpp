// Shape inference, MAC counts and fidelity figures on tiny models with known answers.
#include "PassTestUtil.h"
#include "onnxpress/analysis/Fidelity.h"
#include "onnxpress/analysis/Macs.h"
#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
const char* kConvGemm = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3,8,8] X) => (float[2,5] Y)
<float[4,3,3,3] W, float[5,64] G>
{
  C = Conv<pads = [1, 1, 1, 1], strides = [2, 2]>(X, W)
  s = Shape(C)
  F = Flatten(C)
  Y = Gemm<transB = 1>(F, G)
}
)";

Value* find(Model& m, const std::string& name) { return m.graph().findValue(name); }
}  // namespace

TEST(ShapeInference, FillsIntermediateShapesWithoutLosingDeclaredOnes) {
  Model m = parseModel(kConvGemm);
  EXPECT_FALSE(staticShape(find(m, "C")));
  auto r = inferShapes(m);
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(staticShape(find(m, "C")), (std::vector<int64_t>{2, 4, 4, 4}));
  EXPECT_EQ(staticShape(find(m, "F")), (std::vector<int64_t>{2, 64}));
  EXPECT_EQ(staticShape(find(m, "s")), (std::vector<int64_t>{4}));
  EXPECT_GE(r->valuesTyped, 3);
}

TEST(ShapeInference, KeepsSymbolicDims) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[batch,4] X) => (float[batch,4] Y)
{
  R = Relu(X)
  Y = Neg(R)
}
)");
  ASSERT_TRUE(inferShapes(m));
  const Type& t = find(m, "R")->type();
  ASSERT_TRUE(t.hasShape);
  ASSERT_EQ(t.dims.size(), 2u);
  EXPECT_EQ(t.dims[0].param, "batch");
  EXPECT_EQ(t.dims[1].value, 4);
}

TEST(Macs, ConvAndGemmFollowTheFormulas) {
  Model m = parseModel(kConvGemm);
  ASSERT_TRUE(inferShapes(m));
  MacTotals totals = countMacs(m.graph());
  // Conv: N*Cout*Ho*Wo * Cin*kh*kw = 2*4*4*4 * 3*3*3; Gemm: M*N*K = 2*5*64.
  EXPECT_EQ(totals.macs, 2 * 4 * 4 * 4 * 27 + 2 * 5 * 64);
  EXPECT_EQ(totals.unknownNodes, 0);
}

TEST(Fidelity, IdenticalAndPerturbedOutputs) {
  auto a = runtime::TensorData::fromVector<float>(DataType::Float, {4}, {1, 2, 3, 4});
  auto b = runtime::TensorData::fromVector<float>(DataType::Float, {4}, {1, 2, 3, 5});
  FidelityAccumulator same;
  ASSERT_TRUE(same.add(a, a).isOk());
  EXPECT_EQ(same.result().maxAbs, 0);
  EXPECT_EQ(same.result().snrDb, 999);
  FidelityAccumulator off;
  ASSERT_TRUE(off.add(a, b).isOk());
  Fidelity f = off.result();
  EXPECT_DOUBLE_EQ(f.maxAbs, 1);
  EXPECT_DOUBLE_EQ(f.meanAbs, 0.25);
  EXPECT_NEAR(f.snrDb, 10 * std::log10(30.0), 1e-9);  // sum a^2 = 30, sum err^2 = 1
  EXPECT_NEAR(f.cosine, 34 / (std::sqrt(30.0) * std::sqrt(39.0)), 1e-12);
  auto c = runtime::TensorData::fromVector<float>(DataType::Float, {3}, {1, 2, 3});
  EXPECT_FALSE(off.add(a, c).isOk());
}
