#include "onnxpress/passes/quantization/DynamicQuantization.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/quantization/OpsetUpgrade.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"

namespace onnxpress::quant {
namespace {


// How a float weight is stored once quantized; it fixes the scale axis and the shapes.
enum class WeightLayout {
  MatMul,            // B [K, N] as read; per channel: one scale per column
  TransposedMatMul,  // Gemm's B [N, K] (transB = 1) stored as [K, N]
  Conv,              // W [M, C/group, k...]; per channel: one scale per M, scale shaped [1, M, 1, ...]
  Lstm,              // [D, 4H, K] stored as [D, K, 4H]; scale [D], per channel [D, 4H]
};

// A weight as MatMulInteger, ConvInteger and DynamicQuantizeLSTM read it.
struct IntegerWeight {
  Value* codes = nullptr;
  Value* scale = nullptr;
  Value* zeroPoint = nullptr;
};

// The outputs of the DynamicQuantizeLinear of one tensor.
struct DynamicInput {
  Value* codes = nullptr;
  Value* scale = nullptr;
  Value* zeroPoint = nullptr;
};

// Why a node stays in float (the statistic is "skipped: <reason>").
struct Skip {
  std::string reason;
};

// MatMul or Gemm seen as x times a constant [K, N], plus Gemm's C.
struct MatMulForm {
  Value* x = nullptr;
  Value* weight = nullptr;  // the float constant
  WeightLayout layout = WeightLayout::MatMul;
  std::vector<float> values;  // [K, N], row-major
  std::vector<int64_t> dims;
  Value* bias = nullptr;
};

struct ConvForm {
  Value* x = nullptr;
  FloatConstant weight;
  std::optional<FloatConstant> bias;
};

struct LstmForm {
  FloatConstant w, r;
};

// ---- matching ------------------------------------------------------------------------------

std::variant<MatMulForm, Skip> matchMatMul(const Node& n) {
  if (!n.input(0) || !n.input(1)) return Skip{"MatMul with a missing input"};
  std::optional<FloatConstant> b = floatConstantInput(n, 1);
  if (!b)
    return Skip{isConstant(n.input(0)) ? "MatMul with a constant input 0" : "MatMul without a constant float weight"};
  if (b->dims.size() != 2) return Skip{"MatMul weight of rank other than 2"};
  if (b->values.empty()) return Skip{"MatMul with an empty weight"};
  return MatMulForm{n.input(0), b->value, WeightLayout::MatMul, std::move(b->values), b->dims, nullptr};
}

std::variant<MatMulForm, Skip> matchGemm(const Node& n) {
  if (!n.input(0) || !n.input(1)) return Skip{"Gemm with a missing input"};
  if (n.intAttr("transA", 0) != 0 || n.floatAttr("alpha", 1.0f) != 1.0f ||
      (n.input(2) && n.floatAttr("beta", 1.0f) != 1.0f))
    return Skip{"Gemm with transA, alpha != 1 or beta != 1"};
  std::optional<FloatConstant> b = floatConstantInput(n, 1);
  if (!b) return Skip{"Gemm without a constant float B"};
  if (b->dims.size() != 2) return Skip{"Gemm B of rank other than 2"};
  if (b->values.empty()) return Skip{"Gemm with an empty B"};
  MatMulForm form{n.input(0), b->value, WeightLayout::MatMul, std::move(b->values), b->dims, n.input(2)};
  if (n.intAttr("transB", 0) != 0) {  // [N, K] -> [K, N]
    const int64_t rows = b->dims[0], cols = b->dims[1];
    std::vector<float> transposed(form.values.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) transposed[c * rows + r] = form.values[r * cols + c];
    form.values = std::move(transposed);
    form.dims = {cols, rows};
    form.layout = WeightLayout::TransposedMatMul;
  }
  return form;
}

std::variant<ConvForm, Skip> matchConv(const Node& n) {
  std::optional<FloatConstant> w = floatConstantInput(n, 1);
  if (!n.input(0) || !w) return Skip{"Conv without a constant float weight"};
  if (w->dims.size() < 3) return Skip{"Conv weight of rank < 3"};
  if (w->values.empty()) return Skip{"Conv with an empty weight"};
  if (isSignalFilterBank(n, w->dims)) return Skip{"Conv signal filter bank (1 input channel, >= 32 taps)"};
  ConvForm form{n.input(0), std::move(*w), std::nullopt};
  if (n.input(2)) {
    form.bias = floatConstantInput(n, 2);
    if (!form.bias || static_cast<int64_t>(form.bias->values.size()) != form.weight.dims[0])
      return Skip{"Conv with a non-constant bias"};
  }
  return form;
}

std::variant<LstmForm, Skip> matchLstm(const Node& n) {
  if (n.intAttr("layout", 0) != 0) return Skip{"LSTM with layout = 1"};  // DynamicQuantizeLSTM has no layout
  if (n.numInputs() > 8 || !n.input(0)) return Skip{"LSTM with unexpected inputs"};
  std::optional<FloatConstant> w = floatConstantInput(n, 1), r = floatConstantInput(n, 2);
  if (!w || !r) return Skip{"LSTM without constant float W and R"};
  const auto& wd = w->dims;
  const auto& rd = r->dims;
  if (wd.size() != 3 || rd.size() != 3 || wd[0] != rd[0] || wd[1] != rd[1] || rd[2] <= 0 || rd[1] != 4 * rd[2] ||
      wd[2] <= 0 || (n.intAttr("hidden_size", rd[2]) != rd[2]))
    return Skip{"LSTM with unexpected W/R shapes"};
  return LstmForm{std::move(*w), std::move(*r)};
}

// A readable stem for new node and value names.
std::string stem(const Node& n) { return n.name().empty() ? n.output(0)->name() : n.name(); }

Value* named(Value* v, const std::string& base) {
  Graph& g = *v->graph();
  (void)g.rename(v, g.uniqueName(base));
  return v;
}

// ---- rewriting -----------------------------------------------------------------------------

class DynamicQuantizer {
 public:
  DynamicQuantizer(const QuantizeOptions& options, QuantType type, int64_t opset, QuantizationResult& result)
      : options_(options), type_(type), symmetric_(type.isSigned() || options.symmetric), opset_(opset),
        result_(result), weightOnly_(result) {}

