// quantize{mode=fp16|bf16}. Converted models run in the built-in runtime through the
// half-precision fallback; outputs are compared with the float32 model by the largest
// error relative to max(1, largest |output|) (relative for outputs of magnitude >= 1, so a
// near-zero output such as a LayerNormalization mean does not blow the ratio up): 1e-2
// for float16 (11-bit mantissa, a few roundings per output), 2e-2 for bfloat16 (8-bit
// mantissa). Every converted model must also pass onnx's checker and strict type inference.
#include <Eigen/Core>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>

#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/quantization/FloatConversion.h"

using namespace onnxpress;
using namespace onnxpress::test;
using runtime::TensorData;

namespace {

QuantizeOptions floatOptions(const std::string& mode) {
  QuantizeOptions options;
  options.mode = mode;
  return options;
}

QuantizationResult convert(Model& m, const QuantizeOptions& options) {
  auto result = quant::convertFloat(m, options);
  EXPECT_TRUE(result) << result.status().message();
  Status verified = m.graph().verify();
  EXPECT_TRUE(verified.isOk()) << verified.message();
  return result ? *result : QuantizationResult{};
}

/// onnx's checker plus strict type inference: every node's types fit its schema.
void expectTypeChecks(const Model& m) {
  onnx::ModelProto proto = toProto(m);
  try {
    onnx::checker::check_model(proto);
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*error_mode=*/1, /*data_prop=*/false);
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "converted model does not type-check: " << e.what();
  }
}

/// `x` converted to float16, bfloat16 or float32 (round to nearest even).
TensorData withDtype(const TensorData& x, DataType to) {
  if (x.dtype() == to) return x;
  TensorData out = TensorData::allocate(to, x.shape());
  for (int64_t i = 0; i < x.numElements(); ++i) {
    const float v = static_cast<float>(x.doubleAt(i));
    if (to == DataType::Float16) out.data<Eigen::half>()[i] = Eigen::half(v);
    else if (to == DataType::BFloat16) out.data<Eigen::bfloat16>()[i] = Eigen::bfloat16(v);
    else out.data<float>()[i] = v;
  }
  return out;
}

/// max |actual - expected| / max(1, max |expected|).
double relativeError(const TensorData& actual, const TensorData& expected) {
  EXPECT_EQ(actual.shape(), expected.shape());
  double err = 0, scale = 0;
  for (int64_t i = 0; i < expected.numElements() && i < actual.numElements(); ++i) {
    err = std::max(err, std::abs(actual.doubleAt(i) - expected.doubleAt(i)));
    scale = std::max(scale, std::abs(expected.doubleAt(i)));
  }
  return err / std::max(scale, 1.0);
}

/// Runs `before` on `inputs` and `after` on the same inputs converted to its input types;
/// expects every output within `tolerance` (relativeError) and of dtype `outputType`.
void expectCloseOutputs(const Model& before, const Model& after, const std::map<std::string, TensorData>& inputs,
                        double tolerance, DataType outputType) {
  std::map<std::string, TensorData> converted;
  for (const auto& [name, value] : inputs) {
    const Value* in = after.graph().findValue(name);
    ASSERT_NE(in, nullptr) << name;
    converted.emplace(name, withDtype(value, in->type().elemType));
  }
  auto expected = runModel(before, inputs);
  auto actual = runModel(after, converted);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].dtype(), outputType) << "output " << i;
    EXPECT_LE(relativeError(actual[i], expected[i]), tolerance) << "output " << i;
  }
}

Node* onlyNode(const Graph& g, const std::string& opType) {
  Node* found = nullptr;
  for (Node* n : g.nodes())
    if (n->opType() == opType) {
      EXPECT_EQ(found, nullptr) << "several " << opType << " nodes";
      found = n;
    }
  EXPECT_NE(found, nullptr) << "no " << opType << " node";
  return found;
}

bool isCastTo(const Node* n, DataType to) {
  return n && n->opType() == "Cast" && n->intAttr("to", 0) == static_cast<int64_t>(to);
}

// Conv + Relu + Flatten + Gemm, every weight an initializer.
std::string convGemmModel() {
  return substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,5,5] X) => (float[1,4] Y)
<float[3,2,3,3] W = $w$, float[3] B = $b$, float[4,27] G = $g$, float[4] C = $c$>
{
  T = Conv (X, W, B)
  R = Relu (T)
  F = Flatten (R)
  Y = Gemm <transB = 1> (F, G, C)
}
)", {{"$w$", seededLiteral(54, 1)}, {"$b$", seededLiteral(3, 2)}, {"$g$", seededLiteral(108, 3)},
     {"$c$", seededLiteral(4, 4)}});
}

}  // namespace

