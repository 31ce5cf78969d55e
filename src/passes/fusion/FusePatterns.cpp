#include "onnxpress/passes/fusion/FusePatterns.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/fusion/FusionUtil.h"

namespace onnxpress {
namespace {
using namespace fusion;

constexpr std::array<std::string_view, 4> kPatternNames = {"layernorm", "gelu", "hardswish", "hardsigmoid"};
constexpr double kInvSqrt2 = 0.70710678118654752;    // 1 / sqrt(2)
constexpr double kSqrt2OverPi = 0.79788456080286536; // sqrt(2 / pi)
constexpr double kGeluCubic = 0.044715;

// The less precise of two float types, for matching tolerances.
DataType coarser(DataType a, DataType b) {
  auto rank = [](DataType t) { return t == DataType::BFloat16 ? 2 : t == DataType::Float16 ? 1 : 0; };
  return rank(b) > rank(a) || a == DataType::Undefined ? b : a;
}

// What a match has read from constants and which nodes it covers.
struct Match {
  Value* x = nullptr;
  std::vector<Node*> nodes;                   // pattern nodes besides the one replaced
  size_t constantRank = 0;                    // widest single-element constant
  DataType constantType = DataType::Undefined;

  void note(const ScalarConstant& c) {
    constantRank = std::max(constantRank, c.rank);
    if (isFloatType(c.dtype)) constantType = coarser(constantType, c.dtype);
  }
  // Whether `v` is a single-element constant close to `expected`.
  bool constantNear(const Value* v, double expected) {
    std::optional<ScalarConstant> c = scalarConstant(v);
    if (!c || !approxEqual(c->value, expected, c->dtype)) return false;
    note(*c);
    return true;
  }
};

// ---- products ---------------------------------------------------------------------------

// coefficient * terms[0] * terms[1] * ... read off a tree of Mul nodes and Divs by
// constants, descending into inner nodes whose output only the tree reads.
struct Product {
  double coefficient = 1;
  DataType precision = DataType::Undefined;  // coarsest float type among the constants
  std::vector<Value*> terms;
  std::vector<Node*> nodes;  // the tree's nodes, root first
  size_t constantRank = 0;
};

bool isProductNode(const Node* n) {
  return (isOp(n, "Mul") || isOp(n, "Div")) && n->numInputs() == 2 && n->input(0) && n->input(1);
}

bool collectProduct(Node* n, Product& p, int depth) {
  if (!isProductNode(n)) return false;
  p.nodes.push_back(n);
  for (size_t i = 0; i < 2; ++i) {
    Value* v = n->input(i);
    const bool divisor = isOp(n, "Div") && i == 1;
    if (std::optional<ScalarConstant> c = scalarConstant(v)) {
      if (divisor && c->value == 0) return false;
      p.coefficient = divisor ? p.coefficient / c->value : p.coefficient * c->value;
      if (isFloatType(c->dtype)) p.precision = coarser(p.precision, c->dtype);
      p.constantRank = std::max(p.constantRank, c->rank);
      continue;
    }
    if (divisor) return false;  // a / b with b not constant is no product
    Node* inner = v->producer();
    if (depth < 3 && isProductNode(inner) && onlyUser(v) == n) {
      Product attempt = p;
      if (collectProduct(inner, attempt, depth + 1)) {
        p = std::move(attempt);
        continue;
      }
    }
    p.terms.push_back(v);
  }
  return true;
}

// The product rooted at the producer of `v`, when only `reader` reads v.
std::optional<Product> productAt(const Value* v, const Node* reader) {
  Node* root = v ? v->producer() : nullptr;
  Product p;
  if (!root || root->graph() != v->graph() || onlyUser(v) != reader || !collectProduct(root, p, 0))
    return std::nullopt;
  return p;
}

// Adds a product's constants and nodes to a match; false unless the coefficient is close.
bool takeProduct(Match& m, const Product& p, double expectedCoefficient) {
  if (!approxEqual(p.coefficient, expectedCoefficient, p.precision)) return false;
  m.constantRank = std::max(m.constantRank, p.constantRank);
  if (p.precision != DataType::Undefined) m.constantType = coarser(m.constantType, p.precision);
  m.nodes.insert(m.nodes.end(), p.nodes.begin(), p.nodes.end());
  return true;
}

// ---- building blocks --------------------------------------------------------------------

// 1 + f(arg) with f = Erf or Tanh, read only inside the pattern. Returns the f node.
Node* onePlus(Value* v, std::string_view function, Match& m) {
  Node* add = producerOp(v, "Add");
  if (!add || !onlyUser(v)) return nullptr;
  for (size_t side = 0; side < 2; ++side) {
    Node* f = producerOp(add->input(side), function);
    if (!f || onlyUser(add->input(side)) != add || !m.constantNear(add->input(1 - side), 1.0)) continue;
    m.nodes.push_back(add);
    m.nodes.push_back(f);
    return f;
  }
  return nullptr;
}

// Clip(x + 3, 0, 6): returns x.
Value* shiftedRelu6Input(Value* v, Match& m) {
  Node* clip = producerOp(v, "Clip");
  if (!clip || !onlyUser(v) || !clip->input(0)) return nullptr;
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  Match bounds = m;
  if (clip->numInputs() > 1 && clip->input(1)) {
    if (!bounds.constantNear(clip->input(1), 0.0)) return nullptr;
    lo = 0;
  } else if (const Attribute* a = clip->attribute("min")) {
    lo = a->f;
  }
  if (clip->numInputs() > 2 && clip->input(2)) {
    if (!bounds.constantNear(clip->input(2), 6.0)) return nullptr;
    hi = 6;
  } else if (const Attribute* a = clip->attribute("max")) {
    hi = a->f;
  }
  if (lo != 0 || !approxEqual(hi, 6.0)) return nullptr;
  Node* add = producerOp(clip->input(0), "Add");
  if (!add || onlyUser(clip->input(0)) != clip) return nullptr;
  for (size_t side = 0; side < 2; ++side) {
    Match attempt = bounds;
    if (!add->input(side) || !attempt.constantNear(add->input(1 - side), 3.0)) continue;
    attempt.nodes.push_back(clip);
    attempt.nodes.push_back(add);
    m = std::move(attempt);
    return add->input(side);
  }
  return nullptr;
}

// The constants must not broadcast x's rank up, and the element type (of x, else of the
// constants, else of the value being replaced) must suit the emitted op.
bool shapesAndTypeFit(const Match& m, const Value* replaced, bool allowBFloat16, DataType* dtypeOut) {
  if (m.constantRank > 0) {
    std::optional<int64_t> rank = knownRank(m.x);
    if (!rank || *rank < static_cast<int64_t>(m.constantRank)) return false;
  }
  DataType dtype = elementType(m.x);
  if (dtype == DataType::Undefined) dtype = m.constantType;
  if (dtype == DataType::Undefined) dtype = elementType(replaced);
  if (!isFloatType(dtype) || (dtype == DataType::BFloat16 && !allowBFloat16)) return false;
  if (dtypeOut) *dtypeOut = dtype;
  return true;
}

// ---- the rewrite --------------------------------------------------------------------------

struct Replacement {
  std::string opType, domain;
  std::vector<Value*> inputs;
  std::vector<std::pair<std::string, Tensor>> newConstants;  // appended as inputs: (name suffix, tensor)
  std::vector<Attribute> attributes;
  std::vector<Node*> patternNodes;
};

bool apply(Node* root, Replacement r) {
  Graph& g = *root->graph();
  Value* out = root->output(0);
  std::vector<Value*> inputs = r.inputs;
  std::vector<Value*> created;
  for (auto& [suffix, tensor] : r.newConstants) {
    created.push_back(addInitializer(g, out->name() + suffix, std::move(tensor)));
    inputs.push_back(created.back());
  }
  Node* fused = g.createNode(r.opType, inputs, 1, root, r.domain);
  fused->setName(root->name());
  for (Attribute& a : r.attributes) fused->setAttribute(std::move(a));
  copyType(out, fused->output(0));
  std::erase(r.patternNodes, root);  // replaceValue() destroys it
  const std::vector<Value*> rootInputs = root->inputs();
  if (!replaceValue(out, fused->output(0))) {
    g.destroyNode(fused);
    for (Value* c : created) g.removeInitializer(c);
    return false;
  }
  // The root's own constants (beta, 6, 0.5, ...) first: eraseIfDead may free those it shares.
  releaseIfUnused(rootInputs);
  eraseIfDead(r.patternNodes);
  return true;
}

// ---- gelu -----------------------------------------------------------------------------------

// The Erf argument x / sqrt(2) (or x * 0.70711) of the same x.
bool erfArgumentIs(Node* erf, Value* x, Match& m) {
  std::optional<Product> p = productAt(erf->input(0), erf);
  return p && p->terms.size() == 1 && p->terms[0] == x && takeProduct(m, *p, kInvSqrt2);
}

// The Tanh argument sqrt(2/pi) * (x + 0.044715 * x^3), x^3 as Pow(x, 3) or x * x * x.
bool tanhArgumentIs(Node* tanh, Value* x, Match& m) {
  std::optional<Product> outer = productAt(tanh->input(0), tanh);
  if (!outer || outer->terms.size() != 1 || !takeProduct(m, *outer, kSqrt2OverPi)) return false;
  Value* sum = outer->terms[0];
  Node* add = producerOp(sum, "Add");
  if (!add || !onlyUser(sum)) return false;
  m.nodes.push_back(add);
  for (size_t side = 0; side < 2; ++side) {
    if (add->input(side) != x) continue;
    std::optional<Product> cubic = productAt(add->input(1 - side), add);
    if (!cubic) continue;
    Match attempt = m;
    if (!takeProduct(attempt, *cubic, kGeluCubic)) continue;
    const std::vector<Value*>& t = cubic->terms;
    bool isCube = t.size() == 3 && t[0] == x && t[1] == x && t[2] == x;
    if (Node* pow = t.size() == 1 ? producerOp(t[0], "Pow") : nullptr;
        pow && onlyUser(t[0]) && pow->input(0) == x && attempt.constantNear(pow->input(1), 3.0)) {
      attempt.nodes.push_back(pow);
      isCube = true;
    }
    if (!isCube) continue;
    m = std::move(attempt);
    return true;
  }
  return false;
}

std::optional<Replacement> planGelu(Node* root, const Model& model) {
  const bool standard = model.opsetVersion() >= 20;
  if (!standard && model.opsetVersion("com.microsoft") < 1) return std::nullopt;
  Product product;
  if (!collectProduct(root, product, 0) || product.terms.size() != 2) return std::nullopt;
  for (size_t side = 0; side < 2; ++side) {
    for (bool approximate : {false, true}) {
      Match m;
      m.x = product.terms[side];
      if (!takeProduct(m, product, 0.5)) return std::nullopt;
      Node* f = onePlus(product.terms[1 - side], approximate ? "Tanh" : "Erf", m);
      if (!f || !(approximate ? tanhArgumentIs(f, m.x, m) : erfArgumentIs(f, m.x, m))) continue;
      if (!shapesAndTypeFit(m, root->output(0), true, nullptr)) continue;
      Replacement r;
      r.inputs = {m.x};
      r.patternNodes = std::move(m.nodes);
      if (standard) {
        r.opType = "Gelu";
        if (approximate) r.attributes.push_back(Attribute::makeString("approximate", "tanh"));
      } else {
        r.opType = approximate ? "FastGelu" : "Gelu";
        r.domain = "com.microsoft";
      }
      return r;
    }
  }
  return std::nullopt;
}

// ---- hardswish and hardsigmoid -------------------------------------------------------------

Replacement hardSigmoidOf(Value* x, std::vector<Node*> nodes) {
  Replacement r;
  r.opType = "HardSigmoid";
  r.inputs = {x};
  r.attributes.push_back(Attribute::makeFloat("alpha", static_cast<float>(1.0 / 6.0)));
  r.attributes.push_back(Attribute::makeFloat("beta", 0.5f));
  r.patternNodes = std::move(nodes);
  return r;
}

std::optional<Replacement> planHardSwish(Node* root, const Model& model) {
  Product product;
  if (model.opsetVersion() < 14 || !collectProduct(root, product, 0) || product.terms.size() != 2)
    return std::nullopt;
  for (size_t side = 0; side < 2; ++side) {
    Match m;
    m.x = product.terms[side];
    Value* gate = product.terms[1 - side];
    if (Node* hs = producerOp(gate, "HardSigmoid"); hs && onlyUser(gate) && hs->input(0) == m.x &&
        approxEqual(hs->floatAttr("alpha", 0.2f), 1.0 / 6.0) && approxEqual(hs->floatAttr("beta", 0.5f), 0.5)) {
      if (!takeProduct(m, product, 1.0)) continue;
      m.nodes.push_back(hs);
    } else if (shiftedRelu6Input(gate, m) != m.x || !takeProduct(m, product, 1.0 / 6.0)) {
      continue;
    }
    if (!shapesAndTypeFit(m, root->output(0), false, nullptr)) continue;
    Replacement r;
    r.opType = "HardSwish";
    r.inputs = {m.x};
    r.patternNodes = std::move(m.nodes);
    return r;
  }
  return std::nullopt;
}

std::optional<Replacement> planHardSigmoid(Node* root, const Model& model) {
  Product product;
  if (model.opsetVersion() < 6 || !collectProduct(root, product, 0) || product.terms.size() != 1)
    return std::nullopt;
  Match m;
  m.x = shiftedRelu6Input(product.terms[0], m);
  if (!m.x || !takeProduct(m, product, 1.0 / 6.0) || !shapesAndTypeFit(m, root->output(0), false, nullptr))
    return std::nullopt;
  return hardSigmoidOf(m.x, std::move(m.nodes));
}

// ---- layernorm ------------------------------------------------------------------------------

// ReduceMean axes (attribute before opset 18, input from 18); empty means all axes.
std::optional<std::vector<int64_t>> reduceAxes(const Node* reduce) {
  if (reduce->intAttr("keepdims", 1) != 1) return std::nullopt;
  if (reduce->numInputs() > 1 && reduce->input(1)) {
    std::optional<Tensor> axes = constantValue(reduce->input(1));
    std::optional<std::vector<int64_t>> values = axes ? intValues(*axes) : std::nullopt;
    if (!values || (values->empty() && reduce->intAttr("noop_with_empty_axes", 0) != 0)) return std::nullopt;
    return values;
  }
  if (reduce->intAttr("noop_with_empty_axes", 0) != 0) return std::nullopt;
  return reduce->intsAttr("axes");
}

// k when `axes` are exactly the last k axes of a rank-`rank` tensor.
std::optional<int64_t> trailingAxisCount(std::vector<int64_t> axes, std::optional<int64_t> rank) {
  if (axes.empty()) return rank && *rank > 0 ? rank : std::nullopt;
  for (int64_t& a : axes) {
    if (a >= 0) {
      if (!rank) return std::nullopt;
      a -= *rank;
    }
    if (rank && a < -*rank) return std::nullopt;
  }
  std::sort(axes.begin(), axes.end());
  const int64_t k = static_cast<int64_t>(axes.size());
  for (int64_t i = 0; i < k; ++i)
    if (axes[i] != i - k) return std::nullopt;
  return k;
}

struct LayerNormMatch {
  Match match;
  int64_t axisCount = 0;
  double epsilon = 0;
  Value* gamma = nullptr;
  Value* beta = nullptr;
};

// (x - mean) / sqrt(var + eps), computed by the producer of `normalized`.
std::optional<LayerNormMatch> matchStandardize(Value* normalized) {
  Node* top = normalized ? normalized->producer() : nullptr;
  if (!top || top->graph() != normalized->graph() || top->numInputs() != 2) return std::nullopt;
  LayerNormMatch ln;
  Match& m = ln.match;
  Value* d = nullptr;
  Value* stddev = nullptr;
  const Node* stddevReader = top;
  if (isOp(top, "Div")) {
    d = top->input(0);
    stddev = top->input(1);
  } else if (isOp(top, "Mul")) {
    for (size_t side = 0; side < 2 && !d; ++side)
      if (Node* r = producerOp(top->input(side), "Reciprocal"); r && onlyUser(top->input(side)) == top) {
        d = top->input(1 - side);
        stddev = r->input(0);
        stddevReader = r;
        m.nodes.push_back(r);
      }
  }
  if (!d) return std::nullopt;
  m.nodes.push_back(top);

  Node* sqrt = producerOp(stddev, "Sqrt");
  if (!sqrt || onlyUser(stddev) != stddevReader) return std::nullopt;
  Node* addEps = producerOp(sqrt->input(0), "Add");
  if (!addEps || onlyUser(sqrt->input(0)) != sqrt) return std::nullopt;
  Node* varianceMean = nullptr;
  for (size_t side = 0; side < 2 && !varianceMean; ++side) {
    std::optional<ScalarConstant> eps = scalarConstant(addEps->input(1 - side));
    Node* reduce = producerOp(addEps->input(side), "ReduceMean");
    if (!eps || !reduce || onlyUser(addEps->input(side)) != addEps) continue;
    m.note(*eps);
    ln.epsilon = eps->value;
    varianceMean = reduce;
  }
  if (!varianceMean || !varianceMean->input(0)) return std::nullopt;
  Value* squared = varianceMean->input(0);
  Node* square = squared->producer();
  if (onlyUser(squared) != varianceMean) return std::nullopt;
  if (isOp(square, "Pow")) {
    if (square->input(0) != d || !m.constantNear(square->input(1), 2.0)) return std::nullopt;
  } else if (!isOp(square, "Mul") || square->input(0) != d || square->input(1) != d) {
    return std::nullopt;
  }
  Node* sub = producerOp(d, "Sub");
  if (!sub || !sub->input(0)) return std::nullopt;
  Value* x = sub->input(0);
  Node* mean = producerOp(sub->input(1), "ReduceMean");
  if (!mean || mean->input(0) != x || onlyUser(sub->input(1)) != sub) return std::nullopt;
  // d feeds only the square and the division.
  for (const Use& u : d->uses())
    if (u.node != square && u.node != top) return std::nullopt;
  m.nodes.insert(m.nodes.end(), {sqrt, addEps, varianceMean, square, sub, mean});

  std::optional<std::vector<int64_t>> meanAxes = reduceAxes(mean), varianceAxes = reduceAxes(varianceMean);
  if (!meanAxes || !varianceAxes) return std::nullopt;
  const std::optional<int64_t> rank = knownRank(x);
  std::optional<int64_t> k = trailingAxisCount(*meanAxes, rank);
  if (!k || k != trailingAxisCount(*varianceAxes, rank)) return std::nullopt;
  ln.axisCount = *k;
  m.x = x;
  return ln;
}

// The pattern ending at `anchor`: standardize [* gamma] [+ beta].
std::optional<LayerNormMatch> matchLayerNorm(Node* anchor) {
  if (!anchor || anchor->numOutputs() != 1) return std::nullopt;
  if (std::optional<LayerNormMatch> core = matchStandardize(anchor->output(0))) return core;
  auto scaled = [](Node* mul) -> std::optional<LayerNormMatch> {
    if (!isOp(mul, "Mul") || mul->numInputs() != 2) return std::nullopt;
    for (size_t side = 0; side < 2; ++side) {
      Value* gamma = mul->input(1 - side);
      if (!gamma || !isConstant(gamma) || onlyUser(mul->input(side)) != mul) continue;
      std::optional<LayerNormMatch> core = matchStandardize(mul->input(side));
      if (!core) continue;
      core->gamma = gamma;
      core->match.nodes.push_back(mul);
      return core;
    }
    return std::nullopt;
  };
  if (std::optional<LayerNormMatch> withGamma = scaled(anchor)) return withGamma;
  if (!isOp(anchor, "Add") || anchor->numInputs() != 2) return std::nullopt;
  for (size_t side = 0; side < 2; ++side) {
    Value* beta = anchor->input(1 - side);
    Value* y = anchor->input(side);
    if (!beta || !isConstant(beta) || !y || onlyUser(y) != anchor) continue;
    std::optional<LayerNormMatch> inner = scaled(y->producer());
    if (!inner) inner = matchStandardize(y);
    if (!inner) continue;
    inner->beta = beta;
    inner->match.nodes.push_back(anchor);
    return inner;
  }
  return std::nullopt;
}

// `dims`/`values` broadcast onto the normalized dims `target` (x's last k dims);
// nullopt when they would broadcast beyond them.
std::optional<std::vector<double>> expandToNormalized(const std::vector<int64_t>& dims,
                                                      const std::vector<double>& values,
                                                      const std::vector<int64_t>& target, int64_t rank) {
  if (static_cast<int64_t>(dims.size()) > rank) return std::nullopt;
  const size_t k = target.size();
  std::vector<int64_t> stride(k, 0);
  int64_t step = 1;
  for (size_t j = 0; j < dims.size(); ++j) {  // j counts axes from the right
    const int64_t d = dims[dims.size() - 1 - j];
    if (j >= k) {
      if (d != 1) return std::nullopt;
      continue;
    }
    if (d != 1 && d != target[k - 1 - j]) return std::nullopt;
    if (d != 1) stride[k - 1 - j] = step;
    step *= d;
  }
  const int64_t count = elementCount(target);
  std::vector<double> out(static_cast<size_t>(count));
  for (int64_t e = 0; e < count; ++e) {
    int64_t rest = e, source = 0;
    for (size_t i = k; i-- > 0;) {
      source += (rest % target[i]) * stride[i];
      rest /= target[i];
    }
    out[e] = values[source];
  }
  return out;
}

std::optional<Replacement> planLayerNorm(Node* anchor, const Model& model) {
  if (model.opsetVersion() < 17) return std::nullopt;
  std::optional<LayerNormMatch> ln = matchLayerNorm(anchor);
  if (!ln) return std::nullopt;
  Value* x = ln->match.x;
  const int64_t k = ln->axisCount;
  DataType dtype = DataType::Undefined;
  if (!shapesAndTypeFit(ln->match, anchor->output(0), true, &dtype) || !x->type().hasShape) return std::nullopt;
  const std::vector<Dim>& xDims = x->type().dims;
  const int64_t rank = static_cast<int64_t>(xDims.size());
  if (k > rank) return std::nullopt;
  std::vector<int64_t> normalized;
  for (int64_t i = rank - k; i < rank; ++i) {
    if (!xDims[i].isFixed()) return std::nullopt;
    normalized.push_back(xDims[i].value);
  }
  auto expanded = [&](const Value* v) -> std::optional<Tensor> {
    std::optional<Tensor> t = constantValue(v);
    std::optional<std::vector<double>> values = t ? doubleValues(*t) : std::nullopt;
    if (!values) return std::nullopt;
    std::optional<std::vector<double>> out = expandToNormalized(t->dims(), *values, normalized, rank);
    if (!out) return std::nullopt;
    return makeTensorFromDoubles(dtype, normalized, *out);
  };
  Replacement r;
  r.opType = "LayerNormalization";
  r.inputs = {x};
  std::optional<Tensor> scale = ln->gamma ? expanded(ln->gamma)
                                          : makeTensorFromDoubles(dtype, normalized,
                                                                  std::vector<double>(elementCount(normalized), 1.0));
  if (!scale) return std::nullopt;
  r.newConstants.emplace_back("_scale", std::move(*scale));
  if (ln->beta) {
    std::optional<Tensor> bias = expanded(ln->beta);
    if (!bias) return std::nullopt;
    r.newConstants.emplace_back("_bias", std::move(*bias));
  }
  r.attributes.push_back(Attribute::makeInt("axis", -k));
  r.attributes.push_back(Attribute::makeFloat("epsilon", static_cast<float>(ln->epsilon)));
  r.patternNodes = std::move(ln->match.nodes);
  return r;
}

}  // namespace

Status FusePatternsOptions::validate() const {
  for (const std::string& name : patterns) {
    if (std::find(kPatternNames.begin(), kPatternNames.end(), name) != kPatternNames.end()) continue;
    std::string known;
    for (std::string_view k : kPatternNames) known += (known.empty() ? "" : ", ") + std::string(k);
    return usageError("unknown pattern '{}' (known: {})", name, known);
  }
  return Status::ok();
}

Expected<PassResult> FusePatternsPass::run(Model& model, PassContext&) {
  RETURN_IF_ERROR(options_.validate());
  auto enabled = [&](std::string_view name) {
    return std::find(options_.patterns.begin(), options_.patterns.end(), name) != options_.patterns.end();
  };
  PassResult result;
  (void)inferShapes(model);  // ranks for axes and constants, normalized dims for LayerNormalization
  forEachFusionSweep(model, [&](Node* n) {
    if (enabled("layernorm")) {
      if (std::optional<Replacement> r = planLayerNorm(n, model)) {
        // A longer match ending at the next node (with gamma or beta) wins; it is visited later.
        Node* next = n->numOutputs() == 1 ? onlyUser(n->output(0)) : nullptr;
        if (next && planLayerNorm(next, model)) return false;
        if (apply(n, std::move(*r))) {
          result.bump("LayerNormalization fused");
          return true;
        }
      }
    }
    struct Rule {
      const char* pattern;
      std::optional<Replacement> (*plan)(Node*, const Model&);
      const char* statistic;
    };
    static constexpr Rule kRules[] = {
        {"gelu", planGelu, "Gelu fused"},
        {"hardswish", planHardSwish, "HardSwish fused"},
        {"hardsigmoid", planHardSigmoid, "HardSigmoid fused"},
    };
    for (const Rule& rule : kRules) {
      if (!enabled(rule.pattern)) continue;
      if (std::optional<Replacement> r = rule.plan(n, model); r && apply(n, std::move(*r))) {
        result.bump(rule.statistic);
        return true;
      }
    }
    return false;
  });
  return result;
}

}  // namespace onnxpress