  Status quantizeGraph(Graph& g, const Scope& scope) {
    for (Node* n : g.nodeList()) {
      if (!scope.contains(*n)) continue;
      const std::string op = n->opType();  // n may be destroyed below
      ASSIGN_OR_RETURN(std::optional<Skip> skipped, quantizeNode(n));
      if (skipped) {
        result_.bump("skipped: " + skipped->reason);
      } else {
        result_.bump(op);
        ++quantizedNodes_;
      }
    }
    return Status::ok();
  }

  void finish(Model& model) {
    // By name: the weight quantizer (GRU) may already have destroyed some of them.
    std::vector<Value*> floatConstants;
    for (const auto& [graph, name] : floatConstants_)
      if (Value* v = graph->findValue(name)) floatConstants.push_back(v);
    releaseIfUnused(floatConstants);
    if (usesMicrosoftDomain_ && model.opsetVersion(kMicrosoftDomain) == 0)
      model.opsetImports.push_back({kMicrosoftDomain, 1});
    result_.changed = quantizedNodes_ > 0;  // skip statistics alone are no change
  }

 private:
  Expected<std::optional<Skip>> quantizeNode(Node* n) {
    const std::string& op = n->opType();
    if (op == "MatMul") return rewriteMatMulForm(n, matchMatMul(*n));
    if (op == "Gemm") return rewriteMatMulForm(n, matchGemm(*n));
    if (op == "Conv") {
      auto form = matchConv(*n);
      if (auto* skip = std::get_if<Skip>(&form)) return std::optional<Skip>(*skip);
      if (tiny(std::get<ConvForm>(form).weight.values.size())) return std::optional<Skip>(Skip{"Conv with a tiny weight"});
      RETURN_IF_ERROR(rewriteConv(n, std::get<ConvForm>(form)));
      return std::optional<Skip>();
    }
    if (op == "LSTM") {
      auto form = matchLstm(*n);
      if (auto* skip = std::get_if<Skip>(&form)) return std::optional<Skip>(*skip);
      rewriteLstm(n, std::get<LstmForm>(form));
      return std::optional<Skip>();
    }
    if (op == "GRU") return quantizeGruWeights(n);
    if (op == "Gather") {
      if (!quantizeEmbeddingTable(*n, weightOnly_, type_, symmetric_, options_.perChannel && opset_ >= 13))
        return std::optional<Skip>(Skip{"Gather of a table that is not a float32 constant"});
      return std::optional<Skip>();
    }
    return std::optional<Skip>(Skip{op + " (not supported in dynamic mode)"});
  }

  bool tiny(size_t weights) const { return static_cast<int64_t>(weights) < options_.minWeights; }

  Expected<std::optional<Skip>> rewriteMatMulForm(Node* n, std::variant<MatMulForm, Skip> form) {
    if (auto* skip = std::get_if<Skip>(&form)) return std::optional<Skip>(*skip);
    if (tiny(std::get<MatMulForm>(form).values.size()))
      return std::optional<Skip>(Skip{n->opType() + " with a tiny weight (see min-weights)"});
    RETURN_IF_ERROR(rewriteMatMul(n, std::get<MatMulForm>(form)));
    return std::optional<Skip>();
  }