TEST(FloatConversion, Fp16ConvertsEveryWeightAndStaysClose) {
  Model m = parseModel(convGemmModel().c_str());
  Model before = m.clone();
  QuantizationResult r = convert(m, floatOptions("fp16"));
  for (const Value* v : m.graph().initializers()) EXPECT_EQ(v->initializer()->dtype(), DataType::Float16) << v->name();
  EXPECT_EQ(m.graph().inputs()[0]->type().elemType, DataType::Float16);
  EXPECT_EQ(m.graph().outputs()[0]->type().elemType, DataType::Float16);
  EXPECT_EQ(m.graph().outputs()[0]->name(), "Y");
  EXPECT_EQ(countOps(m, "Cast"), 0);
  EXPECT_EQ(statistic(r, "tensors converted"), 4);
  EXPECT_EQ(statistic(r, "nodes in 16-bit"), 4);
  ASSERT_EQ(r.quantized.size(), 4u);
  for (const QuantizedTensorInfo& q : r.quantized) {
    EXPECT_EQ(q.role, "weight");
    EXPECT_EQ(q.dtype, "float16");
    ASSERT_TRUE(q.sqnrDb.has_value());
    EXPECT_GT(*q.sqnrDb, 60.0);  // 11-bit mantissa: ~70 dB
  }
  EXPECT_EQ(r.quantized[0].tensor, "W");
  EXPECT_EQ(r.quantized[0].count, 54);
  expectTypeChecks(m);
  expectCloseOutputs(before, m, randomInputs(before), 1e-2, DataType::Float16);
}

TEST(FloatConversion, KeepIoTypesCastsAtTheBoundaryAndKeepsNames) {
  Model m = parseModel(convGemmModel().c_str());
  Model before = m.clone();
  QuantizeOptions options = floatOptions("fp16");
  options.keepIoTypes = true;
  QuantizationResult r = convert(m, options);
  const Value* x = m.graph().inputs()[0];
  const Value* y = m.graph().outputs()[0];
  EXPECT_EQ(x->name(), "X");
  EXPECT_EQ(y->name(), "Y");
  EXPECT_EQ(x->type().elemType, DataType::Float);
  EXPECT_EQ(y->type().elemType, DataType::Float);
  EXPECT_EQ(countOps(m, "Cast"), 2);
  EXPECT_EQ(statistic(r, "Casts inserted"), 2);
  ASSERT_EQ(x->uses().size(), 1u);
  EXPECT_TRUE(isCastTo(x->uses()[0].node, DataType::Float16));
  ASSERT_TRUE(isCastTo(y->producer(), DataType::Float));
  Node* gemm = onlyNode(m.graph(), "Gemm");
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(y->producer()->input(0), gemm->output(0));
  EXPECT_EQ(gemm->output(0)->type().elemType, DataType::Float16);
  for (const Value* v : m.graph().initializers()) EXPECT_EQ(v->initializer()->dtype(), DataType::Float16) << v->name();
  expectTypeChecks(m);
  expectCloseOutputs(before, m, randomInputs(before), 1e-2, DataType::Float);
}

TEST(FloatConversion, ClampsOutOfRangeWeightsAndCountsUnderflow) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
<float[3] S = {1000000.0, -1000000.0, 0.5}, float[3] Z = {1e-30, 0.0, 2.0}>
{
  T = Mul (X, S)
  Y = Add (T, Z)
}
)");
  QuantizationResult r = convert(m, floatOptions("fp16"));
  EXPECT_EQ(statistic(r, "values clamped to fp16 range"), 2);
  EXPECT_EQ(statistic(r, "values flushed to zero"), 1);
  EXPECT_EQ(statistic(r, "non-finite values kept"), 0);
  const Value* s = m.graph().findValue("S");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->initializer()->dtype(), DataType::Float16);
  auto values = floatValues(*s->initializer());
  ASSERT_TRUE(values);
  EXPECT_EQ(*values, (std::vector<float>{65504.f, -65504.f, 0.5f}));
  auto z = floatValues(*m.graph().findValue("Z")->initializer());
  ASSERT_TRUE(z);
  EXPECT_EQ(*z, (std::vector<float>{0.f, 0.f, 2.f}));
  expectTypeChecks(m);
}

