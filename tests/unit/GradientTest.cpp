// Every op's backward function against central finite differences.
//
// Each case is a one- or two-node graph whose float operands are initializers with
// seeded random values. The loss is L = Σ y·r for a fixed random r, so dL/dy = r;
// Backprop's dL/dw for every operand w is compared with (L(w+ε) − L(w−ε)) / 2ε,
// element by element (ε = 1e-2; operand values are spaced more than 2ε apart).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <numeric>
#include <random>

#include "TestUtil.h"
#include "onnxpress/io/ModelIO.h"
#include "onnxpress/runtime/Executor.h"
#include "onnxpress/train/Backprop.h"

namespace onnxpress::train {
namespace {

using runtime::Executor;
using runtime::ExecutorOptions;

struct Operand {
  std::string name;
  std::vector<int64_t> shape;
  float lo = -1, hi = 1;  // range of its values
};

struct OpCase {
  std::string label;
  int opset;
  std::vector<Operand> operands;  // float initializers, differentiated
  std::string constants;          // extra initializers in text syntax (shapes, axes), may be empty
  std::string body;               // nodes; the output is y
};

// Evenly spaced values in [lo, hi], shuffled: no two within 2ε of each other, so that
// a perturbation never changes which element a max or a kink selects.
std::string initializerText(const Operand& op, std::mt19937& rng) {
  int64_t n = 1;
  for (int64_t d : op.shape) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = n == 1 ? op.lo : op.lo + (op.hi - op.lo) * static_cast<float>(i) / static_cast<float>(n - 1);
  std::shuffle(v.begin(), v.end(), rng);
  std::string values;
  for (int64_t i = 0; i < n; ++i) values += fmt::format("{}{:.6f}", i ? ", " : "", v[static_cast<size_t>(i)]);
  return fmt::format("float[{}] {} = {{{}}}", fmt::join(op.shape, ","), op.name, values);
}

double lossOf(Model& model, const std::vector<float>& r) {
  auto ex = Executor::create(model, ExecutorOptions{.threads = 1});
  EXPECT_TRUE(ex) << ex.status().message();
  auto out = (*ex)->run({});
  EXPECT_TRUE(out) << out.status().message();
  const auto y = (*out)[0].span<float>();
  EXPECT_EQ(y.size(), r.size());
  double loss = 0;
  for (size_t i = 0; i < y.size(); ++i) loss += static_cast<double>(y[i]) * r[i];
  return loss;
}

void checkGradients(const OpCase& c) {
  SCOPED_TRACE(c.label);
  std::mt19937 rng(7);
  std::string inits;
  for (const Operand& op : c.operands) inits += (inits.empty() ? "" : ", ") + initializerText(op, rng);
  if (!c.constants.empty()) inits += ", " + c.constants;
  const std::string text = fmt::format("<ir_version: 8, opset_import: [\"\" : {}]>\ng () => (float y) <{}> {{ {} }}",
                                       c.opset, inits, c.body);
  Model model = test::parseModel(text.c_str());
  Graph& graph = model.graph();

  // Forward once, keeping every value, with a random dL/dy.
  auto ex = Executor::create(model, ExecutorOptions{.threads = 1, .keepIntermediates = true});
  ASSERT_TRUE(ex) << ex.status().message();
  auto out = (*ex)->run({});
  ASSERT_TRUE(out) << out.status().message();
  std::normal_distribution<float> normal;
  std::vector<float> r(static_cast<size_t>((*out)[0].numElements()));
  for (float& v : r) v = normal(rng);

  std::vector<const Value*> weights;
  for (const Operand& op : c.operands) weights.push_back(graph.findValue(op.name));
  auto backprop = Backprop::create(graph, model.opsetImports, weights, {graph.outputs()[0]});
  ASSERT_TRUE(backprop) << backprop.status().message();
  std::unordered_map<const Value*, runtime::TensorData> seeds;
  seeds[graph.outputs()[0]] = runtime::TensorData::fromVector(DataType::Float, (*out)[0].shape(), r);
  auto grads = backprop->run((*ex)->intermediates(), seeds, 1);
  ASSERT_TRUE(grads) << grads.status().message();

  const float eps = 1e-2f;
  for (const Value* w : weights) {
    SCOPED_TRACE(w->name());
    ASSERT_TRUE(grads->count(w)) << "no gradient";
    const auto analytic = grads->at(w).span<float>();
    std::span<float> values = const_cast<Value*>(w)->initializer()->mutableData<float>();
    ASSERT_EQ(analytic.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      const float saved = values[i];
      values[i] = saved + eps;
      const double up = lossOf(model, r);
      values[i] = saved - eps;
      const double down = lossOf(model, r);
      values[i] = saved;
      const double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(analytic[i], numeric, 3e-3 + 3e-2 * std::abs(numeric)) << "element " << i;
    }
  }
}

TEST(Gradient, ElementwiseActivations) {
  // Values away from the kinks (0 for Relu, ±2.5 for HardSigmoid, ±3 for HardSwish) so that finite differences hold.
  const std::vector<std::pair<std::string, std::string>> ops = {
      {"Relu", ""}, {"LeakyRelu", "<alpha: float = 0.1>"}, {"Elu", ""}, {"Sigmoid", ""}, {"Tanh", ""}, {"Exp", ""},
      {"Neg", ""}, {"Abs", ""}, {"Softplus", ""}, {"Erf", ""}, {"HardSigmoid", ""}, {"HardSwish", ""},
      {"Identity", ""}, {"Gelu", ""}, {"Gelu", "<approximate: string = \"tanh\">"}};
  for (const auto& [op, attrs] : ops) {
    OpCase c{op + attrs, 20, {{"x", {2, 5}, -2.3f, 2.3f}}, "", fmt::format("y = {}{}(x)", op, attrs)};
    checkGradients(c);
  }
  checkGradients({"Log", 17, {{"x", {2, 5}, 0.5f, 2.f}}, "", "y = Log(x)"});
  checkGradients({"Sqrt", 17, {{"x", {2, 5}, 0.5f, 2.f}}, "", "y = Sqrt(x)"});
  checkGradients({"Reciprocal", 17, {{"x", {2, 5}, 0.5f, 2.f}}, "", "y = Reciprocal(x)"});
  checkGradients({"Clip", 17, {{"x", {2, 5}, -2, 2}}, "float lo = {-0.5}, float hi = {0.7}", "y = Clip(x, lo, hi)"});
  checkGradients({"PRelu", 17, {{"x", {2, 3, 4}}, {"slope", {3, 1}}}, "", "y = PRelu(x, slope)"});
}

TEST(Gradient, BroadcastingArithmetic) {
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    OpCase c{op, 17, {{"a", {2, 3, 4}}, {"b", {3, 1}, 0.5f, 2.f}}, "", fmt::format("y = {}(a, b)", op)};
    checkGradients(c);
  }
  checkGradients({"Pow", 17, {{"a", {2, 3}, 0.5f, 2.f}, {"b", {3}, 0.5f, 2.f}}, "", "y = Pow(a, b)"});
  checkGradients({"Sum", 17, {{"a", {2, 3}}, {"b", {3}}, {"c", {1, 3}}}, "", "y = Sum(a, b, c)"});
  checkGradients({"Where", 17, {{"a", {2, 3}}, {"b", {3}}}, "bool[2,3] cond = {1, 0, 1, 0, 0, 1}", "y = Where(cond, a, b)"});
}

TEST(Gradient, MatMulAndGemm) {
  checkGradients({"MatMul", 17, {{"a", {3, 4}}, {"b", {4, 2}}}, "", "y = MatMul(a, b)"});
  checkGradients({"MatMul batched broadcast", 17, {{"a", {2, 3, 4}}, {"b", {4, 5}}}, "", "y = MatMul(a, b)"});
  checkGradients({"MatMul 1-D", 17, {{"a", {4}}, {"b", {2, 4, 3}}}, "", "y = MatMul(a, b)"});
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const std::vector<int64_t> aShape = ta ? std::vector<int64_t>{4, 3} : std::vector<int64_t>{3, 4};
      const std::vector<int64_t> bShape = tb ? std::vector<int64_t>{5, 4} : std::vector<int64_t>{4, 5};
      checkGradients({fmt::format("Gemm transA={} transB={}", ta, tb), 17, {{"a", aShape}, {"b", bShape}, {"c", {5}}}, "",
                      fmt::format("y = Gemm<alpha: float = 0.7, beta: float = 1.3, transA: int = {}, transB: int = {}>(a, b, c)", ta, tb)});
    }
}

