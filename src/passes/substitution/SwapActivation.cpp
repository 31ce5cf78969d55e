#include "onnxpress/passes/substitution/SwapActivation.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numbers>
#include <tuple>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/substitution/SubstitutionUtil.h"

namespace onnxpress {
namespace {

enum class Swap { HardSigmoid, HardSwish, GeluTanh, HardTanh, LeakyReluToRelu, EluToRelu, Relu6ToRelu };

struct SwapEntry {
  std::string_view from, alias, to;
  std::string_view emittedOp;  // for the opset error
  int64_t minOpset;
  Swap swap;
};

constexpr SwapEntry kTable[] = {
    {"Sigmoid", "", "HardSigmoid", "HardSigmoid", 6, Swap::HardSigmoid},
    {"Swish", "SiLU", "HardSwish", "HardSwish", 14, Swap::HardSwish},
    {"Gelu", "", "GeluTanh", "Gelu", 1, Swap::GeluTanh},  // below opset 20: primitives
    {"Tanh", "", "HardTanh", "Clip", 1, Swap::HardTanh},
    {"LeakyRelu", "", "Relu", "Relu", 1, Swap::LeakyReluToRelu},
    {"Elu", "", "Relu", "Relu", 1, Swap::EluToRelu},
    {"Relu6", "", "Relu", "Relu", 1, Swap::Relu6ToRelu},
};

std::string normalized(std::string_view name) {
  std::string out;
  for (char c : name)
    if (c != '-' && c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string supportedPairs() {
  std::string out;
  for (const SwapEntry& e : kTable) {
    if (!out.empty()) out += ", ";
    out += std::string(e.from) + (e.alias.empty() ? "" : "|" + std::string(e.alias)) + "->" + std::string(e.to);
  }
  return out;
}

Expected<const SwapEntry*> findEntry(const std::string& from, const std::string& to) {
  if (from.empty()) return usageError("option 'from' is required (supported: {})", supportedPairs());
  bool knownFrom = false;
  for (const SwapEntry& e : kTable) {
    if (normalized(from) != normalized(e.from) && (e.alias.empty() || normalized(from) != normalized(e.alias)))
      continue;
    knownFrom = true;
    if (to.empty() || normalized(to) == normalized(e.to)) return &e;
  }
  if (!knownFrom)
    return usageError("option 'from': unsupported activation '{}' (supported: {})", from, supportedPairs());
  return usageError("unsupported swap {} -> {} (supported: {})", from, to, supportedPairs());
}


// Reads single-element constants near expected values; remembers the widest rank seen
// (a [1,1] constant would broadcast a lower-rank x) and the constants' float type.
struct ConstantReader {
  size_t widestRank = 0;
  DataType floatType = DataType::Undefined;
  bool near(const Value* v, double expected) {
    std::optional<ScalarConstant> c = v ? scalarConstant(v) : std::nullopt;
    if (!c || !approxEqual(c->value, expected, c->dtype)) return false;
    widestRank = std::max(widestRank, c->rank);
    if (isFloatType(c->dtype)) floatType = c->dtype;
    return true;
  }
};

// The other input of a binary node that reads `v`, or null.
Value* otherInput(const Node* n, const Value* v) {
  if (n->numInputs() != 2) return nullptr;
  if (n->input(0) == v) return n->input(1);
  if (n->input(1) == v) return n->input(0);
  return nullptr;
}

// x*0.5*(1 + Erf(x/√2)), as exporters write it.
struct ErfGelu {
  Value* x = nullptr;
  std::vector<Node*> nodes;  // the last one computes the result
  ConstantReader constants;
};

std::optional<ErfGelu> matchErfGelu(Node* erf) {
  ErfGelu match;
  ConstantReader& c = match.constants;
  Value* scaled = erf->input(0);
  Node* scale = scaled ? scaled->producer() : nullptr;
  if (!scale || onlyUser(scaled) != erf || scale->numInputs() != 2) return std::nullopt;
  Value*& x = match.x;
  if (isOp(scale, "Div") && c.near(scale->input(1), std::numbers::sqrt2)) {
    x = scale->input(0);
  } else if (isOp(scale, "Mul")) {
    if (c.near(scale->input(1), 1 / std::numbers::sqrt2)) x = scale->input(0);
    else if (c.near(scale->input(0), 1 / std::numbers::sqrt2)) x = scale->input(1);
  }
  if (!x) return std::nullopt;

  Node* add = onlyUser(erf->output(0));
  if (!isOp(add, "Add") || !c.near(otherInput(add, erf->output(0)), 1.0)) return std::nullopt;
  Node* m1 = onlyUser(add->output(0));
  if (!isOp(m1, "Mul")) return std::nullopt;
  Value* o1 = otherInput(m1, add->output(0));
  if (!o1) return std::nullopt;
  if (o1 == x || c.near(o1, 0.5)) {  // (x * sum) * 0.5 or (sum * 0.5) * x
    const bool halfFirst = o1 != x;
    Node* m2 = onlyUser(m1->output(0));
    if (!isOp(m2, "Mul")) return std::nullopt;
    Value* o2 = otherInput(m2, m1->output(0));
    if (!o2 || !(halfFirst ? o2 == x : c.near(o2, 0.5))) return std::nullopt;
    match.nodes = {scale, erf, add, m1, m2};
  } else {  // (x * 0.5) * sum
    Node* half = o1->producer();
    if (!isOp(half, "Mul") || onlyUser(o1) != m1 || !c.near(otherInput(half, x), 0.5)) return std::nullopt;
    match.nodes = {scale, half, erf, add, m1};
  }
  if (c.widestRank > 0) {
    std::optional<int64_t> rank = knownRank(x);
    if (!rank || *rank < static_cast<int64_t>(c.widestRank)) return std::nullopt;
  }
  return match;
}

class ActivationSwapper {
 public:
  ActivationSwapper(Swap swap, int64_t opset) : swap_(swap), opset_(opset) {}

  // Candidates are collected first; a rewrite destroys only its own candidate and
  // non-candidate pattern nodes, so the list stays valid.
  int64_t run(Graph& g) {
    std::vector<Node*> candidates;
    for (Node* n : g.nodes())
      if (isCandidate(*n)) candidates.push_back(n);
    int64_t swapped = 0;
    for (Node* n : candidates) swapped += swapNode(n);
    return swapped;
  }

 private:
  bool isCandidate(const Node& n) const {
    if (!isDefaultDomain(n)) return false;
    const std::string& op = n.opType();
    switch (swap_) {
      case Swap::HardSigmoid: return op == "Sigmoid";
      case Swap::HardSwish: return op == "Mul";
      case Swap::GeluTanh: return op == "Gelu" || op == "Erf";
      case Swap::HardTanh: return op == "Tanh";
      case Swap::LeakyReluToRelu: return op == "LeakyRelu";
      case Swap::EluToRelu: return op == "Elu";
      case Swap::Relu6ToRelu: return op == "Clip";
    }
    return false;
  }

  bool swapNode(Node* n) {
    switch (swap_) {
      case Swap::HardSigmoid:
        n->setOpType("HardSigmoid");
        n->setAttribute(Attribute::makeFloat("alpha", 1.0f / 6.0f));
        n->setAttribute(Attribute::makeFloat("beta", 0.5f));
        return true;
      case Swap::HardSwish: return swapSwish(n);
      case Swap::GeluTanh: return n->opType() == "Gelu" ? swapNativeGelu(n) : swapErfGelu(n);
      case Swap::HardTanh: return swapTanh(n);
      case Swap::LeakyReluToRelu:
      case Swap::EluToRelu:
        n->setOpType("Relu");
        n->removeAttribute("alpha");
        return true;
      case Swap::Relu6ToRelu: return swapRelu6(n);
    }
    return false;
  }

  bool swapSwish(Node* mul) {
    for (size_t slot = 0; slot < 2 && mul->numInputs() == 2; ++slot) {
      Value* gate = mul->input(slot);
      Value* x = mul->input(1 - slot);
      Node* sigmoid = gate ? gate->producer() : nullptr;
      if (!x || !isOp(sigmoid, "Sigmoid") || sigmoid->input(0) != x) continue;
      Node* hardSwish = mul->graph()->createNode("HardSwish", {x}, 1, mul);
      hardSwish->setName(mul->name());
      replaceWith(mul, hardSwish->output(0));
      eraseIfDead({sigmoid});  // stays when something else reads it
      return true;
    }
    return false;
  }

  bool swapNativeGelu(Node* gelu) {
    if (gelu->stringAttr("approximate", "none") == "tanh") return false;
    gelu->setAttribute(Attribute::makeString("approximate", "tanh"));
    return true;
  }

  bool swapErfGelu(Node* erf) {
    std::optional<ErfGelu> match = matchErfGelu(erf);
    if (!match) return false;
    Node* last = match->nodes.back();
    Graph& g = *last->graph();
    Value* x = match->x;
    Value* y = nullptr;
    if (opset_ >= 20) {
      Node* gelu = g.createNode("Gelu", {x}, 1, last);
      gelu->setAttribute(Attribute::makeString("approximate", "tanh"));
      gelu->setName(last->name());
      y = gelu->output(0);
    } else {
      const DataType dtype = isFloatType(elementType(x)) ? elementType(x) : match->constants.floatType;
      auto op = [&](const char* type, Value* a, Value* b) {
        std::vector<Value*> inputs{a};
        if (b) inputs.push_back(b);
        return g.createNode(type, inputs, 1, last)->output(0);
      };
      Value* cube = op("Mul", op("Mul", x, x), x);
      Value* inner = op("Add", x, op("Mul", cube, scalar(g, dtype, 0.044715)));
      Value* t = op("Tanh", op("Mul", inner, scalar(g, dtype, std::sqrt(2 / std::numbers::pi))), nullptr);
      y = op("Mul", op("Mul", x, scalar(g, dtype, 0.5)), op("Add", t, scalar(g, dtype, 1.0)));
    }
    replaceWith(last, y);
    match->nodes.pop_back();  // destroyed by replaceWith
    eraseIfDead(match->nodes);
    return true;
  }

  bool swapTanh(Node* tanh) {
    if (opset_ < 11) {
      tanh->setOpType("Clip");
      tanh->setAttribute(Attribute::makeFloat("min", -1.0f));
      tanh->setAttribute(Attribute::makeFloat("max", 1.0f));
      return true;
    }
    DataType dtype = elementType(tanh->input(0));
    if (!isFloatType(dtype)) dtype = elementType(tanh->output(0));
    if (!isFloatType(dtype)) return false;  // Clip's bounds need the element type
    Graph& g = *tanh->graph();
    tanh->addInput(scalar(g, dtype, -1.0));
    tanh->addInput(scalar(g, dtype, 1.0));
    tanh->setOpType("Clip");
    return true;
  }

  bool swapRelu6(Node* clip) {
    const Attribute* lo = clip->attribute("min");
    const Attribute* hi = clip->attribute("max");
    bool isRelu6 = false;
    ConstantReader bounds;
    if (lo || hi) isRelu6 = lo && hi && lo->f == 0.0f && approxEqual(hi->f, 6.0);
    else isRelu6 = clip->numInputs() == 3 && bounds.near(clip->input(1), 0.0) && bounds.near(clip->input(2), 6.0);
    if (!isRelu6 || bounds.widestRank > 0) return false;  // a [1] bound would broadcast a scalar x
    std::vector<Value*> old(clip->inputs().begin() + 1, clip->inputs().end());
    while (clip->numInputs() > 1) clip->removeLastInput();
    clip->removeAttribute("min");
    clip->removeAttribute("max");
    clip->setOpType("Relu");
    releaseIfUnused(old);
    return true;
  }

  // Makes `value` stand for `node`'s single output; `node` is destroyed.
  static void replaceWith(Node* node, Value* value) {
    copyType(node->output(0), value);
    [[maybe_unused]] bool replaced = replaceValue(node->output(0), value);  // a fresh value always can
  }

  // A scalar initializer, shared by every rewrite in the same graph.
  Value* scalar(Graph& g, DataType dtype, double value) {
    Value*& slot = scalars_[{&g, dtype, value}];
    if (!slot) slot = substitution::addWeight(g, "swap_activation_const", dtype, {}, {value});
    return slot;
  }

  Swap swap_;
  int64_t opset_;
  std::map<std::tuple<Graph*, DataType, double>, Value*> scalars_;
};

}  // namespace

Status SwapActivationOptions::validate() const { return findEntry(from, to).status(); }

Expected<PassResult> SwapActivationPass::run(Model& model, PassContext&) {
  ASSIGN_OR_RETURN(const SwapEntry* entry, findEntry(options_.from, options_.to));
  const int64_t opset = model.opsetVersion("");
  if (opset < entry->minOpset)
    return usageError("{} needs opset >= {}, but the model imports opset {}",
                      entry->emittedOp, entry->minOpset, opset);
  (void)inferShapes(model);  // element types for the constants some rewrites emit
  ActivationSwapper swapper(entry->swap, opset);
  std::vector<Graph*> graphs;
  model.graph().forEachGraph([&](Graph& g) { graphs.push_back(&g); });
  PassResult result;
  for (Graph* g : graphs) result.bump("activations swapped", swapper.run(*g));
  return result;
}

}  // namespace onnxpress