  // x -> DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(x_scale * B_scale) [-> Add(C)].
  Status rewriteMatMul(Node* node, const MatMulForm& f) {
    IntegerWeight w = integerWeight(f.weight, f.layout, f.values, f.dims);
    DynamicInput in = dynamicInput(f.x, node);
    Node* product = addNode(node, "MatMulInteger", {in.codes, w.codes, in.zeroPoint, w.zeroPoint}, "_quant");
    Value* y = rescale(node, product->output(), in, w.scale);
    if (f.bias) y = addNode(node, "Add", {y, f.bias}, "_quant_bias")->output();
    return takeOver(node, y);
  }

  // x -> DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul(x_scale * W_scale') [-> Add(b')].
  // ONNX allows int8 ConvInteger weights, but ONNX Runtime's CPU ConvInteger registers
  // uint8 x uint8 only (and a scalar w_zero_point): weights follow weight-type here, so
  // ORT deployments of Conv want weight-type=uint8 (symmetric=1 when per-channel).
  Status rewriteConv(Node* node, const ConvForm& f) {
    IntegerWeight w = integerWeight(f.weight.value, WeightLayout::Conv, f.weight.values, f.weight.dims);
    DynamicInput in = dynamicInput(f.x, node);
    Graph& g = *node->graph();
    Node* conv = addNode(node, "ConvInteger", {in.codes, w.codes, in.zeroPoint, w.zeroPoint}, "_quant");
    for (const Attribute& a : node->attributes()) conv->setAttribute(a.clone(&g));  // the same attribute set
    Value* y = rescale(node, conv->output(), in, w.scale);
    if (f.bias) {
      Value* bias = addInitializer(g, f.bias->value->name() + "_reshaped",
                                   makeFloatTensor(DataType::Float, channelShape(f.weight.dims), f.bias->values));
      y = addNode(node, "Add", {y, bias}, "_quant_bias")->output();
      releaseLater(f.bias->value);
    }
    return takeOver(node, y);
  }

  // LSTM -> com.microsoft DynamicQuantizeLSTM in place: same attributes (minus layout = 0),
  // same outputs; W and R replaced by codes, their scales and zero points appended.
  void rewriteLstm(Node* node, const LstmForm& f) {
    IntegerWeight w = integerWeight(f.w.value, WeightLayout::Lstm, f.w.values, f.w.dims);
    IntegerWeight r = integerWeight(f.r.value, WeightLayout::Lstm, f.r.values, f.r.dims);
    node->setOpType("DynamicQuantizeLSTM");
    node->setDomain(kMicrosoftDomain);
    node->removeAttribute("layout");
    // ORT's LSTM kernels require hidden_size, which ONNX lets R's shape imply.
    if (!node->attribute("hidden_size")) node->setAttribute(Attribute::makeInt("hidden_size", f.r.dims[2]));
    if (!node->name().empty()) node->setName(node->name() + "_quant");
    node->setInput(1, w.codes);
    node->setInput(2, r.codes);
    while (node->numInputs() < 8) node->addInput(nullptr);
    for (Value* v : {w.scale, w.zeroPoint, r.scale, r.zeroPoint}) node->addInput(v);
    usesMicrosoftDomain_ = true;
  }

  // GRU: W and R behind DequantizeLinear (weight-only; ONNX Runtime has no quantized GRU).
  std::optional<Skip> quantizeGruWeights(Node* node) {
    const int64_t axis = options_.perChannel && opset_ >= 13 ? 1 : -1;  // per-axis DequantizeLinear: opset 13
    int64_t quantized = 0;
    for (size_t index : {size_t{1}, size_t{2}})
      if (weightOnly_.quantizeInput(*node, index, type_, symmetric_, axis, 0)) ++quantized;
    if (quantized == 0) return Skip{"GRU without constant float W or R"};
    result_.bump("GRU weights (weight-only)", quantized);
    return std::nullopt;
  }

  // ---- shared pieces ---------------------------------------------------------------------

  // A float constant this pass stops reading: dropped at the end once nothing reads it.
  void releaseLater(Value* v) { floatConstants_.emplace_back(v->graph(), v->name()); }

  // [1, M, 1, ...] for a Conv weight [M, C/group, k...]: per-channel values against the output.
  static std::vector<int64_t> channelShape(const std::vector<int64_t>& weightDims) {
    std::vector<int64_t> shape(weightDims.size(), 1);
    shape[1] = weightDims[0];
    return shape;
  }