TEST(Gradient, Conv) {
  checkGradients({"Conv 2-D pads", 17, {{"x", {2, 3, 5, 5}}, {"w", {4, 3, 3, 3}}, {"b", {4}}}, "",
                  "y = Conv<pads: ints = [1, 1, 1, 1]>(x, w, b)"});
  checkGradients({"Conv strides dilations", 17, {{"x", {1, 2, 7, 6}}, {"w", {3, 2, 2, 3}}}, "",
                  "y = Conv<strides: ints = [2, 1], dilations: ints = [2, 1], pads: ints = [0, 1, 1, 0]>(x, w)"});
  checkGradients({"Conv groups", 17, {{"x", {1, 4, 5, 5}}, {"w", {6, 2, 3, 3}}}, "", "y = Conv<group: int = 2>(x, w)"});
  checkGradients({"Conv depthwise", 17, {{"x", {2, 3, 4, 4}}, {"w", {3, 1, 3, 3}}}, "",
                  "y = Conv<group: int = 3, auto_pad: string = \"SAME_UPPER\">(x, w)"});
  checkGradients({"ConvTranspose strides pads output_padding", 17, {{"x", {2, 2, 3, 3}}, {"w", {2, 3, 3, 3}}, {"b", {3}}}, "",
                  "y = ConvTranspose<strides: ints = [2, 2], pads: ints = [1, 0, 0, 1], output_padding: ints = [1, 0]>(x, w, b)"});
  checkGradients({"ConvTranspose groups dilations", 17, {{"x", {1, 4, 3, 2}}, {"w", {4, 1, 2, 2}}}, "",
                  "y = ConvTranspose<group: int = 2, dilations: ints = [2, 1]>(x, w)"});
  checkGradients({"ConvTranspose 1-D", 17, {{"x", {1, 2, 4}}, {"w", {2, 2, 3}}}, "", "y = ConvTranspose<strides: ints = [2]>(x, w)"});
  checkGradients({"Conv 1-D", 17, {{"x", {2, 2, 9}}, {"w", {3, 2, 3}}, {"b", {3}}}, "", "y = Conv<strides: ints = [2]>(x, w, b)"});
}

