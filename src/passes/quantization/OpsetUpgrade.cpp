#include "onnxpress/passes/quantization/OpsetUpgrade.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/conversion/ConvertOpset.h"  // minimumIrVersionForOpset

namespace onnxpress::quant {
namespace {

constexpr int64_t kLowestSource = 6;
constexpr int64_t kHighestTarget = 21;

// The reductions whose axes moved from attribute to input: ReduceSum at 13, the others at 18.
int64_t axesInputVersion(const std::string& op) {
  static constexpr std::array<std::string_view, 9> kReductions = {
      "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
      "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"};
  if (op == "ReduceSum") return 13;
  return std::find(kReductions.begin(), kReductions.end(), op) != kReductions.end() ? 18 : 0;
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

// A constant read by `node`: an initializer of its graph, or a Constant node in a function body.
Value* constantInput(Node& node, const std::string& suffix, Tensor tensor, bool inFunction) {
  Graph& graph = *node.graph();
  const std::string base = (node.name().empty() ? node.opType() : node.name()) + suffix;
  if (!inFunction) return addInitializer(graph, base, std::move(tensor));
  Node* constant = graph.createNode("Constant", {}, 1, &node);
  constant->setAttribute(Attribute::makeTensor("value", std::move(tensor)));
  graph.rename(constant->output(0), graph.uniqueName(base));
  return constant->output(0);
}

Value* int64Input(Node& node, const std::string& suffix, std::vector<int64_t> values, std::vector<int64_t> dims,
                  bool inFunction) {
  return constantInput(node, suffix, makeInt64Tensor(std::move(values), std::move(dims)), inFunction);
}

// Input `index` of `node` becomes `v`; omitted optional inputs before it stay omitted.
void setInputAt(Node& node, size_t index, Value* v) {
  while (node.numInputs() < index) node.addInput(nullptr);
  if (node.numInputs() == index) node.addInput(v);
  else node.setInput(index, v);
}

// Inserts `v` as input `index`, shifting the inputs from `index` on by one.
void insertInputAt(Node& node, size_t index, Value* v) {
  std::vector<Value*> tail(node.inputs().begin() + static_cast<std::ptrdiff_t>(std::min(index, node.numInputs())),
                           node.inputs().end());
  while (node.numInputs() > index) node.removeLastInput();
  setInputAt(node, index, v);
  for (Value* t : tail) node.addInput(t);
}

// An attribute that moves to input `index` as an int64 1-D tensor (absent: nothing changes).
Status moveIntsToInput(Node& node, const std::string& name, size_t index, const Bump& b) {
  const Attribute* attribute = node.attribute(name);
  if (!attribute) return Status::ok();
  RETURN_IF_ERROR(requireLiteral(node, attribute, b.target));
  if (node.input(index)) return invalidInput("{} has both a {} attribute and input {}", node.describe(), name, index);
  if (!b.apply) return Status::ok();
  std::vector<int64_t> values = attribute->ints;
  node.removeAttribute(name);
  // An empty list meant "all axes" (reductions, Squeeze), as an absent input does.
  const auto n = static_cast<int64_t>(values.size());
  if (n > 0)
    setInputAt(node, index, int64Input(node, "_" + name, std::move(values), std::vector<int64_t>{n}, b.inFunction));
  b.count(node.opType() + " " + name + " attribute moved to an input");
  return Status::ok();
}

// A float attribute that becomes a scalar input of the data input's type (Clip bounds, Pad value).
Status moveScalarToInput(Node& node, const std::string& name, size_t index, const Bump& b) {
  const Attribute* attribute = node.attribute(name);
  if (!attribute) return Status::ok();
  RETURN_IF_ERROR(requireLiteral(node, attribute, b.target));
  DataType dtype = elementType(node.input(0));
  if (dtype == DataType::Undefined) dtype = DataType::Float;
  if (!isFloatType(dtype))
    return usageError("{} cannot be carried to opset {}: its {} attribute is float but its input is {}",
                      node.describe(), b.target, name, dataTypeName(dtype));
  if (!b.apply) return Status::ok();
  const double value = attribute->f;
  node.removeAttribute(name);
  setInputAt(node, index,
             constantInput(node, "_" + name, makeTensorFromDoubles(dtype, {}, {value}), b.inFunction));
  b.count(node.opType() + " " + name + " attribute moved to an input");
  return Status::ok();
}

// Softmax, LogSoftmax, Hardmax before 13 coerce the input to 2-D at `axis` (default 1); from
// 13 on they work along one axis (default -1). A known rank with axis = rank - 1 only needs
// the axis written; otherwise Flatten(axis) -> op(axis=-1) -> Reshape(Shape(x)) keeps the
// old meaning for any rank.
Status carrySoftmax(Node& node, const Bump& b) {
  const Attribute* attribute = node.attribute("axis");
  RETURN_IF_ERROR(requireLiteral(node, attribute, b.target));
  if (!b.apply) return Status::ok();
  const int64_t axis = attribute ? attribute->i : 1;
  const auto rank = knownRank(node.input(0));
  if (axis == -1 || (rank && (axis == *rank - 1 || axis + *rank == *rank - 1))) {
    node.setAttribute(Attribute::makeInt("axis", -1));
    b.count(node.opType() + " axis made explicit");
    return Status::ok();
  }
  Graph& graph = *node.graph();
  Value* x = node.input(0);
  Node* flatten = graph.createNode("Flatten", {x}, 1, &node);
  flatten->setAttribute(Attribute::makeInt("axis", axis));
  Node* shape = graph.createNode("Shape", {x}, 1, &node);
  Node* op = graph.createNode(node.opType(), {flatten->output()}, 1, &node);
  op->setAttribute(Attribute::makeInt("axis", -1));
  for (Node* created : {flatten, shape, op})
    graph.rename(created->output(), graph.uniqueName(x->name() + "_" + created->opType() + "_opset13"));
  op->setName(node.name().empty() ? std::string() : node.name() + "_2d");
  copyType(node.output(), op->output());
  op->output()->mutableType().hasShape = false;
  // The original node becomes the Reshape, so its output (name, readers) stays.
  node.setOpType("Reshape");
  node.removeAttribute("axis");
  node.setInput(0, op->output());
  node.addInput(shape->output());
  b.count(op->opType() + " wrapped in Flatten/Reshape (2-D semantics kept)");
  return Status::ok();
}

// Opset 7 replaced the legacy broadcast (attribute broadcast=1, B aligned to A from
// `axis`, default: B's dims are A's last ones) by numpy broadcasting (right-aligned).
// Without axis, or when B reaches A's last dim from `axis`, they agree; otherwise a
// constant B gets trailing 1-dims. A non-constant B, or an unknown rank of A, is refused.
Status carryLegacyBroadcast(Node& node, const Bump& b) {
  const Attribute* broadcast = node.attribute("broadcast");
  const Attribute* axisAttribute = node.attribute("axis");
  RETURN_IF_ERROR(requireLiteral(node, broadcast, b.target));
  RETURN_IF_ERROR(requireLiteral(node, axisAttribute, b.target));
  int64_t trailingOnes = 0;
  Value* operand = node.numInputs() > 1 ? node.input(1) : nullptr;
  if (broadcast && broadcast->i != 0 && axisAttribute && operand) {
    const auto rankA = knownRank(node.input(0));
    const auto constant = constantValue(operand);
    if (!rankA || !constant)
      return usageError("{} cannot be carried past opset 6: its legacy broadcast along axis {} needs the rank of "
                        "input 0 and a constant input 1", node.describe(), axisAttribute->i);
    const int64_t axis = axisAttribute->i < 0 ? axisAttribute->i + *rankA : axisAttribute->i;
    trailingOnes = *rankA - axis - static_cast<int64_t>(constant->dims().size());
    if (trailingOnes < 0)
      return invalidInput("{}: input 1 of rank {} does not fit input 0 of rank {} from axis {}", node.describe(),
                          constant->dims().size(), *rankA, axis);
  }
  if (!b.apply) return Status::ok();
  if (trailingOnes > 0) {
    const Tensor original = *constantValue(operand);
    std::vector<int64_t> dims = original.dims();
    dims.insert(dims.end(), static_cast<size_t>(trailingOnes), 1);
    Tensor reshaped;
    reshaped.setBytes(original.dtype(), std::move(dims),
                      std::vector<uint8_t>(original.bytes().begin(), original.bytes().end()));
    node.setInput(1, constantInput(node, "_numpy_broadcast", std::move(reshaped), b.inFunction));
    b.count(node.opType() + " legacy broadcast: input 1 given trailing 1-dims");
  }
  if (broadcast || axisAttribute) b.count(node.opType() + " legacy broadcast attributes dropped");
  node.removeAttribute("broadcast");
  node.removeAttribute("axis");
  return Status::ok();
}

bool hasLegacyBroadcast(const std::string& op) {
  static constexpr std::array<std::string_view, 11> kOps = {"Add", "Sub", "Mul", "Div", "Pow", "And",
                                                            "Or", "Xor", "Equal", "Greater", "Less"};
  return std::find(kOps.begin(), kOps.end(), op) != kOps.end();
}

// Nearest rounding of Resize-10 and Upsample as ONNX Runtime implements them: truncation
// (floor) when enlarging, ceil when shrinking. Mixed constant scales cannot be expressed.
Expected<std::string> nearestModeOfScales(const Node& node, const Value* scales, int64_t target) {
  const auto values = scales ? constantValue(scales) : std::nullopt;
  const auto doubles = values ? doubleValues(*values) : std::nullopt;
  if (!doubles) return std::string("floor");
  const bool up = std::all_of(doubles->begin(), doubles->end(), [](double v) { return v >= 1; });
  const bool down = std::all_of(doubles->begin(), doubles->end(), [](double v) { return v <= 1; });
  if (!up && !down)
    return usageError("{} cannot be carried to opset {}: nearest resizing that enlarges some axes and shrinks "
                      "others has no Resize-11 equivalent", node.describe(), target);
  return std::string(up ? "floor" : "ceil");
}

// Carries one ai.onnx node across the versions `b` crosses, oldest change first (an op may
// change its type on the way: Upsample becomes Resize at 10). See the header for the list.
Status bumpNode(Node& node, const Bump& b) {
  const std::string op = node.opType();
  if (b.from < kLowestSource)
    return usageError("{}: opset {} is below {}, the oldest this upgrade carries", node.describe(), b.from,
                      kLowestSource);
  if (b.crosses(7) && hasLegacyBroadcast(op)) RETURN_IF_ERROR(carryLegacyBroadcast(node, b));
  if (b.crosses(7) && (op == "Gemm" || op == "BatchNormalization" || op == "Dropout") && b.apply) {
    // Gemm's broadcast (C always broadcasts from 7) and the is_test flags were dropped.
    for (const char* legacy : {"broadcast", "is_test"})
      if (node.attribute(legacy)) {
        node.removeAttribute(legacy);
        b.count(fmt::format("{} {} attribute dropped", op, legacy));
      }
  }
  if (b.crosses(9) && op == "Scan")
    return usageError("{} cannot be carried past opset 8: Scan-9 has another signature", node.describe());
  if (b.crosses(9) && op == "BatchNormalization" && node.attribute("spatial")) {
    if (node.intAttr("spatial", 1) != 1)
      return usageError("{} cannot be carried past opset 8: spatial=0 was removed", node.describe());
    if (b.apply) node.removeAttribute("spatial");
  }
  if (b.crosses(10) && op == "Upsample") {
    const std::string mode = node.stringAttr("mode", "nearest");
    if (!node.input(1)) {  // Upsample-7: scales attribute
      const Attribute* scales = node.attribute("scales");
      if (!scales) return invalidInput("{} has no scales", node.describe());
      RETURN_IF_ERROR(requireLiteral(node, scales, b.target));
      if (b.apply) {
        std::vector<float> values = scales->floats;
        node.removeAttribute("scales");
        const auto n = static_cast<int64_t>(values.size());
        setInputAt(node, 1,
                   constantInput(node, "_scales", Tensor::fromValues<float>(DataType::Float, {n}, values),
                                 b.inFunction));
      }
    }
    if (!b.apply) return Status::ok();
    node.setOpType("Resize");
    node.setAttribute(Attribute::makeString("mode", mode == "bilinear" ? "linear" : mode));
    b.count("Upsample became Resize");
  }
  if (b.crosses(10) && op == "Slice") {
    for (auto [name, index] : {std::pair<const char*, size_t>{"starts", 1}, {"ends", 2}, {"axes", 3}})
      RETURN_IF_ERROR(moveIntsToInput(node, name, index, b));
  }
  if (b.crosses(10) && op == "TopK" && node.attribute("k")) {
    const int64_t k = node.intAttr("k", 0);
    RETURN_IF_ERROR(requireLiteral(node, node.attribute("k"), b.target));
    if (b.apply) {
      node.removeAttribute("k");
      setInputAt(node, 1, int64Input(node, "_k", {k}, std::vector<int64_t>{1}, b.inFunction));
      b.count("TopK k attribute moved to an input");
    }
  }
  if (b.crosses(11) && node.opType() == "Resize" && (op == "Upsample" || b.from < 11)) {
    // Resize-10 (x, scales) -> Resize-11 (x, roi, scales); roi is optional from 13.
    ASSIGN_OR_RETURN(std::string nearest, nearestModeOfScales(node, node.input(1), b.target));
    if (b.apply) {
      Value* roi = b.target >= 13 ? nullptr
                                  : constantInput(node, "_roi", Tensor::fromValues<float>(DataType::Float, {0}, {}),
                                                  b.inFunction);
      insertInputAt(node, 1, roi);
      node.setAttribute(Attribute::makeString("coordinate_transformation_mode", "asymmetric"));
      if (node.stringAttr("mode", "nearest") == "nearest")
        node.setAttribute(Attribute::makeString("nearest_mode", nearest));
      b.count("Resize-10 carried to the Resize-11 form (asymmetric coordinates)");
    }
  }
  if (b.crosses(11) && op == "Clip") {
    RETURN_IF_ERROR(moveScalarToInput(node, "min", 1, b));
    RETURN_IF_ERROR(moveScalarToInput(node, "max", 2, b));
  }
  if (b.crosses(11) && op == "Pad") {
    RETURN_IF_ERROR(moveIntsToInput(node, "pads", 1, b));
    RETURN_IF_ERROR(moveScalarToInput(node, "value", 2, b));
  }
  if (b.crosses(11) && op == "Scatter" && b.apply) {
    node.setOpType("ScatterElements");
    b.count("Scatter renamed ScatterElements");
  }
  if (b.crosses(12) && op == "Dropout" && node.attribute("ratio") && b.apply) {
    node.removeAttribute("ratio");  // inference ignores it; Dropout-12 takes it as an optional input
    b.count("Dropout ratio attribute dropped (inference)");
  }
  if (b.crosses(13) && (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax")) RETURN_IF_ERROR(carrySoftmax(node, b));
  if (b.crosses(13) && (op == "Squeeze" || op == "Unsqueeze")) RETURN_IF_ERROR(moveIntsToInput(node, "axes", 1, b));
  if (b.crosses(13) && op == "Split") RETURN_IF_ERROR(moveIntsToInput(node, "split", 1, b));
  if (b.crosses(14) && op == "BatchNormalization" && node.numOutputs() > 1) {
    for (size_t i = 1; i < node.numOutputs(); ++i)
      if (node.output(i) && (node.output(i)->hasUses() || node.output(i)->isGraphOutput()))
        return usageError("{} cannot be carried past opset 13: its training outputs are read", node.describe());
    if (b.apply) {
      Graph& graph = *node.graph();
      Node* single = graph.createNode("BatchNormalization", node.inputs(), 1, &node);
      single->setName(node.name());
      for (const Attribute& a : node.attributes()) single->setAttribute(a.clone(&graph));
      replaceValue(node.output(0), single->output(0));
      graph.destroyNode(&node);
      b.count("BatchNormalization training outputs removed");
      return Status::ok();
    }
  }
  if (b.crosses(16) && op == "RoiAlign" && !node.attribute("coordinate_transformation_mode") && b.apply) {
    node.setAttribute(Attribute::makeString("coordinate_transformation_mode", "output_half_pixel"));
    b.count("RoiAlign coordinate mode made explicit");
  }
  if (const int64_t moved = axesInputVersion(op); moved && b.crosses(moved))
    RETURN_IF_ERROR(moveIntsToInput(node, "axes", 1, b));
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
    const std::vector<Graph*> bodies = n->subgraphs();  // bumpNode may replace n
    if (isDefaultDomain(*n)) RETURN_IF_ERROR(bumpNode(*n, b));
    for (Graph* sub : bodies) RETURN_IF_ERROR(bumpGraph(*sub, b));
  }
  return Status::ok();
}

OpsetImport* defaultImport(std::vector<OpsetImport>& imports) {
  for (OpsetImport& i : imports)
    if (canonicalDomain(i.domain).empty()) return &i;
  return nullptr;
}

// Over the main graph and every model-local function (each from its own ai.onnx version): checks only, or rewrites.
Status bumpModel(Model& model, int64_t from, int64_t target, bool apply, PassResult& result) {
  PassResult* sink = apply ? &result : nullptr;
  RETURN_IF_ERROR(bumpGraph(model.graph(), Bump{from, target, apply, false, sink}));
  for (Function& f : model.functions) {
    const OpsetImport* imported = defaultImport(f.opsetImports);
    const int64_t version = imported ? imported->version : from;
    if (version >= target || !f.body) continue;
    RETURN_IF_ERROR(bumpGraph(*f.body, Bump{version, target, apply, true, sink}));
  }
  return Status::ok();
}

// The model and every function import ai.onnx `target`; the IR version follows.
void importDefaultOpset(Model& model, int64_t target) {
  if (OpsetImport* i = defaultImport(model.opsetImports)) i->version = std::max(i->version, target);
  else model.opsetImports.push_back({"", target});
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
  // Refusals first, so that a refused upgrade leaves the model as it was.
  RETURN_IF_ERROR(bumpModel(model, current, target, false, result));
  RETURN_IF_ERROR(bumpModel(model, current, target, true, result));
  importDefaultOpset(model, target);
  result.bump(fmt::format("opset upgraded to {}", target));
  return Status::ok();
}

}  // namespace onnxpress::quant
