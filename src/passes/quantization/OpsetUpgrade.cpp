#include "onnxpress/passes/quantization/OpsetUpgrade.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/conversion/ConvertOpset.h"

namespace onnxpress::quant {
namespace {

constexpr int64_t kConverterCeiling = 17;  // the highest opset the linked onnx version converter reaches
constexpr int64_t kHighestTarget = 21;


// The reductions whose axes moved from attribute to input at opset 18 (ReduceSum moved at 13).
bool takesAxesInputFrom18(const std::string& op) {
  static constexpr std::array<std::string_view, 9> kReductions = {
      "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
      "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"};
  return std::find(kReductions.begin(), kReductions.end(), op) != kReductions.end();
}

// One walk over a graph or function body, from opset `from` to `target`.
struct Bump {
  int64_t from = 0, target = 0;
  bool apply = false;       // false: only check that every node can be carried
  bool inFunction = false;  // function bodies hold no initializers: constants become Constant nodes
  PassResult* result = nullptr;

  bool crosses(int64_t version) const { return from < version && version <= target; }
  void count(const std::string& what) const {
    if (result) result->bump("opset upgrade: " + what);
  }
};

// An attribute that must move or change cannot be a reference to a calling function's attribute.
Status requireLiteral(const Node& node, const Attribute* attribute, int64_t target) {
  if (!attribute || attribute->refAttrName.empty()) return Status::ok();
  return usageError("cannot carry {} to opset {}: its '{}' attribute refers to the calling function's attribute '{}'",
                    node.describe(), target, attribute->name, attribute->refAttrName);
}

// An int64 constant read by `node`: an initializer of its graph, or a Constant node in a function body.
Value* int64Input(Node& node, const std::string& suffix, std::vector<int64_t> values, std::vector<int64_t> dims,
                  bool inFunction) {
  Graph& graph = *node.graph();
  const std::string base = (node.name().empty() ? node.opType() : node.name()) + suffix;
  Tensor tensor = makeInt64Tensor(std::move(values), std::move(dims));
  if (!inFunction) return addInitializer(graph, base, std::move(tensor));
  Node* constant = graph.createNode("Constant", {}, 1, &node);
  constant->setAttribute(Attribute::makeTensor("value", std::move(tensor)));
  graph.rename(constant->output(0), graph.uniqueName(base));
  return constant->output(0);
}

// Input `index` of `node` becomes `v`; omitted optional inputs before it stay omitted.
void setInputAt(Node& node, size_t index, Value* v) {
  while (node.numInputs() < index) node.addInput(nullptr);
  if (node.numInputs() == index) node.addInput(v);
  else node.setInput(index, v);
}

// Carries one ai.onnx node across the versions `b` crosses (see the header for the list).
Status bumpNode(Node& node, const Bump& b) {
  const std::string& op = node.opType();
  if (b.crosses(18) && takesAxesInputFrom18(op)) {
    const Attribute* axes = node.attribute("axes");
    if (!axes) return Status::ok();
    RETURN_IF_ERROR(requireLiteral(node, axes, b.target));
    if (node.input(1)) return invalidInput("{} has both an axes attribute and an axes input", node.describe());
    if (!b.apply) return Status::ok();
    std::vector<int64_t> values = axes->ints;
    node.removeAttribute("axes");
    if (!values.empty()) {  // an empty list reduced every axis, as an absent axes input does
      const auto rank = static_cast<int64_t>(values.size());
      setInputAt(node, 1, int64Input(node, "_axes", std::move(values), std::vector<int64_t>{rank}, b.inFunction));
    }
    b.count(op + " axes attribute moved to an input");
    return Status::ok();
  }
  if (b.crosses(18) && op == "Split" && !node.input(1) && !node.attribute("num_outputs")) {
    if (!b.apply) return Status::ok();
    node.setAttribute(Attribute::makeInt("num_outputs", static_cast<int64_t>(node.numOutputs())));
    b.count("Split num_outputs set");
    return Status::ok();
  }
  if (b.crosses(20) && op == "DFT") {
    const Attribute* axis = node.attribute("axis");
    RETURN_IF_ERROR(requireLiteral(node, axis, b.target));
    if (node.input(2)) return invalidInput("{} has an input 2 below opset 20", node.describe());
    if (!b.apply) return Status::ok();
    const int64_t value = axis ? axis->i : 1;  // DFT-17's default; DFT-20's input defaults to -2
    node.removeAttribute("axis");
    setInputAt(node, 2, int64Input(node, "_axis", {value}, std::vector<int64_t>{}, b.inFunction));
    b.count("DFT axis attribute moved to an input");
    return Status::ok();
  }
  if (b.crosses(20) && op == "GridSample") {
    const Attribute* mode = node.attribute("mode");
    RETURN_IF_ERROR(requireLiteral(node, mode, b.target));
    if (!mode || (mode->s != "bilinear" && mode->s != "bicubic")) return Status::ok();
    if (!b.apply) return Status::ok();
    node.setAttribute(Attribute::makeString("mode", mode->s == "bilinear" ? "linear" : "cubic"));
    b.count("GridSample mode renamed");
    return Status::ok();
  }
  if (b.crosses(21) && op == "GroupNormalization")
    return usageError(
        "{} cannot be carried to opset {}: GroupNormalization changed meaning at opset 21 (scale and bias hold "
        "one value per channel instead of one per group)",
        node.describe(), b.target);
  return Status::ok();
}

Status bumpGraph(Graph& graph, const Bump& b) {
  for (Node* n : graph.nodeList()) {
    if (isDefaultDomain(*n)) RETURN_IF_ERROR(bumpNode(*n, b));
    for (Graph* sub : n->subgraphs()) RETURN_IF_ERROR(bumpGraph(*sub, b));
  }
  return Status::ok();
}

OpsetImport* defaultImport(std::vector<OpsetImport>& imports) {
  for (OpsetImport& i : imports)
    if (canonicalDomain(i.domain).empty()) return &i;
  return nullptr;
}

// Step 2 over the main graph (at opset `from` >= 17) and every function: checks only, or rewrites.
Status bumpModel(Model& model, int64_t from, int64_t target, bool apply, PassResult& result) {
  PassResult* sink = apply ? &result : nullptr;
  RETURN_IF_ERROR(bumpGraph(model.graph(), Bump{from, target, apply, false, sink}));
  for (Function& f : model.functions) {
    const OpsetImport* imported = defaultImport(f.opsetImports);
    const int64_t version = imported ? imported->version : from;
    if (version >= target || !f.body) continue;
    if (version < kConverterCeiling)
      return usageError("function '{}' imports ai.onnx opset {}; the upgrade to {} carries functions from opset {} on",
                        f.name, version, target, kConverterCeiling);
    RETURN_IF_ERROR(bumpGraph(*f.body, Bump{version, target, apply, true, sink}));
  }
  return Status::ok();
}

// The model (and, when step 2 ran, every function) imports ai.onnx `target`; the IR version follows.
void importDefaultOpset(Model& model, int64_t target, bool functionsToo) {
  if (OpsetImport* i = defaultImport(model.opsetImports)) i->version = std::max(i->version, target);
  else model.opsetImports.push_back({"", target});
  if (functionsToo)
    for (Function& f : model.functions)
      if (OpsetImport* i = defaultImport(f.opsetImports)) i->version = std::max(i->version, target);
  model.irVersion = std::max(model.irVersion, minimumIrVersionForOpset(target));
}

bool hasDefaultDomainNode(const Model& model) {
  bool found = false;
  model.graph().forEachGraph([&](const Graph& g) {
    for (const Node* n : g.nodes()) found = found || isDefaultDomain(*n);
  });
  return found;
}

}  // namespace

Status upgradeOpset(Model& model, int64_t target, PassResult& result) {
  if (target > kHighestTarget)
    return usageError("cannot upgrade to ai.onnx opset {}: the upgrade reaches opset {} at most", target,
                      kHighestTarget);
  const int64_t current = model.opsetVersion("");
  if (current >= target) return Status::ok();
  if (current == 0 && hasDefaultDomainNode(model))
    return invalidInput("the model has ai.onnx nodes but imports no ai.onnx opset");
  const bool bumps = target > kConverterCeiling;
  // Refusals first, so that a refused upgrade leaves the model as it was.
  if (bumps) RETURN_IF_ERROR(bumpModel(model, std::max(current, kConverterCeiling), target, false, result));
  if (current > 0 && current < kConverterCeiling) {
    const int64_t step = std::min(target, kConverterCeiling);
    ConvertOpsetPass converter(ConvertOpsetOptions{step});
    PassContext context;
    Expected<PassResult> converted = converter.run(model, context);
    if (!converted) return converted.status().withContext(fmt::format("opset upgrade to {}", target));
    result.bump(fmt::format("opset converted to {} (onnx version converter)", step));
  }
  if (bumps)
    RETURN_IF_ERROR(bumpModel(model, std::max(model.opsetVersion(""), kConverterCeiling), target, true, result));
  importDefaultOpset(model, target, bumps);
  result.bump(fmt::format("opset upgraded to {}", target));
  return Status::ok();
}

}  // namespace onnxpress::quant