TEST(FloatConversion, ExcludedGemmStaysFloat32BetweenCasts) {
  Model m = parseModel(convGemmModel().c_str());
  Model before = m.clone();
  QuantizeOptions options = floatOptions("fp16");
  options.excludeOpTypes = {"Gemm"};
  QuantizationResult r = convert(m, options);
  Node* gemm = onlyNode(m.graph(), "Gemm");
  ASSERT_NE(gemm, nullptr);
  EXPECT_TRUE(isCastTo(gemm->input(0)->producer(), DataType::Float));
  // Its weights are read by the Gemm alone: they stay float32, with no Cast.
  ASSERT_NE(gemm->input(1)->initializer(), nullptr);
  EXPECT_EQ(gemm->input(1)->initializer()->dtype(), DataType::Float);
  EXPECT_EQ(gemm->input(2)->initializer()->dtype(), DataType::Float);
  EXPECT_EQ(gemm->output(0)->type().elemType, DataType::Float);
  const Value* y = m.graph().outputs()[0];
  EXPECT_EQ(y->name(), "Y");
  ASSERT_TRUE(isCastTo(y->producer(), DataType::Float16));
  EXPECT_EQ(y->producer()->input(0), gemm->output(0));
  EXPECT_EQ(y->type().elemType, DataType::Float16);
  EXPECT_EQ(m.graph().findValue("W")->initializer()->dtype(), DataType::Float16);
  EXPECT_EQ(countOps(m, "Cast"), 2);
  EXPECT_EQ(statistic(r, "nodes kept in float32"), 1);
  EXPECT_EQ(statistic(r, "tensors converted"), 2);
  expectTypeChecks(m);
  expectCloseOutputs(before, m, randomInputs(before), 1e-2, DataType::Float16);
}

TEST(FloatConversion, Bf16MatMulRunsAndStaysClose) {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[3,8] X) => (float[3,4] Y)
<float[8,4] W = $w$, float[4] B = $b$>
{
  T = MatMul (X, W)
  Y = Add (T, B)
}
)", {{"$w$", seededLiteral(32, 5)}, {"$b$", seededLiteral(4, 6)}}).c_str());
  Model before = m.clone();
  QuantizationResult r = convert(m, floatOptions("bf16"));
  EXPECT_EQ(m.graph().findValue("W")->initializer()->dtype(), DataType::BFloat16);
  EXPECT_EQ(m.graph().findValue("B")->initializer()->dtype(), DataType::BFloat16);
  EXPECT_EQ(m.graph().inputs()[0]->type().elemType, DataType::BFloat16);
  EXPECT_EQ(statistic(r, "values clamped to bf16 range"), 0);
  ASSERT_EQ(r.quantized.size(), 2u);
  EXPECT_EQ(r.quantized[0].dtype, "bfloat16");
  expectTypeChecks(m);
  expectCloseOutputs(before, m, randomInputs(before), 2e-2, DataType::BFloat16);
}

TEST(FloatConversion, Bf16BeforeOpset13IsAUsageError) {
  Model m = parseModel(R"(
<ir_version: 7, opset_import: ["" : 12]>
g (float[2] X) => (float[2] Y)
{
  Y = Relu (X)
}
)");
  auto result = quant::convertFloat(m, floatOptions("bf16"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), ErrorCode::Usage);
}

