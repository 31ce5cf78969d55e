#include "onnxpress/analysis/Deployability.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "onnxpress/analysis/ModelSummary.h"
#include "onnxpress/ir/GraphUtil.h"

namespace onnxpress {

int64_t Deployability::errors() const {
  int64_t n = 0;
  for (const auto& f : findings) n += f.severity == "error";
  for (const auto& b : budgets) n += b.measured && !b.holds();
  return n;
}

int64_t Deployability::warnings() const {
  return static_cast<int64_t>(std::count_if(findings.begin(), findings.end(),
                                            [](const auto& f) { return f.severity == "warning"; }));
}

bool Deployability::deployable() const { return errors() == 0; }

namespace {

constexpr size_t kNodesShown = 5;

const std::set<std::string> kQOperatorOps = {"QLinearConv",   "QLinearMatMul", "ConvInteger",
                                             "MatMulInteger", "com.microsoft::QLinearAdd",
                                             "com.microsoft::QLinearMul", "com.microsoft::QLinearAveragePool",
                                             "com.microsoft::QLinearGlobalAveragePool",
                                             "com.microsoft::QLinearConcat", "com.microsoft::QLinearSigmoid",
                                             "com.microsoft::QLinearLeakyRelu", "com.microsoft::QLinearSoftmax"};
const std::set<std::string> kWeightedOps = {"Conv", "ConvTranspose", "Gemm", "MatMul"};

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Collects findings keyed by (severity, rule, message): one line per kind.
class Findings {
 public:
  void add(const std::string& severity, const std::string& rule, const std::string& message, const Node& node) {
    auto& f = byKey_[{severity, rule, message}];
    if (f.count == 0) f = {severity, rule, message, 0, {}};
    ++f.count;
    if (f.nodes.size() < kNodesShown) f.nodes.push_back(node.name().empty() ? node.describe() : node.name());
  }
  void addModel(const std::string& severity, const std::string& rule, const std::string& message) {
    byKey_[{severity, rule, message}] = {severity, rule, message, 1, {}};
  }
  std::vector<DeployabilityFinding> take() {
    std::vector<DeployabilityFinding> all;
    for (auto& [key, f] : byKey_) all.push_back(std::move(f));
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return (a.severity == "error") > (b.severity == "error");
    });
    return all;
  }

 private:
  std::map<std::tuple<std::string, std::string, std::string>, DeployabilityFinding> byKey_;
};

// The quantized type a QuantizeLinear produces: its zero point's type, else uint8.
DataType quantizedType(const Node& q) {
  const Value* zeroPoint = q.input(2);
  return zeroPoint ? elementType(zeroPoint) : DataType::UInt8;
}

bool allZero(const Value* zeroPoint) {
  if (!zeroPoint) return true;  // absent: 0
  const auto tensor = constantValue(zeroPoint);
  if (!tensor) return false;  // computed at run time: cannot be shown to be 0
  const auto values = intValues(*tensor);
  return values && std::all_of(values->begin(), values->end(), [](int64_t v) { return v == 0; });
}

// The axis of a weight that runs along the consumer's output channels.
std::optional<int64_t> outputChannelAxis(const Node& consumer, size_t weightInput, int64_t weightRank) {
  if (consumer.opType() == "Conv" && weightInput == 1) return 0;
  if (consumer.opType() == "ConvTranspose" && weightInput == 1) return 1;
  if (consumer.opType() == "Gemm" && weightInput == 1) return consumer.intAttr("transB", 0) ? 0 : 1;
  if (consumer.opType() == "MatMul" && weightInput == 1) return weightRank - 1;
  return std::nullopt;
}

// Weight DequantizeLinear: its input is a constant of a type other than int32 (biases).
bool isWeightDequantize(const Node& n) {
  return isOp(&n, "DequantizeLinear") && isConstant(n.input(0)) && elementType(n.input(0)) != DataType::Int32;
}

void checkQuantization(const Node& n, const TargetRules& rules, Findings& findings) {
  const std::string op = qualifiedOpType(n);
  if (rules.quantizationFormat == "qdq" && kQOperatorOps.count(op))
    findings.add("error", "quantization-format", fmt::format("{} is a QOperator op; the target runs QDQ models", op), n);
  if (isOp(&n, "QuantizeLinear")) {
    const std::string type(dataTypeName(quantizedType(n)));
    if (!rules.activationTypes.empty() && !contains(rules.activationTypes, type))
      findings.add("error", "activation-types",
                   fmt::format("activations quantized to {}; the target takes {}", type,
                               fmt::join(rules.activationTypes, " or ")), n);
    if (rules.activationZeroPointsZero && !allZero(n.input(2)))
      findings.add("error", "activation-zero-points", "activation zero point is not 0 (asymmetric)", n);
  }
  if (!isWeightDequantize(n)) return;
  const std::string type(dataTypeName(elementType(n.input(0))));
  if (!rules.weightTypes.empty() && !contains(rules.weightTypes, type))
    findings.add("error", "weight-types",
                 fmt::format("weights stored as {}; the target takes {}", type, fmt::join(rules.weightTypes, " or ")), n);
  if (rules.weightZeroPointsZero && !allZero(n.input(2)))
    findings.add("error", "weight-zero-points", "weight zero point is not 0 (asymmetric weights)", n);
  if (!rules.perChannelAxisIsOutputChannel) return;
  const auto scale = constantValue(n.input(1));
  const auto weight = constantValue(n.input(0));
  if (!scale || !weight || scale->numElements() <= 1) return;
  const int64_t rank = static_cast<int64_t>(weight->dims().size());
  int64_t axis = n.intAttr("axis", 1);
  if (axis < 0) axis += rank;
  for (const Use& use : n.output(0)->uses()) {
    if (!use.node) continue;
    const auto expected = outputChannelAxis(*use.node, use.index, rank);
    if (expected && *expected != axis)
      findings.add("error", "per-channel-axis",
                   fmt::format("{} weight scales run along axis {}; the target needs the output channels (axis {})",
                               use.node->opType(), axis, *expected),
                   n);
  }
}

