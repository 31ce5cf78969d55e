#include "onnxpress/passes/quantization/QOperatorConversion.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"

namespace onnxpress::quant {
namespace {


bool isAnyOf(const Node* n, std::initializer_list<std::string_view> ops) {
  for (std::string_view op : ops)
    if (isOp(n, op)) return true;
  return false;
}

/// Ops with a QOperator form; their output has a scale of its own.
bool hasQLinearForm(const Node* n) {
  return isAnyOf(n, {"Conv", "MatMul", "Gemm", "Add", "Mul", "AveragePool", "GlobalAveragePool"});
}

/// Ops that only move or select values: with the same scale and zero point on both
/// sides they compute the same codes on the integer tensor.
bool isPassThrough(const Node* n) {
  return isAnyOf(n, {"MaxPool", "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze"});
}

bool anyInputDequantized(const Node& n) {
  for (Value* in : n.inputs())
    if (producerOp(in, "DequantizeLinear")) return true;
  return false;
}

/// Whether anything besides output 0 is read (MaxPool's Indices, for one).
bool extraOutputsRead(const Node& n) {
  for (size_t i = 1; i < n.numOutputs(); ++i)
    if (n.output(i) && n.output(i)->hasUses()) return true;
  return false;
}

/// `floatType` with element type `dtype` (a tensor of unknown rank when it was untyped).
Type retyped(const Type& floatType, DataType dtype) {
  Type t = floatType;
  if (!t.isTensor()) {
    t = Type();
    t.kind = Type::Kind::Tensor;
  }
  t.elemType = dtype;
  return t;
}

std::optional<std::vector<float>> constantFloats(const Value* v) {
  std::optional<Tensor> t = v ? constantValue(v) : std::nullopt;
  return t ? floatValues(*t) : std::nullopt;
}

/// Two scalar parameters holding the same value (the same Value, or equal constants).
bool sameScalar(const Value* a, const Value* b) {
  if (a == b) return true;
  std::optional<ScalarConstant> x = scalarConstant(a), y = scalarConstant(b);
  return x && y && x->dtype == y->dtype && x->value == y->value;
}

/// The scale and zero point a QuantizeLinear or DequantizeLinear applies.
struct QParams {
  Value* scale = nullptr;
  Value* zeroPoint = nullptr;
  DataType dtype = DataType::Undefined;  // of the codes: uint8 or int8
  int64_t count = 1;                      // scales: 1 per tensor, else one per index of `axis`
  int64_t axis = -1;                      // normalized, when count > 1
};

bool sameParams(const QParams& a, const QParams& b) {
  return a.count == 1 && b.count == 1 && a.dtype == b.dtype && sameScalar(a.scale, b.scale) &&
         sameScalar(a.zeroPoint, b.zeroPoint);
}

/// A float input of a node computed as DequantizeLinear(codes, params).
struct Dequantized {
  Node* dq = nullptr;
  Value* codes = nullptr;
  QParams params;
};

/// A constant bias read as float, with the int32 codes and per-element scales of its
/// DequantizeLinear when it has one.
struct BiasConstant {
  std::vector<int64_t> dims;
  std::vector<double> values;
  Value* codes = nullptr;            // the DQ's int32 input with zero point 0, else null
  std::vector<double> codeScales;    // per element, with `codes`
};

class QOperatorWriter {
 public:
  QOperatorWriter(int64_t opset, PassResult& result) : opset_(opset), result_(result) {}

  void run(Graph& graph) {
    Expected<std::vector<Node*>> order = graph.topologicalOrder();
    if (!order) {
      result_.bump("skipped graph: not acyclic");
      return;
    }
    // Each rewrite destroys its anchor and the anchor's ancestors only, which the walk
    // has passed: the snapshot stays valid (see FusionUtil.h).
    for (Node* n : *order) {
      if (isOp(n, "QuantizeLinear")) visitQuantize(n);
      else if (hasQLinearForm(n) && !isOp(onlyUser(n->output(0)), "QuantizeLinear")) visitFloatOutput(n);
    }
  }

  bool wroteMicrosoftOps() const { return microsoft_; }

 private:
  // ---- anchors -------------------------------------------------------------------------

