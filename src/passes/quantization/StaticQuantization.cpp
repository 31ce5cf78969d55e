#include "onnxpress/passes/quantization/StaticQuantization.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/quantization/BiasCorrection.h"
#include "onnxpress/passes/quantization/Calibration.h"
#include "onnxpress/passes/quantization/CrossLayerEqualization.h"
#include "onnxpress/passes/quantization/OpsetUpgrade.h"
#include "onnxpress/passes/quantization/QOperatorConversion.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"
#include "onnxpress/passes/quantization/SmoothQuant.h"

namespace onnxpress::quant {
namespace {

const std::vector<std::string> kWeightedOps = {"Conv", "Gemm", "MatMul"};
const std::vector<std::string> kRequantizingOps = {"Add", "Mul", "AveragePool", "GlobalAveragePool"};
const std::vector<std::string> kSharedScaleOps = {"MaxPool", "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze"};
const std::vector<std::string> kFoldableActivations = {"Relu", "Clip"};
const std::vector<std::string> kEmbeddingOps = {"Gather"};
const std::vector<std::string> kRecurrentOps = {"LSTM", "GRU", "RNN"};  // weights only: no integer RNN in QDQ

bool isOneOf(const std::string& op, const std::vector<std::string>& ops) {
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

std::vector<std::string> defaultStaticOpTypes() {
  std::vector<std::string> all;
  for (const auto* list : {&kWeightedOps, &kRequantizingOps, &kSharedScaleOps, &kFoldableActivations, &kEmbeddingOps,
                            &kRecurrentOps})
    all.insert(all.end(), list->begin(), list->end());
  return all;
}

// A float tensor computed at run time (types unknown after import count as float;
// calibration rejects a tensor that never shows up as float32).
bool isFloatActivation(const Value* v) {
  if (!v || isConstant(v)) return false;
  const DataType t = elementType(v);
  return t == DataType::Float || t == DataType::Undefined;
}

// A Conv over a raw signal stays float (see isSignalFilterBank).
bool keptFloatConv(const Node& n) {
  if (n.opType() != "Conv") return false;
  const auto dims = constantDims(n.input(1));
  return dims && isSignalFilterBank(n, *dims);
}

bool hasNodeReader(const Value* v) {
  return std::any_of(v->uses().begin(), v->uses().end(), [](const Use& u) { return u.node != nullptr; });
}

// Relu, or Clip whose lower bound is the constant 0 (attribute before opset 11).
bool clampsAtZero(const Node* n) {
  if (isOp(n, "Relu")) return true;
  if (!isOp(n, "Clip")) return false;
  if (n->numInputs() == 1) return n->attribute("min") && n->floatAttr("min", -1) == 0.0f;
  const auto lo = scalarConstant(n->input(1));
  return lo && lo->value == 0.0;
}

// One activation tensor that gets a Q/DQ pair. Readers read `tensor`; Q reads
// `source` (the folded activation's input when `folded` is set).
struct Site {
  Value* tensor = nullptr;
  Value* source = nullptr;
  Node* folded = nullptr;
  Value* sharesWith = nullptr;  // pass-through output: the input tensor whose scale it reuses
  QuantParams params;
  float lo = 0, hi = 0;
  Value* scale = nullptr;
  Value* zeroPoint = nullptr;
};

class StaticQuantizer {
 public:
  // Plans and rewrites one graph: the main graph or an If/Loop/Scan body.
  StaticQuantizer(Graph& graph, const QuantizeOptions& options, const Scope& scope, QuantizationResult& result,
                  WeightQuantizer& weights, const std::set<const Node*>& keepFloat)
      : graph_(graph), options_(options), scope_(scope), result_(result), weights_(weights), keepFloat_(keepFloat) {
    activationType_ = *quantTypeFromName(options.activationType);
    weightType_ = *quantTypeFromName(options.weightType, options.reduceRange);
  }

  void plan();
  /// The tensors whose ranges calibration must measure.
  void calibrationTensors(std::set<std::string>& names) const;
  /// Takes the measured ranges; a body's tensor that the data never reached (an If branch
  /// not taken) drops its site and the nodes that needed it keep float activations.
  void applyRanges(const std::map<std::string, TensorRange>& ranges);
  void rewrite();
  bool isBody() const { return graph_.parent() != nullptr; }
  /// Whether a use of a tensor may read this graph's DequantizeLinear output (scoping).
  bool sees(const Use& use) const {
    for (const Graph* g = use.node ? use.node->graph() : nullptr; g; g = g->parent())
      if (g == &graph_) return true;
    return false;
  }

 private:
  Site* siteOf(const Value* v) {
    auto it = sites_.find(v);
    return it == sites_.end() ? nullptr : &it->second;
  }
  const Site& root(const Site& s) {
    return s.sharesWith ? root(sites_.at(s.sharesWith)) : s;
  }
  void addSite(Value* tensor, Value* source = nullptr, Node* folded = nullptr) {
    if (!isFloatActivation(tensor) || !hasNodeReader(tensor) || sites_.count(tensor)) return;
    Site& site = sites_[tensor];
    site.tensor = tensor;
    site.source = source ? source : tensor;
    site.folded = folded;
    order_.push_back(tensor);
  }
  void planOutput(Node* n);
  void insertPair(Site& site);
  void quantizeWeights(Node* n);
  bool signedWeights() const { return weightType_.isSigned() || options_.symmetric; }

  Graph& graph_;
  const QuantizeOptions& options_;
  const Scope& scope_;
  QuantizationResult& result_;
  WeightQuantizer& weights_;
  const std::set<const Node*>& keepFloat_;  // SmoothQuant's Mul nodes
  QuantType activationType_, weightType_;
  std::vector<Node*> quantized_;
  std::vector<Node*> weightsOnly_;  // planned, but an activation was never calibrated
  std::map<const Node*, const Value*> dataInput_;  // input 0 as planned (readers move to DQ outputs)
  std::map<const Value*, Site> sites_;
  std::vector<Value*> order_;
};

void StaticQuantizer::planOutput(Node* n) {
  Value* y = n->output(0);
  Node* activation = onlyUser(y);
  // Folding needs an asymmetric type, so that qmin stands for 0 exactly.
  if (activation && activation->graph() == &graph_ && !options_.symmetric && scope_.contains(*activation) &&
      clampsAtZero(activation) && !activation->output(0)->isGraphOutput()) {
    addSite(activation->output(0), y, activation);
    return;
  }
  addSite(y);
}

void StaticQuantizer::plan() {
  auto order = graph_.topologicalOrder();
  if (!order) return;
  for (Node* n : *order) {
    if (!scope_.contains(*n) || keepFloat_.count(n)) continue;
    if (keptFloatConv(*n)) {
      result_.bump("skipped: Conv signal filter bank (1 input channel, >= 32 taps)");
      continue;
    }
    const bool weighted = isOneOf(n->opType(), kWeightedOps);
    if (!weighted && !isOneOf(n->opType(), kRequantizingOps)) continue;
    std::vector<Value*> activations;
    for (Value* in : n->inputs())
      if (isFloatActivation(in)) activations.push_back(in);
    // Conv/Gemm read data from input 0; weights from activations are left alone.
    if (activations.empty() || (weighted && n->opType() != "MatMul" && activations.front() != n->input(0))) continue;
    quantized_.push_back(n);
    dataInput_[n] = n->input(0);
    for (Value* in : activations) addSite(in);
    planOutput(n);
  }
  // Pass-through ops take their input's scale, so chains (MaxPool -> Reshape) share one.
  for (Node* n : *order) {
    if (!scope_.contains(*n) || !isOneOf(n->opType(), kSharedScaleOps) || !n->output(0)) continue;
    Value* x = n->input(0);
    if (!siteOf(x)) continue;
    if (Site* existing = siteOf(n->output(0))) {
      if (!existing->folded) existing->sharesWith = x;
    } else if (isFloatActivation(n->output(0)) && hasNodeReader(n->output(0)) && !n->output(0)->isGraphOutput()) {
      addSite(n->output(0));
      sites_.at(n->output(0)).sharesWith = x;
    }
  }
}

void StaticQuantizer::calibrationTensors(std::set<std::string>& names) const {
  for (const auto& [tensor, site] : sites_)
    if (!site.sharesWith) names.insert(tensor->name());
}

void StaticQuantizer::applyRanges(const std::map<std::string, TensorRange>& ranges) {
  std::set<const Value*> unseen;
  for (auto& [tensor, site] : sites_) {
    if (site.sharesWith) continue;
    auto it = ranges.find(tensor->name());
    if (it == ranges.end()) {
      unseen.insert(tensor);
      continue;
    }
    site.lo = it->second.lo;
    site.hi = it->second.hi;
    site.params = paramsForRange(site.lo, site.hi, activationType_, options_.symmetric);
  }
  if (unseen.empty()) return;
  for (auto& [tensor, site] : sites_)  // sharers of a dropped site go too
    if (site.sharesWith && unseen.count(&root(site) == &site ? tensor : root(site).tensor)) unseen.insert(tensor);
  auto needsUnseen = [&](Node* n) {
    for (Value* v : n->inputs())
      if (v && unseen.count(v)) return true;
    for (const auto& [tensor, site] : sites_)
      if (unseen.count(tensor) && (site.source == n->output(0) || tensor == n->output(0))) return true;
    return false;
  };
  std::erase_if(quantized_, [&](Node* n) {
    if (!needsUnseen(n)) return false;
    weightsOnly_.push_back(n);
    result_.bump("body nodes the calibration data never reached (weights only)");
    return true;
  });
  for (const Value* v : unseen) sites_.erase(v);
  std::erase_if(order_, [&](Value* v) { return unseen.count(v) > 0; });
}

void StaticQuantizer::insertPair(Site& site) {
  const Site& owner = root(site);
  if (!owner.scale) {  // the root's initializers, created once and reused by every sharer
    Site& mutableOwner = sites_.at(owner.tensor);
    mutableOwner.scale = addInitializer(graph_, owner.tensor->name() + "_scale",
                                        Tensor::fromValues<float>(DataType::Float, {}, {owner.params.scale}));
    mutableOwner.zeroPoint = addInitializer(graph_, owner.tensor->name() + "_zero_point",
                                            packCodes(std::vector<int32_t>{owner.params.zeroPoint},
                                                      activationType_.dtype, {}));
  }
  Node* before = site.folded ? site.folded : firstReaderIn(graph_, site.tensor);
  Node* q = graph_.createNode("QuantizeLinear", {site.source, owner.scale, owner.zeroPoint}, 1, before);
  q->setName(site.tensor->name() + "_QuantizeLinear");
  Type quantizedType = site.source->type();
  if (quantizedType.isTensor()) quantizedType.elemType = activationType_.dtype;
  q->output()->setType(quantizedType);
  Node* dq = makeDequantizeLinear(graph_, q->output(), owner.scale, owner.zeroPoint, -1, 0, before,
                                  site.tensor->name() + "_DequantizeLinear");
  copyType(site.tensor, dq->output());
  if (site.folded) {
    replaceValue(site.tensor, dq->output());  // the activation goes; its readers and name move to DQ
    result_.bump("Relu/Clip folded into QuantizeLinear");
  } else {
    graph_.rename(dq->output(), graph_.uniqueName(site.tensor->name() + "_dequantized"));
    std::vector<Use> uses = site.tensor->uses();
    for (const Use& use : uses)
      if (use.node && use.node != q && sees(use)) use.node->setInput(use.index, dq->output());
  }
  QuantizedTensorInfo info = describeTensor(site.folded ? dq->output()->name() : site.tensor->name(), "activation",
                                            activationType_.dtype, -1, 0, std::vector<float>{owner.params.scale},
                                            std::vector<int32_t>{owner.params.zeroPoint});
  info.rangeMin = owner.lo;
  info.rangeMax = owner.hi;
  result_.quantized.push_back(std::move(info));
  result_.bump(site.sharesWith ? "activations sharing their input's scale" : "activations quantized");
}

void StaticQuantizer::quantizeWeights(Node* n) {
  const std::string& op = n->opType();
  const Site* input = siteOf(dataInput_[n]);
  if (op == "Conv" || op == "Gemm") {
    const bool transB = op == "Gemm" && n->intAttr("transB", 0) != 0;
    const auto rank = knownRank(n->input(1));
    const int64_t axis = !options_.perChannel ? -1 : op == "Conv" ? 0 : transB ? 0 : 1;
    if (op == "Gemm" && (!rank || *rank != 2)) return;
    auto w = weights_.quantizeInput(*n, 1, weightType_, signedWeights(), axis, 0);
    const bool plainGemm = op == "Conv" || (n->floatAttr("alpha", 1) == 1 && n->floatAttr("beta", 1) == 1 &&
                                            n->intAttr("transA", 0) == 0);
    if (w && input && plainGemm && n->input(2)) {
      const auto biasRank = knownRank(n->input(2));
      if (biasRank && *biasRank == 1) weights_.quantizeBias(*n, 2, root(*input).params.scale, w->weight->scales);
    }
  } else if (op == "MatMul") {
    const auto rank = knownRank(n->input(1));
    const int64_t axis = options_.perChannel && rank && *rank == 2 ? 1 : -1;
    weights_.quantizeInput(*n, 1, weightType_, signedWeights(), axis, 0);
    weights_.quantizeInput(*n, 0, weightType_, signedWeights(), -1, 0);
  } else if (op == "Add" || op == "Mul") {
    for (size_t i = 0; i < n->numInputs(); ++i)
      weights_.quantizeInput(*n, i, activationType_, options_.symmetric, -1, 0, "constant operand");
  }
}

void StaticQuantizer::rewrite() {
  for (Value* tensor : order_) insertPair(sites_.at(tensor));
  for (Node* n : quantized_) {
    quantizeWeights(n);
    result_.bump(n->opType() + " quantized");
  }
  for (Node* n : weightsOnly_) quantizeWeights(n);
}

// W and R of LSTM/GRU/RNN in every graph: int8 behind DequantizeLinear, one scale per
// gate row (axis 1 of [directions, gates * hidden, inputs]); the recurrence stays float.
void quantizeRecurrentWeights(Graph& main, const QuantizeOptions& options, const Scope& scope,
                              WeightQuantizer& weights, QuantizationResult& result) {
  const QuantType type = *quantTypeFromName(options.weightType, options.reduceRange);
  const bool symmetric = type.isSigned() || options.symmetric;
  main.forEachGraph([&](Graph& g) {
    for (Node* n : g.nodeList()) {
      if (!scope.contains(*n) || !isOneOf(n->opType(), kRecurrentOps)) continue;
      bool any = false;
      for (size_t input : {1, 2}) {
        const auto rank = knownRank(n->input(input));
        const int64_t axis = options.perChannel && (!rank || *rank == 3) ? 1 : -1;
        any = weights.quantizeInput(*n, input, type, symmetric, axis, 0).has_value() || any;
      }
      if (any) result.bump(n->opType() + " weights quantized (recurrence stays float)");
    }
  });
}

// Gather tables (embeddings) of every graph.
void quantizeEmbeddings(Graph& main, const QuantizeOptions& options, const Scope& scope, WeightQuantizer& weights,
                        QuantizationResult& result) {
  const QuantType type = *quantTypeFromName(options.weightType, options.reduceRange);
  const bool symmetric = type.isSigned() || options.symmetric;
  main.forEachGraph([&](Graph& g) {
    for (Node* n : g.nodeList())
      if (scope.contains(*n) && n->opType() == "Gather" &&
          quantizeEmbeddingTable(*n, weights, type, symmetric, options.perChannel))
        result.bump("Gather tables quantized");
  });
}

CalibrationOptions calibrationOptions(const QuantizeOptions& options, int threads) {
  CalibrationOptions calibration;
  calibration.method = options.calibMethod;
  calibration.percentile = options.percentile;
  calibration.samples = options.calibSamples;
  calibration.threads = threads;
  calibration.target = *quantTypeFromName(options.activationType);
  calibration.symmetric = options.symmetric;
  return calibration;
}

}  // namespace

Expected<QuantizationResult> quantizeStatic(Model& model, const QuantizeOptions& options, PassContext& context,
                                            std::map<std::string, TensorRange>* rangeCache) {
  if (!context.calibrationData)
    return usageError("static quantization needs calibration data (--calib-data DATA); random data is never used");
  QuantizationResult result;
  const bool fourBit = options.weightType == "int4" || options.weightType == "uint4";
  const int64_t needed = fourBit ? 21 : options.perChannel ? 13 : 10;
  if (defaultOpset(model) < needed) RETURN_IF_ERROR(upgradeOpset(model, needed, result));
  auto inferred = inferShapes(model);
  if (!inferred) spdlog::debug("quantize: shape inference failed: {}", inferred.status().message());

  ASSIGN_OR_RETURN(Scope scope, Scope::create(options, defaultStaticOpTypes()));
  Dataset& data = *context.calibrationData;
  if (options.equalize) equalizeCrossLayer(model, scope, result);
  std::set<const Node*> smoothingMuls;
  if (options.smoothQuant)
    RETURN_IF_ERROR(applySmoothQuant(model, data, options, scope, context.threads, result, &smoothingMuls).status());
  std::optional<Model> floatModel;
  if (options.biasCorrection) floatModel = model.clone();

  // One quantizer per graph (main graph first, then every If/Loop/Scan body), one
  // calibration run for all: the runtime's observer sees the tensors of bodies too.
  WeightQuantizer weights(result);
  std::vector<std::unique_ptr<StaticQuantizer>> quantizers;
  model.graph().forEachGraph([&](Graph& g) {
    quantizers.push_back(std::make_unique<StaticQuantizer>(g, options, scope, result, weights, smoothingMuls));
    quantizers.back()->plan();
  });
  std::set<std::string> mainTensors, bodyTensors;
  for (const auto& q : quantizers) q->calibrationTensors(q->isBody() ? bodyTensors : mainTensors);
  std::set<std::string> all = mainTensors;
  all.insert(bodyTensors.begin(), bodyTensors.end());
  const bool cacheable = rangeCache && !options.equalize && !options.smoothQuant;
  const bool cached = cacheable && !rangeCache->empty() &&
                      std::all_of(mainTensors.begin(), mainTensors.end(),
                                  [&](const std::string& name) { return rangeCache->count(name) > 0; });
  std::map<std::string, TensorRange> ranges;
  if (cached) {
    ranges = *rangeCache;
  } else {
    ASSIGN_OR_RETURN(ranges, calibrateRanges(model, data, all, calibrationOptions(options, context.threads),
                                             &bodyTensors));
    if (cacheable) *rangeCache = ranges;
  }
  for (const auto& q : quantizers) {
    q->applyRanges(ranges);
    q->rewrite();
  }
  quantizeEmbeddings(model.graph(), options, scope, weights, result);
  quantizeRecurrentWeights(model.graph(), options, scope, weights, result);
  if (floatModel)
    RETURN_IF_ERROR(correctBias(*floatModel, model, data, options.calibSamples, context.threads, result).status());
  if (options.format == "qoperator") RETURN_IF_ERROR(convertToQOperator(model, result));
  return result;
}

}  // namespace onnxpress::quant
