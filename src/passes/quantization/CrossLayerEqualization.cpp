#include "onnxpress/passes/quantization/CrossLayerEqualization.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "onnxpress/ir/GraphUtil.h"

namespace onnxpress::quant {

// ---- shared helpers ------------------------------------------------------------------------

WeightChannels WeightChannels::rows(const std::vector<int64_t>& dims) {
  if (dims.empty()) return {1, 1, 1, 1};
  return {1, dims[0], elementCount(dims) / std::max<int64_t>(dims[0], 1), 1};
}

WeightChannels WeightChannels::columns(int64_t rows, int64_t cols) { return {rows, cols, 1, rows}; }

WeightChannels WeightChannels::convInputs(const std::vector<int64_t>& dims, int64_t group) {
  if (dims.size() < 2 || group < 1 || dims[0] % group != 0) return {0, 0, 0, 0};
  const int64_t kernel = elementCount(dims) / std::max<int64_t>(dims[0] * dims[1], 1);
  return {dims[0], dims[1], kernel, dims[0] / group};
}

namespace {

// Calls fn(flat index) for every element of channel c.
template <typename F>
void forEachChannelElement(const WeightChannels& w, int64_t c, F&& fn) {
  const int64_t group = c / w.slots, slot = c % w.slots;
  for (int64_t o = group * w.outerPerGroup; o < (group + 1) * w.outerPerGroup; ++o) {
    const int64_t begin = (o * w.slots + slot) * w.inner;
    for (int64_t k = 0; k < w.inner; ++k) fn(static_cast<size_t>(begin + k));
  }
}

}  // namespace

std::vector<float> WeightChannels::absMax(std::span<const float> values) const {
  std::vector<float> maxima(static_cast<size_t>(count()), 0.f);
  for (int64_t c = 0; c < count(); ++c)
    forEachChannelElement(*this, c, [&](size_t i) { maxima[c] = std::max(maxima[c], std::abs(values[i])); });
  return maxima;
}

void WeightChannels::scale(std::span<float> values, std::span<const double> factors) const {
  for (int64_t c = 0; c < count(); ++c)
    forEachChannelElement(*this, c, [&](size_t i) { values[i] = static_cast<float>(values[i] * factors[c]); });
}

Tensor* mutableConstantTensor(Value* v) {
  if (!constantTensor(v)) return nullptr;
  if (Tensor* t = v->initializer()) return t;
  return &v->producer()->attribute("value")->tensors[0];
}

bool readByOneNode(const Value* v) {
  return v && v->uses().size() == 1 && v->uses()[0].node && v->uses()[0].node->graph() == v->graph();
}

bool overwriteFloatConstant(Value* v, std::span<const float> values) {
  Tensor* t = mutableConstantTensor(v);
  if (!t || t->numElements() != static_cast<int64_t>(values.size())) return false;
  Tensor fresh = makeFloatTensor(t->dtype(), t->dims(), values);
  fresh.setName(t->name());
  fresh.setDocString(t->docString());
  *t = std::move(fresh);
  return true;
}

// ---- equalization --------------------------------------------------------------------------

namespace {


constexpr double kMinScale = 1e-4, kMaxScale = 1e4;
constexpr double kConvergedChange = 1e-3;
constexpr int kMaxSweeps = 8;

struct LayerPair {
  Node* first = nullptr;   // output channels divided by s
  Node* second = nullptr;  // input channels multiplied by s
};

// The output channels of layer1's weight W1 (Conv: axis 0; Gemm: the N axis of op(B)).
std::optional<WeightChannels> outputChannels(const Node& layer, const std::vector<int64_t>& dims) {
  if (isOp(&layer, "Conv")) return dims.size() >= 3 ? std::optional(WeightChannels::rows(dims)) : std::nullopt;
  if (dims.size() != 2) return std::nullopt;
  return layer.intAttr("transB", 0) != 0 ? WeightChannels::rows(dims) : WeightChannels::columns(dims[0], dims[1]);
}

// The input channels of layer2's weight W2 (the axis it reduces its input's channels over).
std::optional<WeightChannels> inputChannels(const Node& layer, const std::vector<int64_t>& dims) {
  if (isOp(&layer, "Conv")) {
    if (dims.size() < 3) return std::nullopt;
    WeightChannels w = WeightChannels::convInputs(dims, layer.intAttr("group", 1));
    return w.count() > 0 ? std::optional(w) : std::nullopt;
  }
  if (dims.size() != 2) return std::nullopt;
  if (isOp(&layer, "Gemm")) {
    if (layer.intAttr("transA", 0) != 0) return std::nullopt;
    return layer.intAttr("transB", 0) != 0 ? WeightChannels::columns(dims[0], dims[1]) : WeightChannels::rows(dims);
  }
  return WeightChannels::rows(dims);  // MatMul
}

// layer1's bias: Conv B [C]; Gemm C of shape [C], [1, C] or [M, C]. Nullopt for a
// bias that broadcasts one value over the channels.
std::optional<WeightChannels> biasChannels(const std::vector<int64_t>& dims, int64_t channels) {
  if (dims.empty() || dims.size() > 2 || dims.back() != channels) return std::nullopt;
  return WeightChannels::columns(elementCount(dims) / channels, channels);
}

bool isHomogeneousActivation(const Node* n) { return isOp(n, "Relu") || isOp(n, "LeakyRelu"); }

// layer2 when `layer1` heads a pair (see the header), else null.
Node* pairedLayer(Node* layer1) {
  Value* chain = layer1->output(0);
  Node* next = onlyUser(chain);
  if (isHomogeneousActivation(next)) {
    chain = next->output(0);
    next = onlyUser(chain);
  }
  if (!next || next->input(0) != chain) return nullptr;
  const bool convPair = isOp(layer1, "Conv") && isOp(next, "Conv");
  const bool densePair = isOp(layer1, "Gemm") && (isOp(next, "Gemm") || isOp(next, "MatMul"));
  return convPair || densePair ? next : nullptr;
}

enum class PairCheck { Ok, NotAPair, SharedWeight, BroadcastBias };

PairCheck checkPair(const LayerPair& p) {
  std::optional<FloatConstant> w1 = floatConstantInput(*p.first, 1);
  std::optional<FloatConstant> w2 = floatConstantInput(*p.second, 1);
  if (!w1 || !w2) return PairCheck::NotAPair;
  std::optional<WeightChannels> out = outputChannels(*p.first, w1->dims);
  std::optional<WeightChannels> in = inputChannels(*p.second, w2->dims);
  if (!out || !in || out->count() != in->count() || out->count() == 0) return PairCheck::NotAPair;
  std::vector<Value*> rewritten{w1->value, w2->value};
  if (p.first->input(2)) {
    std::optional<FloatConstant> b1 = floatConstantInput(*p.first, 2);
    if (!b1) return PairCheck::NotAPair;
    if (!biasChannels(b1->dims, out->count())) return PairCheck::BroadcastBias;
    rewritten.push_back(b1->value);
  }
  for (Value* v : rewritten)
    if (!readByOneNode(v) || !mutableConstantTensor(v)) return PairCheck::SharedWeight;
  return PairCheck::Ok;
}

std::vector<LayerPair> findPairs(const Graph& graph, const Scope& scope, PassResult& result) {
  Expected<std::vector<Node*>> order = graph.topologicalOrder();
  const std::vector<Node*> nodes = order ? std::move(*order) : graph.nodeList();
  std::vector<LayerPair> pairs;
  for (Node* n : nodes) {
    if (!(isOp(n, "Conv") || isOp(n, "Gemm")) || !scope.contains(*n)) continue;
    Node* next = pairedLayer(n);
    if (!next || !scope.contains(*next)) continue;
    const LayerPair pair{n, next};
    switch (checkPair(pair)) {
      case PairCheck::Ok: pairs.push_back(pair); break;
      case PairCheck::SharedWeight: result.bump("skipped layer pairs with shared weights"); break;
      case PairCheck::BroadcastBias: result.bump("skipped layer pairs with a broadcast bias"); break;
      case PairCheck::NotAPair: break;
    }
  }
  return pairs;
}

// One equalization step of a checked pair; returns max_i |s_i - 1|.
double equalizePair(const LayerPair& p) {
  FloatConstant w1 = *floatConstantInput(*p.first, 1);
  FloatConstant w2 = *floatConstantInput(*p.second, 1);
  const WeightChannels out = *outputChannels(*p.first, w1.dims);
  const WeightChannels in = *inputChannels(*p.second, w2.dims);
  const std::vector<float> r1 = out.absMax(w1.values), r2 = in.absMax(w2.values);

  std::vector<double> scale(r1.size(), 1.0), inverse(r1.size(), 1.0);
  double change = 0;
  for (size_t i = 0; i < r1.size(); ++i) {
    if (!(r1[i] > 0) || !(r2[i] > 0)) continue;
    scale[i] = std::clamp(std::sqrt(static_cast<double>(r1[i]) / r2[i]), kMinScale, kMaxScale);
    inverse[i] = 1.0 / scale[i];
    change = std::max(change, std::abs(scale[i] - 1.0));
  }
  if (change == 0) return 0;

  out.scale(w1.values, inverse);
  in.scale(w2.values, scale);
  overwriteFloatConstant(w1.value, w1.values);
  overwriteFloatConstant(w2.value, w2.values);
  if (p.first->input(2)) {
    FloatConstant b1 = *floatConstantInput(*p.first, 2);
    biasChannels(b1.dims, out.count())->scale(b1.values, inverse);
    overwriteFloatConstant(b1.value, b1.values);
  }
  return change;
}

}  // namespace

int64_t equalizeCrossLayer(Model& model, const Scope& scope, PassResult& result) {
  const std::vector<LayerPair> pairs = findPairs(model.graph(), scope, result);
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    double change = 0;
    for (const LayerPair& p : pairs) change = std::max(change, equalizePair(p));
    if (change < kConvergedChange) break;
  }
  const auto equalized = static_cast<int64_t>(pairs.size());
  result.bump("layer pairs equalized", equalized);
  return equalized;
}

}  // namespace onnxpress::quant