TEST(Gradient, Pooling) {
  checkGradients({"MaxPool", 17, {{"x", {2, 2, 6, 6}}}, "", "y = MaxPool<kernel_shape: ints = [2, 2], strides: ints = [2, 2]>(x)"});
  checkGradients({"MaxPool overlapping pads", 17, {{"x", {1, 2, 5, 5}}}, "",
                  "y = MaxPool<kernel_shape: ints = [3, 3], pads: ints = [1, 1, 1, 1]>(x)"});
  checkGradients({"AveragePool", 17, {{"x", {1, 2, 5, 5}}}, "",
                  "y = AveragePool<kernel_shape: ints = [3, 3], pads: ints = [1, 1, 1, 1], strides: ints = [2, 2]>(x)"});
  checkGradients({"AveragePool count_include_pad", 17, {{"x", {1, 2, 5, 5}}}, "",
                  "y = AveragePool<kernel_shape: ints = [3, 3], pads: ints = [1, 1, 1, 1], count_include_pad: int = 1>(x)"});
  checkGradients({"GlobalAveragePool", 17, {{"x", {2, 3, 4, 5}}}, "", "y = GlobalAveragePool(x)"});
  checkGradients({"ReduceMean attr axes", 17, {{"x", {2, 3, 4}}}, "", "y = ReduceMean<axes: ints = [1], keepdims: int = 0>(x)"});
  checkGradients({"ReduceMean input axes", 18, {{"x", {2, 3, 4}}}, "int64[2] axes = {0, 2}", "y = ReduceMean(x, axes)"});
  checkGradients({"ReduceSum", 13, {{"x", {2, 3, 4}}}, "int64[1] axes = {-1}", "y = ReduceSum(x, axes)"});
}