// The weight of a Conv/Gemm/MatMul as stored: a float constant, or the constant behind its DequantizeLinear.
const Value* storedWeight(const Node& n) {
  const Value* w = n.input(1);
  if (!w) return nullptr;
  if (const Node* dq = w->producer(); dq && isOp(dq, "DequantizeLinear")) return dq->input(0);
  return w;
}

void checkCompute(const Node& n, const TargetRules& rules, Findings& findings) {
  if (!isDefaultDomain(n) || !kWeightedOps.count(n.opType())) return;
  const Value* stored = storedWeight(n);
  if (!stored || !isConstant(stored)) return;
  const DataType type = elementType(stored);
  const bool floatWeight = type == DataType::Float || type == DataType::Float16 || type == DataType::BFloat16 ||
                           type == DataType::Double;
  if (rules.floatComputeSlow && floatWeight)
    findings.add("warning", "float-compute", fmt::format("{} computes in float; the target's fast kernels are integer", n.opType()), n);
  if (rules.channelMultiple > 0) {
    const auto tensor = constantValue(stored);
    if (!tensor || tensor->dims().empty()) return;
    const auto axis = outputChannelAxis(n, 1, static_cast<int64_t>(tensor->dims().size()));
    if (!axis || *axis >= static_cast<int64_t>(tensor->dims().size())) return;
    int64_t channels = tensor->dims()[static_cast<size_t>(*axis)];
    if (n.opType() == "ConvTranspose") channels *= n.intAttr("group", 1);
    if (channels % rules.channelMultiple != 0)
      findings.add("warning", "channel-multiple",
                   fmt::format("{} output channels are not a multiple of {}", n.opType(), rules.channelMultiple), n);
  }
}

bool isHalfType(DataType t) { return t == DataType::Float16 || t == DataType::BFloat16; }

}  // namespace

Deployability checkDeployability(const Model& model, const std::string& target, const TargetRules& rules,
                                 const TargetBudgets& budgets, const DeployedFigures& figures) {
  Deployability result;
  result.target = target;
  Findings findings;
  const int64_t opset = model.opsetVersion("");
  if (rules.minOpset > 0 && opset < rules.minOpset)
    findings.addModel("error", "min-opset", fmt::format("ai.onnx opset {}; the target needs {} or later", opset, rules.minOpset));
  if (rules.maxOpset > 0 && opset > rules.maxOpset)
    findings.addModel("error", "max-opset", fmt::format("ai.onnx opset {}; the target loads up to {}", opset, rules.maxOpset));
  bool half = false;
  model.graph().forEachGraph([&](const Graph& g) {
    for (const Value* init : g.initializers()) half = half || isHalfType(init->initializer()->dtype());
    for (const Node* n : g.nodes()) {
      const std::string op = qualifiedOpType(*n);
      if (!rules.supportedOps.empty() && !contains(rules.supportedOps, op))
        findings.add("error", "supported-ops", fmt::format("{} is not among the ops the target runs", op), *n);
      if (contains(rules.unsupportedOps, op))
        findings.add("error", "unsupported-ops", fmt::format("the target does not run {}", op), *n);
      if (contains(rules.slowOps, op)) findings.add("warning", "slow-ops", fmt::format("{} runs slowly on the target", op), *n);
      for (const Value* out : n->outputs()) half = half || (out && isHalfType(elementType(out)));
      if (isOp(n, "Cast")) half = half || isHalfType(static_cast<DataType>(n->intAttr("to", 0)));  // types may be unknown
      checkQuantization(*n, rules, findings);
      checkCompute(*n, rules, findings);
    }
  });
  if (half && rules.float16Slow)
    findings.addModel("warning", "float16", "float16/bfloat16 tensors: the target computes them slowly (few half-precision kernels)");
  result.findings = findings.take();
  if (budgets.modelBytes > 0) result.budgets.push_back({"model-bytes", budgets.modelBytes, figures.fileBytes});
  if (budgets.peakActivationBytes > 0)
    result.budgets.push_back({"peak-activation-bytes", budgets.peakActivationBytes, figures.peakActivationBytes});
  return result;
}

}  // namespace onnxpress
