#include "onnxpress/passes/cleanup/EliminateIdentity.h"

#include <algorithm>
#include <limits>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/cleanup/CleanupUtil.h"

namespace onnxpress {

using namespace cleanup;
namespace {

bool isFixed(const Dim& d, int64_t value) { return d.isFixed() && d.value == value; }

// Whether broadcasting a tensor of dims `other` against `x` leaves x's shape unchanged.
bool broadcastKeepsShape(const std::vector<Dim>& x, const std::vector<int64_t>& other) {
  if (other.size() > x.size()) return false;
  for (size_t i = 0; i < other.size(); ++i) {
    const int64_t o = other[other.size() - 1 - i];
    if (o != 1 && !isFixed(x[x.size() - 1 - i], o)) return false;
  }
  return true;
}

// Every element of `t` equals `target` exactly (doubles compared as doubles).
bool allElementsEqual(const Tensor& t, double target) {
  if (t.dtype() == DataType::Double) {
    auto values = t.data<double>();
    return std::all_of(values.begin(), values.end(), [&](double v) { return v == target; });
  }
  if (auto values = floatValues(t))
    return std::all_of(values->begin(), values->end(), [&](float v) { return v == static_cast<float>(target); });
  if (auto values = intValues(t))
    return std::all_of(values->begin(), values->end(), [&](int64_t v) { return v == static_cast<int64_t>(target); });
  return false;
}

// Integer parameters that are an attribute before `sinceOpset` and input `index` from it on.
std::optional<std::vector<int64_t>> intsParam(const Node& node, int64_t opset, int64_t sinceOpset,
                                              const char* attribute, size_t index) {
  if (opset < sinceOpset) {
    if (!node.attribute(attribute)) return std::nullopt;
    return node.intsAttr(attribute);
  }
  return constantInts(node.input(index));
}

bool isNoOpDropout(const Node& node, int64_t opset) {
  if (node.output(1) && node.output(1)->hasUses()) return false;
  if (opset < 12 || !node.input(2)) return true;
  auto training = constantInts(node.input(2));
  return training && std::all_of(training->begin(), training->end(), [](int64_t t) { return t == 0; });
}

bool isNoOpReshape(const Node& node, int64_t opset) {
  auto x = knownDims(node.input(0));
  if (!x) return false;
  auto shape = intsParam(node, opset, 5, "shape", 1);
  if (!shape) {
    // A computed shape: a reshape never reorders data, so equal static shapes suffice.
    auto in = staticShape(node.input(0)), out = staticShape(node.output(0));
    return in && out && *in == *out;
  }
  const bool allowZero = opset >= 14 && node.intAttr("allowzero", 0) != 0;
  if (shape->size() != x->size()) return false;
  int inferred = 0;
  for (size_t i = 0; i < shape->size(); ++i) {
    const int64_t s = (*shape)[i];
    if (s == -1) {
      ++inferred;
    } else if (s == 0 && !allowZero) {
      continue;  // copies x's dim i
    } else if (!isFixed((*x)[i], s)) {
      return false;
    }
  }
  // One -1 stands for the single remaining dim only when no dim is 0 (0 / 0 is not a dim).
  const bool hasZero = std::any_of(x->begin(), x->end(), [](const Dim& d) { return isFixed(d, 0); });
  return inferred == 0 || (inferred == 1 && !hasZero);
}

bool isNoOpTranspose(const Node& node) {
  if (const Attribute* perm = node.attribute("perm")) {
    for (size_t i = 0; i < perm->ints.size(); ++i)
      if (perm->ints[i] != static_cast<int64_t>(i)) return false;
    return true;
  }
  auto x = knownDims(node.input(0));  // no perm: dims reversed
  return x && x->size() <= 1;
}

bool isNoOpCast(const Node& node) {
  const DataType from = elementType(node.input(0));
  if (from == DataType::Undefined) return false;
  if (node.opType() == "CastLike") return elementType(node.input(1)) == from;
  const Attribute* to = node.attribute("to");  // a string before opset 6: left alone
  return to && to->kind == Attribute::Kind::Int && static_cast<DataType>(to->i) == from;
}

bool isNoOpPad(const Node& node, int64_t opset) {
  auto pads = opset < 2 ? intsParam(node, opset, 11, "paddings", 1) : intsParam(node, opset, 11, "pads", 1);
  return pads && std::all_of(pads->begin(), pads->end(), [](int64_t p) { return p == 0; });
}

bool isNoOpSlice(const Node& node, int64_t opset) {
  auto spec = sliceSpec(node, opset);
  auto x = knownDims(node.input(0));
  if (!spec || !x) return false;
  const auto rank = static_cast<int64_t>(x->size());
  // An end this large covers any real dim (no axis holds 2^31 elements).
  constexpr int64_t kUnbounded = std::numeric_limits<int32_t>::max();
  for (size_t k = 0; k < spec->axes.size(); ++k) {
    const int64_t axis = spec->axes[k] < 0 ? spec->axes[k] + rank : spec->axes[k];
    if (axis < 0 || axis >= rank || spec->steps[k] != 1) return false;
    const Dim& d = (*x)[static_cast<size_t>(axis)];
    if (d.isFixed()) {
      if (clampSliceRange(spec->starts[k], spec->ends[k], 1, d.value) != std::pair<int64_t, int64_t>{0, d.value})
        return false;
    } else if (spec->starts[k] != 0 || spec->ends[k] < kUnbounded) {
      return false;
    }
  }
  return true;
}

bool isNoOpExpand(const Node& node) {
  auto x = knownDims(node.input(0));
  auto shape = constantInts(node.input(1));
  return x && shape && broadcastKeepsShape(*x, *shape);
}

bool isNoOpSqueeze(const Node& node, int64_t opset) {
  const bool hasAxes = opset < 13 ? node.attribute("axes") != nullptr : node.input(1) != nullptr;
  if (hasAxes) {
    auto axes = intsParam(node, opset, 13, "axes", 1);
    if (!axes || !axes->empty()) return false;  // squeezing a listed axis always drops it
  }
  // No axes: every dim of size 1 goes, so all dims must be known not to be 1.
  auto x = knownDims(node.input(0));
  return x && std::all_of(x->begin(), x->end(), [](const Dim& d) { return d.isFixed() && d.value != 1; });
}

bool isNoOpUnsqueeze(const Node& node, int64_t opset) {
  auto axes = intsParam(node, opset, 13, "axes", 1);
  return axes && axes->empty();
}

bool isNoOpFlatten(const Node& node) {
  auto x = knownDims(node.input(0));
  if (!x || x->size() != 2) return false;
  int64_t axis = node.intAttr("axis", 1);
  if (axis < 0) axis += 2;
  if (axis == 1) return true;
  if (axis == 0) return isFixed((*x)[0], 1);  // [1, a*b]
  return axis == 2 && isFixed((*x)[1], 1);    // [a*b, 1]
}

// x*1, 1*x, x/1, x+0, 0+x, x-0. Sets `dataIndex` to x's input position.
bool isNoOpArithmetic(const Node& node, int64_t opset, size_t& dataIndex) {
  const std::string& op = node.opType();
  const double identity = op == "Mul" || op == "Div" ? 1.0 : 0.0;
  const bool commutative = op == "Mul" || op == "Add";
  if (node.numInputs() != 2 || !node.input(0) || !node.input(1)) return false;
  for (size_t c : {size_t{1}, size_t{0}}) {
    // Before opset 7 the output always has input 0's shape, so only a second-input constant qualifies.
    if (c == 0 && (!commutative || opset < 7)) continue;
    const Value* constant = node.input(c);
    const Value* data = node.input(1 - c);
    std::optional<Tensor> copy;
    const Tensor* t = constantTensor(constant);
    if (!t && (copy = constantValue(constant))) t = &*copy;
    if (!t || !allElementsEqual(*t, identity)) continue;
    const DataType dataType = elementType(data);
    if (dataType != DataType::Undefined && dataType != t->dtype()) continue;
    auto x = knownDims(data);
    if (opset < 7 || (x && broadcastKeepsShape(*x, t->dims()))) {
      dataIndex = 1 - c;
      return true;
    }
  }
  return false;
}

// The statistic naming why `node` is a no-op (its output equals input `dataIndex`), or "".
std::string noOpKind(const Node& node, int64_t opset, size_t& dataIndex) {
  if (!isDefaultDomain(node) || node.numOutputs() == 0 || !node.output(0) || !node.input(0)) return "";
  for (size_t i = 1; i < node.numOutputs(); ++i)
    if (node.output(i) && node.output(i)->hasUses() && node.opType() != "Dropout") return "";
  dataIndex = 0;
  const std::string& op = node.opType();
  const std::string noOp = "no-op " + op + " removed";
  if (op == "Identity") return "Identity removed";
  if (op == "Dropout") return isNoOpDropout(node, opset) ? "Dropout removed" : "";
  if (op == "Reshape") return isNoOpReshape(node, opset) ? noOp : "";
  if (op == "Transpose") return isNoOpTranspose(node) ? noOp : "";
  if (op == "Cast" || op == "CastLike") return isNoOpCast(node) ? noOp : "";
  if (op == "Pad") return isNoOpPad(node, opset) ? noOp : "";
  if (op == "Slice") return isNoOpSlice(node, opset) ? noOp : "";
  if (op == "Expand") return isNoOpExpand(node) ? noOp : "";
  if (op == "Squeeze") return isNoOpSqueeze(node, opset) ? noOp : "";
  if (op == "Unsqueeze") return isNoOpUnsqueeze(node, opset) ? noOp : "";
  if (op == "Flatten") return isNoOpFlatten(node) ? noOp : "";
  if (op == "Concat" || op == "Sum" || op == "Mean" || op == "Max" || op == "Min")
    return node.numInputs() == 1 ? noOp : "";
  if (op == "Mul" || op == "Add" || op == "Sub" || op == "Div")
    return isNoOpArithmetic(node, opset, dataIndex) ? noOp : "";
  return "";
}

// Rewires the readers of `node`'s output to its input `dataIndex`; false if that is not allowed.
bool bypass(Node* node, size_t dataIndex) {
  return replaceKeepingInterface(node->output(0), node->input(dataIndex));
}

// Whether every element of `v` is zero whatever the inputs: an all-zero constant,
// ConstantOfShape of 0, or a shape-only op applied to such a value.
bool isKnownZeros(const Value* v) {
  if (!v) return false;
  if (const Tensor* t = constantTensor(v)) return allElementsEqual(*t, 0.0);
  const Node* p = v->producer();
  if (!p || !isDefaultDomain(*p)) return false;
  if (p->opType() == "ConstantOfShape") {
    const Attribute* value = p->attribute("value");
    return !value || value->tensors.empty() || allElementsEqual(value->tensors[0], 0.0);
  }
  static const char* kShapeOnly[] = {"Slice",     "Reshape", "Expand", "Squeeze", "Unsqueeze",
                                     "Transpose", "Cast",    "Identity", "Tile",   "Flatten"};
  for (const char* op : kShapeOnly)
    if (p->opType() == op) return isKnownZeros(p->input(0));
  return false;
}

// RNN/GRU/LSTM initial_h (input 5) and LSTM initial_c (input 6) default to zeros:
// an explicit all-zero state is dropped. Returns how many inputs were dropped.
int64_t dropZeroInitialStates(Node* node) {
  const std::string& op = node->opType();
  if (!isDefaultDomain(*node) || (op != "RNN" && op != "GRU" && op != "LSTM")) return 0;
  int64_t dropped = 0;
  for (size_t index : {size_t{5}, size_t{6}}) {
    if (index == 6 && op != "LSTM") continue;
    if (isKnownZeros(node->input(index))) {
      node->setInput(index, nullptr);
      ++dropped;
    }
  }
  while (node->numInputs() > 0 && !node->inputs().back()) node->removeLastInput();
  return dropped;
}

}  // namespace

Expected<PassResult> EliminateIdentityPass::run(Model& model, PassContext&) {
  PassResult result;
  // Whatever inference manages is used; rules needing unknown shapes keep their node.
  (void)inferShapes(model);
  const int64_t opset = model.opsetVersion("");
  model.graph().forEachGraph([&](Graph& g) {
    for (Node* node : g.nodeList()) {
      size_t dataIndex = 0;
      const std::string kind = noOpKind(*node, opset, dataIndex);
      if (!kind.empty() && bypass(node, dataIndex)) result.bump(kind);
      else result.bump("zero initial states dropped", dropZeroInitialStates(node));
    }
  });
  return result;
}

}  // namespace onnxpress