TEST(Gradient, Normalization) {
  checkGradients({"BatchNormalization", 15, {{"x", {2, 3, 2, 2}}, {"s", {3}}, {"b", {3}}},
                  "float[3] mean = {0.1, -0.2, 0.3}, float[3] var = {0.5, 1.5, 2.0}",
                  "y = BatchNormalization<epsilon: float = 0.001>(x, s, b, mean, var)"});
  checkGradients({"LayerNormalization", 17, {{"x", {2, 3, 4}}, {"s", {4}}, {"b", {4}}}, "", "y = LayerNormalization(x, s, b)"});
  checkGradients({"InstanceNormalization", 17, {{"x", {2, 3, 2, 3}}, {"s", {3}}, {"b", {3}}}, "",
                  "y = InstanceNormalization(x, s, b)"});
  checkGradients({"Softmax", 17, {{"x", {2, 3, 4}}}, "", "y = Softmax<axis: int = 1>(x)"});
  checkGradients({"Softmax opset 11", 11, {{"x", {2, 3, 4}}}, "", "y = Softmax<axis: int = 1>(x)"});
  checkGradients({"LogSoftmax", 17, {{"x", {3, 5}}}, "", "y = LogSoftmax(x)"});
}

TEST(Gradient, DataMovement) {
  checkGradients({"Reshape", 17, {{"x", {2, 6}}}, "int64[3] shape = {3, 2, 2}", "y = Reshape(x, shape)"});
  checkGradients({"Flatten", 17, {{"x", {2, 3, 2}}}, "", "y = Flatten(x)"});
  checkGradients({"Squeeze Unsqueeze", 17, {{"x", {2, 1, 3}}}, "int64[1] a = {1}, int64[1] b = {0}",
                  "s = Squeeze(x, a)\n y = Unsqueeze(s, b)"});
  checkGradients({"Transpose", 17, {{"x", {2, 3, 4}}}, "", "y = Transpose<perm: ints = [1, 2, 0]>(x)"});
  checkGradients({"Concat", 17, {{"a", {2, 3}}, {"b", {2, 2}}}, "", "y = Concat<axis: int = 1>(a, b)"});
  checkGradients({"Split", 17, {{"x", {2, 5}}}, "int64[2] sizes = {2, 3}",
                  "p, q = Split<axis: int = 1>(x, sizes)\n y = Concat<axis: int = 1>(q, p)"});
  checkGradients({"Slice", 17, {{"x", {4, 6}}},
                  "int64[2] starts = {1, 5}, int64[2] ends = {3, 0}, int64[2] axes = {0, 1}, int64[2] steps = {1, -2}",
                  "y = Slice(x, starts, ends, axes, steps)"});
  checkGradients({"Gather embedding", 17, {{"table", {5, 3}}}, "int64[2,2] ids = {4, 0, 4, 2}", "y = Gather(table, ids)"});
  checkGradients({"Expand", 17, {{"x", {3, 1}}}, "int64[3] shape = {2, 3, 4}", "y = Expand(x, shape)"});
  checkGradients({"Pad", 17, {{"x", {2, 3}}}, "int64[4] pads = {1, 0, 0, 2}", "y = Pad(x, pads)"});
}

TEST(Gradient, ChainsAndSharedWeights) {
  // A weight read twice, and a value read by two nodes: the gradients add up.
  checkGradients({"shared", 17, {{"x", {2, 4}}, {"w", {4, 4}}}, "",
                  "h = MatMul(x, w)\n r = Relu(h)\n z = MatMul(r, w)\n y = Add(z, h)"});
}

TEST(Gradient, OpWithoutGradientOnThePathIsNamed) {
  Model model = test::parseModel(R"(<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[2,3] y) <float[2,3] w = {1, 2, 3, 4, 5, 6}> {
  h = Mul(x, w)
  y = Cos(h)
})");
  const Graph& graph = model.graph();
  auto bp = Backprop::create(graph, model.opsetImports, {graph.findValue("w")}, {graph.outputs()[0]});
  ASSERT_FALSE(bp);
  EXPECT_NE(bp.status().message().find("Cos"), std::string::npos) << bp.status().message();
  EXPECT_NE(bp.status().message().find("no gradient"), std::string::npos) << bp.status().message();
}

