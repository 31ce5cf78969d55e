// Helpers for pass tests: run a pass, read a statistic, and compare a model's
// outputs before and after a rewrite on seeded random inputs.
#pragma once

#include <map>
#include <random>
#include <string>

#include "TestUtil.h"
#include "onnxpress/pass/Pass.h"
#include "onnxpress/runtime/Compare.h"
#include "onnxpress/runtime/Executor.h"

namespace onnxpress::test {

/// Runs `pass` on `m`, expecting success and a verifiable graph afterwards.
inline PassResult runPassOn(Pass& pass, Model& m) {
  PassContext ctx;
  auto result = pass.run(m, ctx);
  EXPECT_TRUE(result) << result.status().message();
  Status verified = m.graph().verify();
  EXPECT_TRUE(verified.isOk()) << verified.message();
  return result ? *result : PassResult{};
}

inline int64_t statistic(const PassResult& r, const std::string& name) {
  for (const auto& [k, v] : r.statistics)
    if (k == name) return v;
  return 0;
}

inline int64_t countOps(const Model& m, const std::string& opType) {
  int64_t n = 0;
  m.graph().forEachGraph([&](const Graph& g) {
    for (Node* node : g.nodes()) n += node->opType() == opType;
  });
  return n;
}

/// Seeded random inputs for every required input; dims must be fixed.
/// Floats are uniform in [-1, 1]; integers in [0, 4); bools random.
inline std::map<std::string, runtime::TensorData> randomInputs(const Model& m, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::map<std::string, runtime::TensorData> inputs;
  for (const Value* in : m.graph().inputs()) {
    if (in->initializer()) continue;
    std::vector<int64_t> shape;
    for (const Dim& d : in->type().dims) shape.push_back(d.isFixed() ? d.value : 1);
    auto t = runtime::TensorData::allocate(in->type().elemType, shape);
    const int64_t n = t.numElements();
    switch (in->type().elemType) {
      case DataType::Float: {
        std::uniform_real_distribution<float> u(-1.f, 1.f);
        for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = u(rng);
        break;
      }
      case DataType::Int64:
        for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[i] = static_cast<int64_t>(rng() % 4);
        break;
      case DataType::Int32:
        for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int32_t>(rng() % 4);
        break;
      case DataType::Bool:
        for (int64_t i = 0; i < n; ++i) t.data<bool>()[i] = rng() % 2;
        break;
      default:
        ADD_FAILURE() << "randomInputs: unsupported input type for " << in->name();
    }
    inputs.emplace(in->name(), std::move(t));
  }
  return inputs;
}

inline std::vector<runtime::TensorData> runModel(const Model& m, const std::map<std::string, runtime::TensorData>& in) {
  auto exec = runtime::Executor::create(m);
  EXPECT_TRUE(exec) << exec.status().message();
  if (!exec) return {};
  auto out = (*exec)->run(in);
  EXPECT_TRUE(out) << out.status().message();
  return out ? std::move(*out) : std::vector<runtime::TensorData>{};
}

/// Runs `before` and `after` on the same seeded inputs and expects every output
/// to match within rtol/atol (numpy.allclose).
inline void expectSameOutputs(const Model& before, const Model& after, double rtol, double atol, uint32_t seed = 7) {
  auto inputs = randomInputs(before, seed);
  auto a = runModel(before, inputs);
  auto b = runModel(after, inputs);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    auto cmp = runtime::allClose(b[i], a[i], rtol, atol);
    EXPECT_TRUE(cmp.match) << "output " << i << ": " << cmp.reason;
  }
}

}  // namespace onnxpress::test