  /// `q` closes a pattern: DQ → producer → q.
  void visitQuantize(Node* q) {
    Value* y = q->input(0);
    Node* n = y ? y->producer() : nullptr;
    if (!n || n->graph() != q->graph()) return;
    if (isOp(n, "DequantizeLinear")) {
      removeRequantization(n, q);
      return;
    }
    // Not a pattern: a float op whose output gets quantized, or an output read by more
    // than the Q (hasQLinearForm ops are reported by visitFloatOutput).
    if (onlyUser(y) != q || !anyInputDequantized(*n)) return;
    const std::string op = n->opType();
    bool converted = false;
    if (extraOutputsRead(*n)) fail("more than one output is read");
    else if (isPassThrough(n)) converted = passThrough(n, q);
    else if (isOp(n, "Conv")) converted = convertConv(n, q);
    else if (isOp(n, "MatMul")) converted = convertMatMul(n, q);
    else if (isOp(n, "Gemm")) converted = convertGemm(n, q);
    else if (isOp(n, "Add")) converted = convertBinary(n, q, "QLinearAdd");
    else if (isOp(n, "Mul")) converted = convertBinary(n, q, "QLinearMul");
    else if (isOp(n, "AveragePool")) converted = convertPool(n, q, false);
    else if (isOp(n, "GlobalAveragePool")) converted = convertPool(n, q, true);
    else fail("no QOperator form");
    if (!converted) result_.bump("skipped " + op + ": " + why_);
  }

  /// `n` reads dequantized inputs but its output is not (only) quantized.
  void visitFloatOutput(Node* n) {
    if (!anyInputDequantized(*n)) return;
    const std::string op = n->opType();
    if (isOp(n, "Gemm")) {
      if (!convertGemm(n, nullptr)) result_.bump("skipped " + op + ": " + why_);
      return;
    }
    result_.bump("skipped " + op + ": output not quantized");
  }

  // ---- matching (failures leave the reason in why_) --------------------------------------

  bool fail(std::string why) {
    why_ = std::move(why);
    return false;
  }
  std::nullopt_t reject(std::string why) {
    fail(std::move(why));
    return std::nullopt;
  }

  /// What `qdq` (a Q or DQ node) applies to `data`, the tensor whose rank the axis refers to.
  std::optional<QParams> readParams(const Node& qdq, const Value* data) {
    if (qdq.intAttr("block_size", 0) > 0) return reject("blocked quantization");
    QParams p;
    p.scale = qdq.input(1);
    p.zeroPoint = qdq.input(2);
    if (!p.scale || !p.zeroPoint) return reject("no zero point");
    if (elementType(p.scale) != DataType::Float) return reject("scale is not float32");
    p.dtype = elementType(p.zeroPoint);
    if (p.dtype != DataType::UInt8 && p.dtype != DataType::Int8)
      return reject(fmt::format("{} codes", dataTypeName(p.dtype)));
    std::optional<std::vector<int64_t>> dims = constantDims(p.scale);
    if (!dims) dims = staticShape(p.scale);
    if (!dims) return reject("scale of unknown shape");
    p.count = elementCount(*dims);
    if (p.count == 1) return p;
    std::optional<int64_t> rank = knownRank(data);
    if (dims->size() != 1 || !rank) return reject("per-axis scale on a tensor of unknown rank");
    p.axis = qdq.intAttr("axis", 1);
    if (p.axis < 0) p.axis += *rank;
    if (p.axis < 0 || p.axis >= *rank) return reject("quantization axis out of range");
    return p;
  }

  std::optional<Dequantized> dequantized(const Node& node, size_t index) {
    Node* dq = producerOp(node.input(index), "DequantizeLinear");
    if (!dq) return reject(fmt::format("input {} is not dequantized", index));
    if (dq->graph() != node.graph()) return reject(fmt::format("input {} is dequantized in an enclosing graph", index));
    std::optional<QParams> p = readParams(*dq, dq->input(0));
    if (!p) return std::nullopt;
    return Dequantized{dq, dq->input(0), *p};
  }

  /// An activation input: dequantized with one scale.
  std::optional<Dequantized> activation(const Node& node, size_t index) {
    std::optional<Dequantized> d = dequantized(node, index);
    if (d && d->params.count != 1) return reject(fmt::format("input {} has a per-axis scale", index));
    return d;
  }

  /// A weight input: dequantized per tensor or along `axis` (of a `rank`-D tensor when given).
  std::optional<Dequantized> weight(const Node& node, size_t index, int64_t axis, std::optional<int64_t> rank,
                                    const char* layout) {
    std::optional<Dequantized> d = dequantized(node, index);
    if (!d || d->params.count == 1) return d;
    if (d->params.axis != axis || (rank && knownRank(d->codes) != rank))
      return reject(fmt::format("weight scale is not {}", layout));
    return d;
  }

  /// The per-tensor parameters of the QuantizeLinear `q` that quantizes a node's output.
  std::optional<QParams> outputParams(const Node& q) {
    std::optional<QParams> p = readParams(q, q.input(0));
    if (p && p->count != 1) return reject("output has a per-axis scale");
    return p;
  }

