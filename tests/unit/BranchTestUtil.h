// For pass tests on models with an If node: compare outputs on both branches.
#pragma once

#include "PassTestUtil.h"

namespace onnxpress::test {

/// Runs `before` and `after` on the same seeded inputs, once with the bool input
/// `condition` true and once false, and expects every output to match within rtol/atol.
inline void expectSameOutputsOnBothBranches(const Model& before, const Model& after, double rtol, double atol,
                                            const std::string& condition = "c") {
  for (bool branch : {true, false}) {
    auto inputs = randomInputs(before);
    inputs[condition] =
        runtime::TensorData::fromVector(DataType::Bool, {}, std::vector<uint8_t>{static_cast<uint8_t>(branch)});
    auto a = runModel(before, inputs);
    auto b = runModel(after, inputs);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      auto cmp = runtime::allClose(b[i], a[i], rtol, atol);
      EXPECT_TRUE(cmp.match) << "branch " << branch << ", output " << i << ": " << cmp.reason;
    }
  }
}

}  // namespace onnxpress::test
