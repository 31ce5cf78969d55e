#include "onnxpress/passes/quantization/QuantizeCommon.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "onnxpress/ir/GraphUtil.h"

namespace onnxpress::quant {

std::optional<QuantType> quantTypeFromName(const std::string& name, bool reduceRange) {
  QuantType t;
  if (name == "uint8") t = {DataType::UInt8, 0, reduceRange ? 127 : 255};
  else if (name == "int8") t = {DataType::Int8, reduceRange ? -64 : -128, reduceRange ? 63 : 127};
  else if (name == "uint4") t = {DataType::UInt4, 0, 15};
  else if (name == "int4") t = {DataType::Int4, -8, 7};
  else if (name == "int32") t = {DataType::Int32, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
  else return std::nullopt;
  return t;
}

QuantParams paramsForRange(float lo, float hi, const QuantType& t, bool symmetric) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  const double levels = static_cast<double>(t.qmax - t.qmin);
  QuantParams p;
  if (symmetric) {
    const double bound = std::max(std::fabs(lo), std::fabs(hi));
    // Signed: [-bound, bound] -> [-(levels/2), levels/2] (int8: +-127, never -128).
    p.scale = bound > 0 ? static_cast<float>(bound / std::floor(levels / 2)) : 1.0f;
    p.zeroPoint = t.isSigned() ? 0 : static_cast<int32_t>((t.qmin + t.qmax + 1) / 2);
    return p;
  }
  if (hi - lo <= 0) return p;
  p.scale = static_cast<float>((static_cast<double>(hi) - lo) / levels);
  const double zero = static_cast<double>(t.qmin) - static_cast<double>(lo) / p.scale;
  p.zeroPoint = static_cast<int32_t>(std::clamp<double>(std::nearbyint(zero), t.qmin, t.qmax));
  return p;
}

int32_t quantizeValue(float x, const QuantParams& p, const QuantType& t) {
  const double q = std::nearbyint(static_cast<double>(x) / p.scale) + p.zeroPoint;
  return static_cast<int32_t>(std::clamp<double>(q, static_cast<double>(t.qmin), static_cast<double>(t.qmax)));
}

Tensor packCodes(std::span<const int32_t> codes, DataType dtype, std::vector<int64_t> dims) {
  std::vector<uint8_t> raw(dataTypeStorageBytes(dtype, static_cast<int64_t>(codes.size())), 0);
  switch (dtype) {
    case DataType::Int4:
    case DataType::UInt4:
      for (size_t i = 0; i < codes.size(); ++i) raw[i / 2] |= static_cast<uint8_t>((codes[i] & 0xF) << ((i % 2) * 4));
      break;
    case DataType::Int8:
      for (size_t i = 0; i < codes.size(); ++i) raw[i] = static_cast<uint8_t>(static_cast<int8_t>(codes[i]));
      break;
    case DataType::UInt8:
      for (size_t i = 0; i < codes.size(); ++i) raw[i] = static_cast<uint8_t>(codes[i]);
      break;
    case DataType::Int32:
      std::memcpy(raw.data(), codes.data(), raw.size());
      break;
    default:
      break;  // callers only pass integer code types
  }
  Tensor t;
  t.setBytes(dtype, std::move(dims), std::move(raw));
  return t;
}

namespace {

// The inverse of packCodes for the code types DequantizeLinear reads here; nullopt otherwise.
std::optional<std::vector<int32_t>> unpackCodes(const Tensor& t) {
  const size_t n = static_cast<size_t>(t.numElements());
  std::span<const uint8_t> raw = t.bytes();
  if (raw.size() < dataTypeStorageBytes(t.dtype(), t.numElements())) return std::nullopt;
  std::vector<int32_t> codes(n);
  switch (t.dtype()) {
    case DataType::Int4:
    case DataType::UInt4:
      for (size_t i = 0; i < n; ++i) {
        const int32_t nibble = (raw[i / 2] >> ((i % 2) * 4)) & 0xF;
        codes[i] = t.dtype() == DataType::Int4 ? (nibble ^ 8) - 8 : nibble;
      }
      return codes;
    case DataType::Int8:
      for (size_t i = 0; i < n; ++i) codes[i] = static_cast<int8_t>(raw[i]);
      return codes;
    case DataType::UInt8:
      for (size_t i = 0; i < n; ++i) codes[i] = raw[i];
      return codes;
    case DataType::Int32:
      std::memcpy(codes.data(), raw.data(), n * sizeof(int32_t));
      return codes;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::vector<float> dequantizedValues(const Node& dq) {
  std::optional<Tensor> copy;
  const Tensor* q = constantTensor(dq.input(0));
  if (!q && (copy = constantValue(dq.input(0)))) q = &*copy;
  std::optional<Tensor> scaleTensor = constantValue(dq.input(1));
  if (!q || !scaleTensor) return {};
  std::optional<std::vector<int32_t>> codes = unpackCodes(*q);
  std::optional<std::vector<float>> scales = floatValues(*scaleTensor);
  if (!codes || !scales || scales->empty()) return {};
  std::vector<int32_t> zeroPoints;
  if (dq.input(2)) {
    std::optional<Tensor> zp = constantValue(dq.input(2));
    if (!zp || zp->dtype() != q->dtype()) return {};
    std::optional<std::vector<int32_t>> z = unpackCodes(*zp);
    if (!z || z->size() != scales->size()) return {};
    zeroPoints = std::move(*z);
  }

  // q seen as [outer, D, inner] around the axis; scale index of each element as in quantizeWeight.
  const std::vector<int64_t>& dims = q->dims();
  const int64_t rank = static_cast<int64_t>(dims.size()), blockSize = dq.intAttr("block_size", 0);
  int64_t outer = 1, D = static_cast<int64_t>(codes->size()), inner = 1, blocks = 1;
  const bool perTensor = blockSize <= 0 && scales->size() == 1;
  if (!perTensor) {
    int64_t axis = dq.intAttr("axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return {};
    D = dims[static_cast<size_t>(axis)];
    outer = inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= dims[static_cast<size_t>(i)];
    for (int64_t i = axis + 1; i < rank; ++i) inner *= dims[static_cast<size_t>(i)];
    blocks = blockSize > 0 ? (D + blockSize - 1) / blockSize : D;
    const int64_t expected = blockSize > 0 ? outer * blocks * inner : D;
    if (static_cast<int64_t>(scales->size()) != expected) return {};
  }
  std::vector<float> out(codes->size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t d = 0; d < D; ++d)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t at = (o * D + d) * inner + i;
        const size_t si = perTensor ? 0
                          : blockSize > 0 ? static_cast<size_t>((o * blocks + d / blockSize) * inner + i)
                                          : static_cast<size_t>(d);
        // (q - z) in integers first, as the runtime does for int32.
        const int64_t centered = static_cast<int64_t>((*codes)[static_cast<size_t>(at)]) -
                                 (zeroPoints.empty() ? 0 : zeroPoints[si]);
        out[static_cast<size_t>(at)] = static_cast<float>(static_cast<float>(centered) * (*scales)[si]);
      }
  return out;
}

double sqnrDb(std::span<const float> reference, std::span<const float> approximation) {
  double signal = 0, noise = 0;
  for (size_t i = 0; i < reference.size() && i < approximation.size(); ++i) {
    signal += static_cast<double>(reference[i]) * reference[i];
    const double e = static_cast<double>(reference[i]) - approximation[i];
    noise += e * e;
  }
  if (noise <= 0) return 200.0;
  if (signal <= 0) return -200.0;
  return std::min(200.0, 10.0 * std::log10(signal / noise));
}

QuantizedWeight quantizeWeight(std::span<const float> weights, const std::vector<int64_t>& dims, const QuantType& t,
                               bool symmetric, int64_t axis, int64_t blockSize) {
  QuantizedWeight out;
  out.axis = axis;
  out.blockSize = axis >= 0 ? blockSize : 0;
  const int64_t rank = static_cast<int64_t>(dims.size());
  // Layout: [outer, D, inner] around `axis`; a group is one scale's elements.
  int64_t outer = 1, D = 1, inner = 1;
  if (axis >= 0) {
    for (int64_t i = 0; i < axis; ++i) outer *= dims[i];
    D = dims[axis];
    for (int64_t i = axis + 1; i < rank; ++i) inner *= dims[i];
  } else {
    for (int64_t d : dims) inner *= d;
  }
  const int64_t blocks = out.blockSize > 0 ? (D + out.blockSize - 1) / out.blockSize : D;
  auto groupOf = [&](int64_t o, int64_t d, int64_t i) -> int64_t {
    if (axis < 0) return 0;
    if (out.blockSize > 0) return (o * blocks + d / out.blockSize) * inner + i;  // scale dims: dims with D -> blocks
    return d;                                                                   // per channel
  };
  const int64_t groups = axis < 0 ? 1 : out.blockSize > 0 ? outer * blocks * inner : D;
  std::vector<float> lo(groups, 0.0f), hi(groups, 0.0f);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t d = 0; d < D; ++d)
      for (int64_t i = 0; i < inner; ++i) {
        const float w = weights[(o * D + d) * inner + i];
        const int64_t g = groupOf(o, d, i);
        lo[g] = std::min(lo[g], w);
        hi[g] = std::max(hi[g], w);
      }
  std::vector<QuantParams> params(groups);
  for (int64_t g = 0; g < groups; ++g) {
    params[g] = paramsForRange(lo[g], hi[g], t, symmetric);
    out.scales.push_back(params[g].scale);
    out.zeroPoints.push_back(params[g].zeroPoint);
  }
  out.codes.resize(weights.size());
  std::vector<float> restored(weights.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t d = 0; d < D; ++d)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t at = (o * D + d) * inner + i;
        const QuantParams& p = params[groupOf(o, d, i)];
        out.codes[at] = quantizeValue(weights[at], p, t);
        restored[at] = static_cast<float>((out.codes[at] - p.zeroPoint) * static_cast<double>(p.scale));
      }
  out.sqnrDb = sqnrDb(weights, restored);

  std::vector<int64_t> scaleDims;
  if (axis >= 0 && out.blockSize > 0) {
    scaleDims = dims;
    scaleDims[axis] = blocks;
  } else if (axis >= 0) {
    scaleDims = {D};
  }
  out.values = packCodes(out.codes, t.dtype, dims);
  out.scale = makeFloatTensor(DataType::Float, scaleDims, out.scales);
  out.zeroPoint = packCodes(out.zeroPoints, t.dtype, scaleDims);
  return out;
}

QuantizedTensorInfo describeTensor(const std::string& tensor, const std::string& role, DataType dtype, int64_t axis,
                                   int64_t blockSize, std::span<const float> scales,
                                   std::span<const int32_t> zeroPoints) {
  QuantizedTensorInfo info;
  info.tensor = tensor;
  info.role = role;
  info.dtype = std::string(dataTypeName(dtype));
  info.axis = axis;
  info.blockSize = blockSize;
  info.count = static_cast<int64_t>(scales.size());
  const size_t listed = std::min(scales.size(), QuantizedTensorInfo::kMaxListed);
  info.scale.assign(scales.begin(), scales.begin() + static_cast<std::ptrdiff_t>(listed));
  info.zeroPoint.assign(zeroPoints.begin(),
                        zeroPoints.begin() + static_cast<std::ptrdiff_t>(std::min(zeroPoints.size(), listed)));
  return info;
}

Status requireUnquantized(const Model& model, const std::string& mode) {
  static const std::vector<std::string> kQuantizedOps = {
      "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger",
      "ConvInteger", "MatMulNBits", "QLinearAdd", "QLinearMul", "QGemm", "DynamicQuantizeLSTM",
      "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QAttention", "QLinearAveragePool",
      "QLinearGlobalAveragePool", "QLinearConcat", "QLinearSigmoid", "QLinearLeakyRelu", "GatherBlockQuantized"};
  Status status = Status::ok();
  model.graph().forEachGraph([&](const Graph& g) {
    if (!status.isOk()) return;
    for (const Node* n : g.nodes())
      if (std::find(kQuantizedOps.begin(), kQuantizedOps.end(), n->opType()) != kQuantizedOps.end()) {
        status = usageError("the model is already quantized ({}); quantize a float model", n->describe());
        return;
      }
    if (mode != "fp16" && mode != "bf16") return;
    for (const Value* v : g.initializers())
      if (v->initializer()->dtype() == DataType::Float16 || v->initializer()->dtype() == DataType::BFloat16) {
        status = usageError("the model already holds {} weights ('{}'); convert a float32 model",
                            dataTypeName(v->initializer()->dtype()), v->name());
        return;
      }
  });
  return status;
}

Expected<Scope> Scope::create(const QuantizeOptions& options, std::vector<std::string> defaultOpTypes) {
  Scope scope;
  scope.opTypes_ = options.opTypes.empty() ? std::move(defaultOpTypes) : options.opTypes;
  scope.excluded_ = options.excludeOpTypes;
  if (!options.excludeNodes.empty()) {
    try {
      scope.excludeNodes_.emplace(options.excludeNodes, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return usageError("exclude-nodes '{}' is not a valid regular expression: {}", options.excludeNodes, e.what());
    }
  }
  return scope;
}

bool Scope::contains(const Node& node) const {
  if (!isDefaultDomain(node)) return false;
  if (std::find(opTypes_.begin(), opTypes_.end(), node.opType()) == opTypes_.end()) return false;
  if (std::find(excluded_.begin(), excluded_.end(), node.opType()) != excluded_.end()) return false;
  return !(excludeNodes_ && !node.name().empty() && std::regex_search(node.name(), *excludeNodes_));
}

std::optional<FloatConstant> floatConstantInput(const Node& node, size_t index) {
  Value* v = node.input(index);
  const Tensor* t = constantTensor(v);
  if (!t || t->dtype() != DataType::Float) return std::nullopt;
  auto values = floatValues(*t);
  if (!values) return std::nullopt;
  return FloatConstant{v, std::move(*values), t->dims()};
}

bool isSignalFilterBank(const Node& conv, const std::vector<int64_t>& dims) {
  return dims.size() >= 3 && dims[1] * conv.intAttr("group", 1) == 1 && elementCount(dims, 2, dims.size()) >= 32;
}

Node* makeDequantizeLinear(Graph& graph, Value* q, Value* scale, Value* zeroPoint, int64_t axis, int64_t blockSize,
                           Node* before, const std::string& name) {
  std::vector<Value*> inputs = {q, scale};
  if (zeroPoint) inputs.push_back(zeroPoint);
  Node* dq = graph.createNode("DequantizeLinear", inputs, 1, before);
  dq->setName(name);
  if (axis >= 0) dq->setAttribute(Attribute::makeInt("axis", axis));
  if (blockSize > 0) dq->setAttribute(Attribute::makeInt("block_size", blockSize));
  return dq;
}

Node* firstReaderIn(Graph& graph, const Value* v) {
  // The ancestor of each reader that sits directly in `graph`.
  auto holderIn = [&](Node* reader) -> Node* {
    while (reader && reader->graph() != &graph) {
      Graph* g = reader->graph();
      Node* owner = nullptr;
      if (Graph* parent = g->parent())
        for (Node* n : parent->nodes())
          for (Graph* sub : n->subgraphs())
            if (sub == g) owner = n;
      reader = owner;
    }
    return reader;
  };
  std::vector<Node*> holders;
  for (const Use& use : v->uses())
    if (Node* h = holderIn(use.node)) holders.push_back(h);
  for (Node* n : graph.nodes())
    if (std::find(holders.begin(), holders.end(), n) != holders.end()) return n;
  return nullptr;
}

bool quantizeEmbeddingTable(Node& gather, WeightQuantizer& weights, const QuantType& t, bool symmetric, bool perRow) {
  return weights.quantizeInput(gather, 0, t, symmetric, perRow ? 0 : -1, 0, "embedding").has_value();
}

int64_t unlistInitializerInputs(Model& model) {
  Graph& g = model.graph();
  std::vector<Value*> listed;
  for (Value* in : g.inputs())
    if (in->initializer() && !in->isGraphOutput()) listed.push_back(in);
  for (Value* old : listed) {
    // Graph::removeInput needs an unused value: move the readers to a copy, then swap names.
    const std::string name = old->name();
    Tensor copy = old->initializer()->clone();
    copy.setName(g.uniqueName(name + "_initializer"));
    Value* constant = g.addInitializer(std::move(copy));
    copyType(old, constant);
    g.replaceAllUsesWith(old, constant);
    g.removeInput(old);
    g.removeInitializer(old);
    g.rename(constant, name);
  }
  if (!listed.empty()) model.irVersion = std::max<int64_t>(model.irVersion, 4);
  return static_cast<int64_t>(listed.size());
}

int64_t defaultOpset(const Model& model) {
  const int64_t v = model.opsetVersion("");
  return v > 0 ? v : 1;
}

std::optional<WeightQuantizer::Dequantized> WeightQuantizer::quantizeInput(Node& node, size_t index, const QuantType& t,
                                                                           bool symmetric, int64_t axis,
                                                                           int64_t blockSize, const std::string& role) {
  auto source = floatConstantInput(node, index);
  if (!source) return std::nullopt;
  const Key key{source->value->graph(), source->value->name(), t.dtype, t.qmin, axis, blockSize};
  if (auto hit = cache_.find(key); hit != cache_.end()) {
    node.setInput(index, hit->second.first);
    releaseIfUnused({source->value});
    return Dequantized{hit->second.first, hit->second.second.get()};
  }
  QuantizedWeight weight = quantizeWeight(source->values, source->dims, t, symmetric, axis, blockSize);
  return rewire(node, index, *source, std::move(weight), role, key);
}

std::optional<WeightQuantizer::Dequantized> WeightQuantizer::quantizeBias(Node& node, size_t index, float inputScale,
                                                                          std::span<const float> weightScales) {
  auto source = floatConstantInput(node, index);
  if (!source || source->dims.size() != 1) return std::nullopt;
  const int64_t channels = source->dims[0];
  if (weightScales.size() != 1 && static_cast<int64_t>(weightScales.size()) != channels) return std::nullopt;
  QuantizedWeight bias;
  bias.axis = weightScales.size() == 1 ? -1 : 0;
  const QuantType int32Type = *quantTypeFromName("int32");
  std::vector<float> restored(source->values.size());
  for (int64_t c = 0; c < channels; ++c) {
    const float ws = weightScales.size() == 1 ? weightScales[0] : weightScales[c];
    QuantParams p{inputScale * ws, 0};
    if (p.scale <= 0) p.scale = 1;  // an all-zero weight channel: any scale represents its bias exactly enough
    bias.codes.push_back(quantizeValue(source->values[c], p, int32Type));
    restored[c] = static_cast<float>(bias.codes.back() * static_cast<double>(p.scale));
    if (bias.axis == 0 || c == 0) {
      bias.scales.push_back(p.scale);
      bias.zeroPoints.push_back(0);
    }
  }
  bias.sqnrDb = sqnrDb(source->values, restored);
  const std::vector<int64_t> scaleDims = bias.axis == 0 ? std::vector<int64_t>{channels} : std::vector<int64_t>{};
  bias.values = packCodes(bias.codes, DataType::Int32, source->dims);
  bias.scale = makeFloatTensor(DataType::Float, scaleDims, bias.scales);
  bias.zeroPoint = packCodes(bias.zeroPoints, DataType::Int32, scaleDims);
  return rewire(node, index, *source, std::move(bias), "bias", std::nullopt);
}

std::optional<WeightQuantizer::Dequantized> WeightQuantizer::rewire(Node& node, size_t index,
                                                                    const FloatConstant& source,
                                                                    QuantizedWeight weight, const std::string& role,
                                                                    const std::optional<Key>& key) {
  Value* original = source.value;
  Graph& home = *original->graph();
  const std::string base = original->name();
  const DataType dtype = weight.values.dtype();
  Value* q = addInitializer(home, base + "_quantized", weight.values.clone());
  Value* scale = addInitializer(home, base + "_scale", weight.scale.clone());
  Value* zeroPoint = addInitializer(home, base + "_zero_point", weight.zeroPoint.clone());
  Node* before = firstReaderIn(home, original);
  Node* dq = makeDequantizeLinear(home, q, scale, zeroPoint, weight.axis, weight.blockSize, before,
                                  base + "_DequantizeLinear");
  Value* out = dq->output();
  home.rename(out, home.uniqueName(base + "_dequantized"));
  copyType(original, out);
  node.setInput(index, out);

  QuantizedTensorInfo info =
      describeTensor(base, role, dtype, weight.axis, weight.blockSize, weight.scales, weight.zeroPoints);
  info.sqnrDb = weight.sqnrDb;
  result_.quantized.push_back(std::move(info));
  result_.bump(role == "bias" ? "biases quantized" : "weights quantized");

  auto stored = std::make_unique<QuantizedWeight>(std::move(weight));
  const QuantizedWeight* handle = stored.get();
  if (key) cache_[*key] = {out, std::move(stored)};
  else uncached_.push_back(std::move(stored));
  releaseIfUnused({original});
  return Dequantized{out, handle};
}

}  // namespace onnxpress::quant