  // ---- biases --------------------------------------------------------------------------

  std::optional<BiasConstant> readBias(const Value* bias) {
    BiasConstant b;
    if (Node* dq = producerOp(bias, "DequantizeLinear")) {
      std::optional<Tensor> codes = constantValue(dq->input(0));
      std::optional<std::vector<int64_t>> ints = codes ? intValues(*codes) : std::nullopt;
      std::optional<std::vector<float>> scales = constantFloats(dq->input(1));
      if (!ints || !scales || scales->empty() || dq->intAttr("block_size", 0) > 0)
        return reject("bias is not a constant");
      std::vector<int64_t> zeroPoints(scales->size(), 0);
      if (dq->input(2)) {
        std::optional<Tensor> z = constantValue(dq->input(2));
        std::optional<std::vector<int64_t>> zi = z ? intValues(*z) : std::nullopt;
        if (!zi || zi->size() != scales->size()) return reject("bias zero point is not a constant");
        zeroPoints = std::move(*zi);
      }
      b.dims = codes->dims();
      const int64_t rank = static_cast<int64_t>(b.dims.size());
      int64_t inner = 1, axisSize = 1;
      if (scales->size() > 1) {
        int64_t axis = dq->intAttr("axis", 1);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank || b.dims[axis] != static_cast<int64_t>(scales->size()))
          return reject("bias scale does not match its shape");
        for (int64_t d = axis + 1; d < rank; ++d) inner *= b.dims[d];
        axisSize = b.dims[axis];
      }
      bool zeroPointsZero = true;
      for (size_t e = 0; e < ints->size(); ++e) {
        const size_t k = scales->size() == 1 ? 0 : static_cast<size_t>((static_cast<int64_t>(e) / inner) % axisSize);
        b.values.push_back(static_cast<double>((*ints)[e] - zeroPoints[k]) * (*scales)[k]);
        b.codeScales.push_back((*scales)[k]);
        zeroPointsZero = zeroPointsZero && zeroPoints[k] == 0;
      }
      if (codes->dtype() == DataType::Int32 && zeroPointsZero) b.codes = dq->input(0);
      return b;
    }
    std::optional<Tensor> t = bias ? constantValue(bias) : std::nullopt;
    std::optional<std::vector<double>> values = t ? doubleValues(*t) : std::nullopt;
    if (!values) return reject("bias is not a constant");
    b.dims = t->dims();
    b.values = std::move(*values);
    return b;
  }

  /// int32 codes for input `index` of `node` (a constant bias, dequantized or float) whose
  /// element e is at scale columnScales[e % N] (N = columnScales.size() > 1: the last dim
  /// must be N) or columnScales[0]. Reuses the DQ's codes when they already are at that scale.
  Value* quantizedBias(Node& node, size_t index, const std::vector<double>& columnScales) {
    std::optional<BiasConstant> b = readBias(node.input(index));
    if (!b) return nullptr;
    const int64_t columns = static_cast<int64_t>(columnScales.size());
    if (columns > 1 && (b->dims.empty() || b->dims.back() != columns)) {
      fail("bias does not have one value per output channel");
      return nullptr;
    }
    auto target = [&](size_t e) { return columnScales[columns == 1 ? 0 : static_cast<int64_t>(e) % columns]; };
    bool reusable = b->codes != nullptr;
    for (size_t e = 0; reusable && e < b->values.size(); ++e)
      reusable = std::abs(b->codeScales[e] - target(e)) <= 1e-6 * std::abs(target(e));
    if (reusable) return b->codes;

    constexpr double lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
    std::vector<int32_t> codes(b->values.size());
    for (size_t e = 0; e < codes.size(); ++e) {
      const double s = target(e);
      const double q = s > 0 ? std::nearbyint(b->values[e] / s) : 0.0;
      codes[e] = static_cast<int32_t>(std::isnan(q) ? 0.0 : std::min(hi, std::max(lo, q)));
    }
    const std::string base = (node.input(index)->name().empty() ? node.name() + "_bias" : node.input(index)->name());
    result_.bump("biases requantized");
    return addInitializer(*node.graph(), base + "_quantized", Tensor::fromValues(DataType::Int32, b->dims, codes));
  }

  /// Scales x_scale * w_scale[c] (times `factor`) in float, as the integer kernels multiply them.
  std::optional<std::vector<double>> productScales(const QParams& x, const QParams& w, double factor) {
    std::optional<std::vector<float>> xs = constantFloats(x.scale), ws = constantFloats(w.scale);
    if (!xs || !ws || xs->size() != 1) return reject("scales are not constants");
    std::vector<double> out;
    for (float s : *ws) out.push_back(factor * static_cast<double>((*xs)[0] * s));
    return out;
  }