TEST(FloatConversion, ConstantNodeAndIfSubgraphWeightsAreConverted) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X, bool c) => (float[2,3] Y)
{
  W = Constant <value = float[3] {0.5, -1.5, 2.0}> ()
  T = Mul (X, W)
  Y = If (c) <
    then_branch = then_g () => (float[2,3] A) <float[3] K = {1.0, 2.0, 3.0}> { A = Add (T, K) },
    else_branch = else_g () => (float[2,3] A2) { A2 = Sub (T, W) }
  >
}
)");
  Model before = m.clone();
  QuantizationResult r = convert(m, floatOptions("fp16"));
  Node* constant = onlyNode(m.graph(), "Constant");
  ASSERT_NE(constant, nullptr);
  const Attribute* value = constant->attribute("value");
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(value->tensors[0].dtype(), DataType::Float16);
  Node* branch = onlyNode(m.graph(), "If");
  ASSERT_NE(branch, nullptr);
  const Graph& thenGraph = *branch->attribute("then_branch")->graphs[0];
  ASSERT_EQ(thenGraph.initializers().size(), 1u);
  EXPECT_EQ(thenGraph.initializers()[0]->initializer()->dtype(), DataType::Float16);
  EXPECT_EQ(thenGraph.outputs()[0]->type().elemType, DataType::Float16);
  EXPECT_EQ(branch->attribute("else_branch")->graphs[0]->outputs()[0]->type().elemType, DataType::Float16);
  EXPECT_EQ(m.graph().outputs()[0]->type().elemType, DataType::Float16);
  EXPECT_EQ(countOps(m, "Cast"), 0);
  EXPECT_EQ(statistic(r, "tensors converted"), 2);
  std::vector<std::string> recorded;
  for (const QuantizedTensorInfo& q : r.quantized) recorded.push_back(q.tensor);
  EXPECT_EQ(recorded, (std::vector<std::string>{"W", "K"}));
  expectTypeChecks(m);
  for (bool condition : {true, false}) {
    auto inputs = randomInputs(before);
    inputs["c"].data<bool>()[0] = condition;
    expectCloseOutputs(before, m, inputs, 1e-2, DataType::Float16);
  }
}

TEST(FloatConversion, LayerNormalizationMeanStaysFloat32AndResizeScalesStayFloat32) {
  // LayerNormalization-17: Scale and B follow X (T), Mean follows stash_type (U = float32).
  // Resize is blocked by default; unblocked via op-types its scales input is still float32.
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[1,2,4] X) => (float[1,2,4] Y, float[1,2,1] M, float[1,2,8] Z)
<float[4] S = $s$, float[4] B = $b$, float[3] scales = {1.0, 1.0, 2.0}, float[0] roi = {}>
{
  Y, M = LayerNormalization <axis = -1> (X, S, B)
  Z = Resize <mode = "nearest"> (Y, roi, scales)
}
)", {{"$s$", seededLiteral(4, 7, 0.5, 1.5)}, {"$b$", seededLiteral(4, 8)}}).c_str());
  Model before = m.clone();
  QuantizeOptions options = floatOptions("fp16");
  options.opTypes = {"LayerNormalization", "Resize"};
  QuantizationResult r = convert(m, options);
  Node* norm = onlyNode(m.graph(), "LayerNormalization");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->input(1)->initializer()->dtype(), DataType::Float16);
  EXPECT_EQ(norm->input(2)->initializer()->dtype(), DataType::Float16);
  EXPECT_EQ(norm->output(1)->type().elemType, DataType::Float);
  const Value* mean = m.graph().outputs()[1];
  EXPECT_EQ(mean->name(), "M");
  EXPECT_TRUE(isCastTo(mean->producer(), DataType::Float16));
  Node* resize = onlyNode(m.graph(), "Resize");
  ASSERT_NE(resize, nullptr);
  EXPECT_EQ(resize->input(2)->initializer()->dtype(), DataType::Float);
  EXPECT_EQ(resize->output(0)->type().elemType, DataType::Float16);
  EXPECT_EQ(countOps(m, "Cast"), 1);
  expectTypeChecks(m);
  expectCloseOutputs(before, m, randomInputs(before), 1e-2, DataType::Float16);
}

TEST(FloatConversion, DefaultBlocklistKeepsTopKInFloat32) {
  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,6] X) => (float[2,3] V, int64[2,3] I)
<int64[1] k = {3}>
{
  R = Relu (X)
  V, I = TopK (R, k)
}
)");
  Model before = m.clone();
  QuantizationResult r = convert(m, floatOptions("fp16"));
  Node* topk = onlyNode(m.graph(), "TopK");
  ASSERT_NE(topk, nullptr);
  EXPECT_TRUE(isCastTo(topk->input(0)->producer(), DataType::Float));
  EXPECT_EQ(topk->output(0)->type().elemType, DataType::Float);
  EXPECT_EQ(m.graph().outputs()[0]->type().elemType, DataType::Float16);
  EXPECT_EQ(m.graph().outputs()[1]->type().elemType, DataType::Int64);
  EXPECT_EQ(statistic(r, "nodes kept in float32"), 1);
  expectTypeChecks(m);
  auto inputs = randomInputs(before);
  auto expected = runModel(before, inputs);
  auto actual = runModel(m, {{"X", withDtype(inputs.at("X"), DataType::Float16)}});
  ASSERT_EQ(actual.size(), 2u);
  EXPECT_LE(relativeError(actual[0], expected[0]), 1e-2);
}
