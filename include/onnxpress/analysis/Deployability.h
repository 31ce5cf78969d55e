// Deployability: whether a model suits a deployment target (driver/TargetProfile.h
// reads the targets' rules from targets/*.yaml).
//
// Each rule looks at the graph (subgraphs included) and yields findings:
//   error    the target's runtime refuses the model, or a budget is exceeded;
//   warning  it runs, but slowly (float16 on a CPU engine, float Conv on an MCU,
//            channel counts its kernels do not tile).
// Findings of one rule and op are merged into one line with a count and the
// first few node names. Budgets compare the measured file size and peak
// activation memory with the target's limits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "onnxpress/ir/Model.h"

namespace onnxpress {

struct TargetRules {
  std::string quantizationFormat = "any";  // qdq: QOperator ops are errors; qoperator; any
  std::vector<std::string> activationTypes;  // types QuantizeLinear may produce ("int8"); empty: any
  std::vector<std::string> weightTypes;      // types of weights behind DequantizeLinear; empty: any
  bool activationZeroPointsZero = false;
  bool weightZeroPointsZero = false;
  bool perChannelAxisIsOutputChannel = false;  // per-channel weight scales must run along output channels
  int64_t minOpset = 0, maxOpset = 0;          // ai.onnx; 0: no bound
  std::vector<std::string> supportedOps;    // closed set ("Conv", "com.microsoft::QLinearAdd"); empty: open
  std::vector<std::string> unsupportedOps;  // errors
  std::vector<std::string> slowOps;         // warnings
  bool float16Slow = false;
  bool floatComputeSlow = false;            // float Conv/ConvTranspose/Gemm/MatMul are warnings
  int64_t channelMultiple = 0;              // output channels of weights; 0: no rule
};

struct TargetBudgets {
  int64_t modelBytes = 0;           // 0: none
  int64_t peakActivationBytes = 0;  // 0: none
};

struct DeployabilityFinding {
  std::string severity;  // "error" or "warning"
  std::string rule;      // the profile key it comes from, e.g. "weight-zero-points"
  std::string message;
  int64_t count = 0;                // nodes (or tensors) it concerns
  std::vector<std::string> nodes;   // the first few
};

struct BudgetCheck {
  std::string name;  // "model-bytes" or "peak-activation-bytes"
  int64_t limit = 0;
  std::optional<int64_t> measured;  // nullopt: not measured
  bool holds() const { return measured && *measured <= limit; }
};

struct Deployability {
  std::string target;
  std::vector<DeployabilityFinding> findings;
  std::vector<BudgetCheck> budgets;
  int64_t errors() const;
  int64_t warnings() const;
  /// No error finding, and every measured budget holds.
  bool deployable() const;
};

/// The measured figures budgets are checked against.
struct DeployedFigures {
  int64_t fileBytes = 0;
  std::optional<int64_t> peakActivationBytes;
};

Deployability checkDeployability(const Model& model, const std::string& target, const TargetRules& rules,
                                 const TargetBudgets& budgets, const DeployedFigures& figures);

}  // namespace onnxpress