  // ---- rewrites ------------------------------------------------------------------------

  /// Replaces `original` by a new `opType` node computing what `anchor` (the Q after it)
  /// outputs, or `original`'s own output when anchor is null. The new node takes the
  /// original's name and the listed attributes; nodes left unread are removed.
  Node* emit(Node* original, Node* anchor, const std::string& opType, const std::string& domain,
             const std::vector<Value*>& inputs, DataType outType, const std::vector<std::string>& attributes) {
    Graph& g = *original->graph();
    Node* node = g.createNode(opType, inputs, 1, anchor ? anchor : original, domain);
    node->setName(original->name());
    for (const std::string& name : attributes)
      if (const Attribute* a = original->attribute(name)) node->setAttribute(a->clone(&g));
    node->output(0)->setType(retyped(original->output(0)->type(), outType));
    // Without an anchor the replacement itself destroys `original` (its constants stay
    // behind and are released here).
    const std::vector<Value*> originalInputs = original->inputs();
    std::vector<Node*> dead;
    if (anchor) dead.push_back(original);
    for (Value* in : originalInputs)
      if (Node* dq = producerOp(in, "DequantizeLinear")) dead.push_back(dq);
    if (!replaceKeepingInterface(anchor ? anchor->output(0) : original->output(0), node->output(0))) {
      g.destroyNode(node);
      releaseIfUnused(inputs);  // a requantized bias
      fail("its output cannot be replaced");
      return nullptr;
    }
    if (!anchor) releaseIfUnused(originalInputs);
    eraseIfDead(dead);
    microsoft_ = microsoft_ || !domain.empty();
    result_.bump(opType + " written");
    return node;
  }

  bool convertConv(Node* conv, Node* q) {
    if (opset_ < 10) return fail("QLinearConv needs opset >= 10");
    std::optional<Dequantized> x = activation(*conv, 0);
    std::optional<Dequantized> w = x ? weight(*conv, 1, 0, std::nullopt, "per output channel") : std::nullopt;
    std::optional<QParams> y = w ? outputParams(*q) : std::nullopt;
    if (!y) return false;
    std::vector<Value*> inputs{x->codes, x->params.scale, x->params.zeroPoint, w->codes, w->params.scale,
                               w->params.zeroPoint, y->scale, y->zeroPoint};
    if (conv->input(2)) {
      std::optional<std::vector<double>> scales = productScales(x->params, w->params, 1.0);
      Value* bias = scales ? quantizedBias(*conv, 2, *scales) : nullptr;
      if (!bias) return false;
      inputs.push_back(bias);
    }
    return emit(conv, q, "QLinearConv", "", inputs, y->dtype,
                {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}) != nullptr;
  }

  bool convertMatMul(Node* matmul, Node* q) {
    if (opset_ < 10) return fail("QLinearMatMul needs opset >= 10");
    // Per column of a 2-D B only: what QLinearMatMul's b_scale (and ONNX Runtime) accept.
    std::optional<Dequantized> a = activation(*matmul, 0);
    std::optional<Dequantized> b = a ? weight(*matmul, 1, 1, 2, "per column of a 2-D weight") : std::nullopt;
    std::optional<QParams> y = b ? outputParams(*q) : std::nullopt;
    if (!y) return false;
    return emit(matmul, q, "QLinearMatMul", "",
                {a->codes, a->params.scale, a->params.zeroPoint, b->codes, b->params.scale, b->params.zeroPoint,
                 y->scale, y->zeroPoint},
                y->dtype, {}) != nullptr;
  }

  /// QGemm; `q` null writes the float-output form (no y_scale, y_zero_point).
  bool convertGemm(Node* gemm, Node* q) {
    const bool transB = gemm->intAttr("transB", 0) != 0;
    std::optional<Dequantized> a = activation(*gemm, 0);
    std::optional<Dequantized> b = a ? weight(*gemm, 1, transB ? 0 : 1, 2, "per output column") : std::nullopt;
    if (!b) return false;
    std::optional<QParams> y;
    if (q && !(y = outputParams(*q))) return false;
    const double alpha = gemm->floatAttr("alpha", 1.0f), beta = gemm->floatAttr("beta", 1.0f);
    Value* c = nullptr;
    if (gemm->input(2) && beta != 0.0) {
      if (alpha == 0.0) return fail("alpha is 0");
      // QGemm: y = alpha * a_s * b_s[n] * (A·B + C_q), so C_q = beta * C / (alpha * a_s * b_s[n]).
      std::optional<std::vector<double>> scales = productScales(a->params, b->params, alpha / beta);
      c = scales ? quantizedBias(*gemm, 2, *scales) : nullptr;
      if (!c) return false;
    }
    std::vector<Value*> inputs{a->codes, a->params.scale, a->params.zeroPoint, b->codes, b->params.scale,
                               b->params.zeroPoint, c};
    if (y) {
      inputs.push_back(y->scale);
      inputs.push_back(y->zeroPoint);
    } else if (!c) {
      inputs.pop_back();
    }
    return emit(gemm, q, "QGemm", kMicrosoftDomain, inputs, y ? y->dtype : DataType::Float,
                {"alpha", "transA", "transB"}) != nullptr;
  }