  // The quantized initializers of `source` in `layout`, made once per (weight, layout).
  IntegerWeight integerWeight(Value* source, WeightLayout layout, std::span<const float> values,
                              const std::vector<int64_t>& dims) {
    const auto key = std::make_pair(static_cast<const Value*>(source), layout);
    releaseLater(source);
    if (auto hit = weights_.find(key); hit != weights_.end()) return hit->second;

    const bool perChannel = options_.perChannel;
    int64_t axis = -1;  // the scale axis reported, in the float weight's own layout
    QuantizedWeight q;
    Tensor codes, scale, zeroPoint;
    switch (layout) {
      case WeightLayout::MatMul:
      case WeightLayout::TransposedMatMul:
        q = quantizeWeight(values, dims, type_, symmetric_, perChannel ? 1 : -1, 0);
        // Columns of the stored [K, N] are rows of a transposed Gemm B [N, K].
        axis = !perChannel ? -1 : layout == WeightLayout::TransposedMatMul ? 0 : 1;
        codes = std::move(q.values);
        scale = std::move(q.scale);
        zeroPoint = std::move(q.zeroPoint);
        break;
      case WeightLayout::Conv:
        axis = perChannel ? 0 : -1;
        q = quantizeWeight(values, dims, type_, symmetric_, axis, 0);
        codes = std::move(q.values);
        scale = perChannel ? makeFloatTensor(DataType::Float, channelShape(dims), q.scales) : std::move(q.scale);
        // ONNX Runtime's CPU ConvInteger takes a scalar w_zero_point only; the scales live in
        // the float Mul, so equal zero points (always, for symmetric types) collapse to one.
        if (std::adjacent_find(q.zeroPoints.begin(), q.zeroPoints.end(), std::not_equal_to<>()) == q.zeroPoints.end())
          zeroPoint = packCodes(std::span<const int32_t>(q.zeroPoints).first(1), type_.dtype, {});
        else
          zeroPoint = std::move(q.zeroPoint);  // [M]: valid ONNX, which ORT's ConvInteger rejects
        break;
      case WeightLayout::Lstm: {
        const int64_t D = dims[0], G = dims[1], K = dims[2];
        // One scale per direction, or per gate row of each direction, over the float [D, G, K].
        axis = perChannel ? 1 : 0;
        const std::vector<int64_t> groups =
            perChannel ? std::vector<int64_t>{D * G, K} : std::vector<int64_t>{D, G * K};
        // ORT's kernel wants one zero point for all gate rows (0 when signed): per-channel
        // uint8 is therefore symmetric (zero point 128) whatever `symmetric` says.
        q = quantizeWeight(values, groups, type_, symmetric_ || perChannel, 0, 0);
        std::vector<int32_t> transposed(q.codes.size());  // [D, G, K] -> [D, K, G]
        for (int64_t d = 0; d < D; ++d)
          for (int64_t g = 0; g < G; ++g)
            for (int64_t k = 0; k < K; ++k) transposed[(d * K + k) * G + g] = q.codes[(d * G + g) * K + k];
        const std::vector<int64_t> paramDims = perChannel ? std::vector<int64_t>{D, G} : std::vector<int64_t>{D};
        codes = packCodes(transposed, type_.dtype, {D, K, G});
        scale = makeFloatTensor(DataType::Float, paramDims, q.scales);
        zeroPoint = packCodes(q.zeroPoints, type_.dtype, paramDims);
        break;
      }
    }

    Graph& home = *source->graph();  // an enclosing graph's weight stays visible to subgraph readers
    const std::string base = source->name() + (layout == WeightLayout::TransposedMatMul ? "_transposed" : "");
    IntegerWeight w{addInitializer(home, base + "_quantized", std::move(codes)),
                    addInitializer(home, base + "_scale", std::move(scale)),
                    addInitializer(home, base + "_zero_point", std::move(zeroPoint))};
    QuantizedTensorInfo info = describeTensor(source->name(), "weight", type_.dtype, axis, 0, q.scales, q.zeroPoints);
    info.sqnrDb = q.sqnrDb;
    result_.quantized.push_back(std::move(info));
    result_.bump("weights quantized");
    weights_.emplace(key, w);
    return w;
  }