TEST(Gradient, NonDifferentiableInputsCarryNothing) {
  // The weight reaches the output only through Shape -> Reshape's shape input: nothing to train, no error.
  Model model = test::parseModel(R"(<ir_version: 8, opset_import: ["" : 17]>
g (float[2,3] x) => (float[3,2] y) <float[3,2] w = {1, 2, 3, 4, 5, 6}> {
  s = Shape(w)
  y = Reshape(x, s)
})");
  const Graph& graph = model.graph();
  auto bp = Backprop::create(graph, model.opsetImports, {graph.findValue("w")}, {graph.outputs()[0]});
  ASSERT_TRUE(bp) << bp.status().message();
  EXPECT_TRUE(bp->plan().empty());
}

}  // namespace
}  // namespace onnxpress::train

namespace onnxpress::train {
namespace {

// Fake quantization Q→DQ with one scale: Backprop must give the straight-through
// gradient for x and LSQ's step-size gradient, computed here in closed form.
TEST(Gradient, FakeQuantizationIsStraightThroughWithLsqScale) {
  Model model = test::parseModel(R"(<ir_version: 8, opset_import: ["" : 17]>
g () => (float[6] y) <float[6] x = {-3.0, -0.26, 0.0, 0.317, 1.171, 9.0}, float s = {0.02}, int8 z = {2}> {
  q = QuantizeLinear(x, s, z)
  y = DequantizeLinear(q, s, z)
})");
  Graph& graph = model.graph();
  auto ex = runtime::Executor::create(model, runtime::ExecutorOptions{.threads = 1, .keepIntermediates = true,
                                                                      .precomputeDequantization = false});
  ASSERT_TRUE(ex) << ex.status().message();
  ASSERT_TRUE((*ex)->run({}));
  const Value* x = graph.findValue("x");
  const Value* s = graph.findValue("s");
  auto bp = Backprop::create(graph, model.opsetImports, {x, s}, {graph.outputs()[0]});
  ASSERT_TRUE(bp) << bp.status().message();
  const std::vector<float> g = {1.0f, -2.0f, 0.5f, 3.0f, -1.0f, 2.0f};
  std::unordered_map<const Value*, runtime::TensorData> seeds;
  seeds[graph.outputs()[0]] = runtime::TensorData::fromVector(DataType::Float, {6}, g);
  auto grads = bp->run((*ex)->intermediates(), seeds, 1);
  ASSERT_TRUE(grads) << grads.status().message();
  const std::vector<float> xs = {-3.0f, -0.26f, 0.0f, 0.317f, 1.171f, 9.0f};  // the ends clamp
  double ds = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double v = xs[i] / 0.02f, q = std::nearbyint(v) + 2;
    const bool inside = q >= -128 && q <= 127;
    EXPECT_FLOAT_EQ(grads->at(x).span<float>()[i], inside ? g[i] : 0.f) << i;
    ds += g[i] * (inside ? std::nearbyint(v) - v : std::clamp(q, -128.0, 127.0) - 2);
  }
  EXPECT_NEAR(grads->at(s).span<float>()[0], ds, 1e-4);
}

}  // namespace
}  // namespace onnxpress::train