  bool convertBinary(Node* n, Node* q, const char* opType) {
    std::optional<Dequantized> a = activation(*n, 0);
    std::optional<Dequantized> b = a ? activation(*n, 1) : std::nullopt;
    std::optional<QParams> y = b ? outputParams(*q) : std::nullopt;
    if (!y) return false;
    if (a->params.dtype != y->dtype || b->params.dtype != y->dtype) return fail("inputs and output differ in 8-bit type");
    return emit(n, q, opType, kMicrosoftDomain,
                {a->codes, a->params.scale, a->params.zeroPoint, b->codes, b->params.scale, b->params.zeroPoint,
                 y->scale, y->zeroPoint},
                y->dtype, {}) != nullptr;
  }

  bool convertPool(Node* pool, Node* q, bool global) {
    std::optional<Dequantized> x = activation(*pool, 0);
    std::optional<QParams> y = x ? outputParams(*q) : std::nullopt;
    if (!y) return false;
    if (x->params.dtype != y->dtype) return fail("input and output differ in 8-bit type");
    for (int64_t d : pool->intsAttr("dilations"))
      if (d != 1) return fail("dilations other than 1");
    const std::vector<std::string> attributes =
        global ? std::vector<std::string>{}
               : std::vector<std::string>{"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"};
    Node* node = emit(pool, q, global ? "QLinearGlobalAveragePool" : "QLinearAveragePool", kMicrosoftDomain,
                      {x->codes, x->params.scale, x->params.zeroPoint, y->scale, y->zeroPoint}, y->dtype, attributes);
    if (node) node->setAttribute(Attribute::makeInt("channels_last", 0));
    return node != nullptr;
  }

  /// DQ → n → q with the same parameters on both sides: n reads the codes.
  bool passThrough(Node* n, Node* q) {
    if (isOp(n, "MaxPool") && opset_ < 12) return fail("8-bit MaxPool needs opset >= 12");
    if (isOp(n, "Flatten") && opset_ < 9) return fail("8-bit Flatten needs opset >= 9");
    std::optional<Dequantized> x = activation(*n, 0);
    std::optional<QParams> y = x ? outputParams(*q) : std::nullopt;
    if (!y) return false;
    if (!sameParams(x->params, *y)) return fail("scale or zero point differs across it");
    Value* out = n->output(0);
    const Type floatType = out->type();
    n->setInput(0, x->codes);
    out->setType(retyped(floatType, y->dtype));
    if (!replaceKeepingInterface(q->output(0), out)) {
      n->setInput(0, x->dq->output(0));
      out->setType(floatType);
      return fail("its output cannot be replaced");
    }
    eraseIfDead({x->dq});
    result_.bump(n->opType() + " on integers");
    return true;
  }

  /// An integer tensor dequantized and quantized again with the same parameters is read
  /// directly. Other DQ → Q pairs (a real change of scale) stay.
  void removeRequantization(Node* dq, Node* q) {
    std::optional<QParams> in = readParams(*dq, dq->input(0));
    std::optional<QParams> out = in ? readParams(*q, q->input(0)) : std::nullopt;
    if (!out || !sameParams(*in, *out)) return;
    if (!replaceKeepingInterface(q->output(0), dq->input(0))) return;
    eraseIfDead({dq});
    result_.bump("Q/DQ pairs removed");
  }

  int64_t opset_;
  PassResult& result_;
  std::string why_;
  bool microsoft_ = false;
};

}  // namespace

Status convertToQOperator(Model& model, PassResult& result) {
  QOperatorWriter writer(defaultOpset(model), result);
  model.graph().forEachGraph([&](Graph& g) { writer.run(g); });
  if (writer.wroteMicrosoftOps() && model.opsetVersion(kMicrosoftDomain) == 0)
    model.opsetImports.push_back({kMicrosoftDomain, 1});
  return Status::ok();
}

}  // namespace onnxpress::quant