  // The DynamicQuantizeLinear of `x` in the reader's graph, created before the first reader.
  DynamicInput dynamicInput(Value* x, Node* reader) {
    Graph& g = *reader->graph();
    const auto key = std::make_pair(static_cast<const Graph*>(&g), static_cast<const Value*>(x));
    if (auto hit = dynamicInputs_.find(key); hit != dynamicInputs_.end()) return hit->second;
    Node* dq = g.createNode("DynamicQuantizeLinear", {x}, 3, reader);
    dq->setName(x->name() + "_DynamicQuantizeLinear");
    DynamicInput in{named(dq->output(0), x->name() + "_quantized"), named(dq->output(1), x->name() + "_scale"),
                    named(dq->output(2), x->name() + "_zero_point")};
    dynamicInputs_.emplace(key, in);
    return in;
  }

  // A one-output node before `anchor`, named after it.
  static Node* addNode(Node* anchor, const std::string& op, const std::vector<Value*>& inputs,
                       const std::string& suffix) {
    Node* n = anchor->graph()->createNode(op, inputs, 1, anchor);
    n->setName(stem(*anchor) + suffix);
    named(n->output(), anchor->output(0)->name() + suffix);
    return n;
  }

  // float(product) * (x_scale * weightScale).
  static Value* rescale(Node* anchor, Value* product, const DynamicInput& in, Value* weightScale) {
    Node* scale = addNode(anchor, "Mul", {in.scale, weightScale}, "_quant_scale");
    Node* cast = addNode(anchor, "Cast", {product}, "_quant_cast");
    cast->setAttribute(Attribute::makeInt("to", static_cast<int64_t>(DataType::Float)));
    return addNode(anchor, "Mul", {cast->output(), scale->output()}, "_quant_scaled")->output();
  }

  // `replacement` takes over the readers and the name of node's output; node is destroyed.
  Status takeOver(Node* node, Value* replacement) {
    Value* original = node->output(0);
    const std::string where = node->describe();
    if (original->type().isTensor()) copyType(original, replacement);
    // A DynamicQuantizeLinear reading the original now reads the replacement.
    std::vector<std::pair<const Graph*, DynamicInput>> moved;
    for (auto it = dynamicInputs_.begin(); it != dynamicInputs_.end();) {
      if (it->first.second != original) {
        ++it;
        continue;
      }
      moved.emplace_back(it->first.first, it->second);
      it = dynamicInputs_.erase(it);
    }
    for (const auto& [graph, in] : moved) dynamicInputs_.emplace(std::make_pair(graph, replacement), in);
    if (!replaceValue(original, replacement))
      return internalError("node {}: its output '{}' could not move to the quantized replacement", where,
                           original->name());
    return Status::ok();
  }

  const QuantizeOptions& options_;
  QuantType type_;
  bool symmetric_;
  int64_t opset_;
  QuantizationResult& result_;
  WeightQuantizer weightOnly_;  // GRU
  std::map<std::pair<const Value*, WeightLayout>, IntegerWeight> weights_;
  std::map<std::pair<const Graph*, const Value*>, DynamicInput> dynamicInputs_;
  std::vector<std::pair<Graph*, std::string>> floatConstants_;  // released by finish() if unused
  int64_t quantizedNodes_ = 0;
  bool usesMicrosoftDomain_ = false;
};

}  // namespace

Expected<QuantizationResult> quantizeDynamic(Model& model, const QuantizeOptions& options) {
  if (options.weightType != "int8" && options.weightType != "uint8")
    return usageError("dynamic mode supports int8/uint8 weights (got weight-type={})", options.weightType);
  std::optional<QuantType> type = quantTypeFromName(options.weightType, options.reduceRange);
  if (!type) return internalError("no integer type named '{}'", options.weightType);
  ASSIGN_OR_RETURN(Scope scope, Scope::create(options, {"MatMul", "Gemm", "Conv", "LSTM", "GRU", "Gather"}));

  QuantizationResult result;
  bool anyInScope = false;
  model.graph().forEachGraph([&](const Graph& g) {
    for (const Node* n : g.nodes()) anyInScope = anyInScope || scope.contains(*n);
  });
  if (!anyInScope) return result;  // nothing to quantize: the opset is left as it is
  // DynamicQuantizeLinear is opset 11; per-channel DequantizeLinear (GRU weights) 13.
  const int64_t needed = options.perChannel ? 13 : 11;
  if (defaultOpset(model) < needed) RETURN_IF_ERROR(upgradeOpset(model, needed, result));
  const int64_t opset = defaultOpset(model);
  DynamicQuantizer quantizer(options, *type, opset, result);
  std::vector<Graph*> graphs;
  model.graph().forEachGraph([&](Graph& g) { graphs.push_back(&g); });
  for (Graph* g : graphs) RETURN_IF_ERROR(quantizer.quantizeGraph(*g, scope));
  quantizer.finish(model);
  return result;
}

}  // namespace onnxpress::quant