namespace onnxpress::train {
namespace {

// Whole-model gradients of models/parity/ (exported by PyTorch) against central finite
// differences: for a random dL/d(outputs), in each of four weights (first, two middle,
// last) the 6 elements of largest gradient and 6 seeded random ones must agree. Composes every backward function the models use.
void checkWholeModel(const std::string& file, const std::map<std::string, runtime::TensorData>& feed) {
  SCOPED_TRACE(file);
  auto loaded = loadModel(std::string(ONNXPRESS_SOURCE_DIR) + "/models/parity/" + file);
  ASSERT_TRUE(loaded) << loaded.status().message();
  Model& model = *loaded;
  Graph& graph = model.graph();
  std::vector<Value*> weights;
  for (Value* v : graph.initializers())
    if (v->initializer()->dtype() == DataType::Float && v->initializer()->numElements() >= 2) {
      v->initializer()->mutableData<float>();  // owned before the executor views it
      weights.push_back(v);
    }
  ASSERT_GE(weights.size(), 4u);
  auto run = [&](bool keep) {
    auto ex = runtime::Executor::create(model, runtime::ExecutorOptions{.threads = 1, .keepIntermediates = keep});
    EXPECT_TRUE(ex) << ex.status().message();
    return std::move(*ex);
  };
  auto ex = run(true);
  auto outputs = ex->run(feed);
  ASSERT_TRUE(outputs) << outputs.status().message();
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<std::vector<float>> r;
  std::unordered_map<const Value*, runtime::TensorData> seeds;
  std::vector<const Value*> lossInputs;
  for (size_t k = 0; k < outputs->size(); ++k) {
    r.emplace_back(static_cast<size_t>((*outputs)[k].numElements()));
    for (float& v : r.back()) v = normal(rng);
    seeds[graph.outputs()[k]] = runtime::TensorData::fromVector(DataType::Float, (*outputs)[k].shape(), r.back());
    lossInputs.push_back(graph.outputs()[k]);
  }
  auto loss = [&]() {
    auto out = run(false)->run(feed);
    EXPECT_TRUE(out);
    double sum = 0;
    for (size_t k = 0; k < out->size(); ++k)
      for (size_t i = 0; i < r[k].size(); ++i) sum += static_cast<double>((*out)[k].span<float>()[i]) * r[k][i];
    return sum;
  };
  std::vector<const Value*> trained(weights.begin(), weights.end());
  auto bp = Backprop::create(graph, model.opsetImports, trained, lossInputs);
  ASSERT_TRUE(bp) << bp.status().message();
  auto grads = bp->run(ex->intermediates(), seeds, 1);
  ASSERT_TRUE(grads) << grads.status().message();
  const size_t n = weights.size();
  for (Value* w : {weights[0], weights[n / 3], weights[2 * n / 3], weights[n - 1]}) {
    SCOPED_TRACE(w->name());
    ASSERT_TRUE(grads->count(w));
    std::span<float> values = w->initializer()->mutableData<float>();
    const auto analytic = grads->at(w).span<float>();
    std::vector<size_t> order(values.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 6, order.end(),
                      [&](size_t a, size_t b) { return std::abs(analytic[a]) > std::abs(analytic[b]); });
    std::vector<size_t> checked(order.begin(), order.begin() + 6);
    std::uniform_int_distribution<size_t> pick(0, values.size() - 1);
    for (int t = 0; t < 6; ++t) checked.push_back(pick(rng));
    double largest = 0;
    for (size_t i : checked) {
      const float saved = values[i], eps = 4e-3f;  // float32 forward: smaller steps drown in rounding
      values[i] = saved + eps;
      const double up = loss();
      values[i] = saved - eps;
      const double down = loss();
      values[i] = saved;
      const double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(analytic[i], numeric, 3e-3 + 3e-2 * std::abs(numeric)) << "element " << i;
      largest = std::max(largest, std::abs(numeric));
    }
    EXPECT_GT(largest, 0.02) << "the gradients are all about zero: the check would prove nothing";
  }
}

TEST(WholeModelGradient, ResNetSmall) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> x(3 * 32 * 32);
  for (float& v : x) v = normal(rng);
  checkWholeModel("resnet_small.onnx", {{"input", runtime::TensorData::fromVector(DataType::Float, {1, 3, 32, 32}, x)}});
}

TEST(WholeModelGradient, BertTiny) {
  const std::vector<int64_t> ids = {1, 5, 9, 2, 7, 3, 8, 4}, mask(8, 1), types(8, 0);
  checkWholeModel("bert_tiny.onnx", {{"input_ids", runtime::TensorData::fromVector(DataType::Int64, {1, 8}, ids)},
                                     {"attention_mask", runtime::TensorData::fromVector(DataType::Int64, {1, 8}, mask)},
                                     {"token_type_ids", runtime::TensorData::fromVector(DataType::Int64, {1, 8}, types)}});
}

TEST(WholeModelGradient, LstmIsNamedAsMissing) {
  auto model = loadModel(std::string(ONNXPRESS_SOURCE_DIR) + "/models/parity/lstm_small.onnx");
  ASSERT_TRUE(model);
  Graph& graph = model->graph();
  std::vector<const Value*> weights;
  for (Value* v : graph.initializers())
    if (v->initializer()->dtype() == DataType::Float && v->initializer()->numElements() >= 2) weights.push_back(v);
  auto bp = Backprop::create(graph, model->opsetImports, weights, {graph.outputs()[0]});
  ASSERT_FALSE(bp);
  EXPECT_NE(bp.status().message().find("(LSTM) is on the path"), std::string::npos) << bp.status().message();
}

}  // namespace
}  // namespace onnxpress::train
