// quantize{mode=fp16|bf16}: see FloatConversion.h. Four steps over every graph:
//   1. classify   which nodes stay float32 (blocklist, Scope, kept control flow)
//   2. storage    which float32 values become 16-bit (node outputs by their producer and
//                 schema; constants, Casts and inputs by their readers and graph)
//   3. rewrite    constant data, dtype attributes and value types
//   4. Casts      wherever a reader needs another type than the value is stored in
#include "onnxpress/passes/quantization/FloatConversion.h"

#include <Eigen/Core>
#include <onnx/defs/schema.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"

namespace onnxpress::quant {
namespace {

// ONNX Runtime's float16 tool (onnxruntime/python/tools/transformers/float16.py) keeps
// these in float32 by default; its ai.onnx.ml entries are covered by blocking that domain.
const std::vector<std::string> kDefaultBlocklist = {"NonMaxSuppression", "TopK",     "RoiAlign", "Resize",
                                                    "Range",             "CumSum",   "Min",      "Max",
                                                    "Upsample",          "RandomUniformLike"};

// Ops whose float output type is set by an attribute rather than by an input.
struct DtypeAttribute {
  const char* op;
  const char* attribute;
};
constexpr DtypeAttribute kDtypeAttributes[] = {
    {"RandomNormal", "dtype"},  {"RandomUniform", "dtype"},         {"RandomNormalLike", "dtype"},
    {"RandomUniformLike", "dtype"}, {"EyeLike", "dtype"},           {"Bernoulli", "dtype"},
    {"SequenceEmpty", "dtype"}, {"HannWindow", "output_datatype"},  {"HammingWindow", "output_datatype"},
    {"BlackmanWindow", "output_datatype"}, {"MelWeightMatrix", "output_datatype"}};

const char* dtypeAttributeOf(const Node& n) {
  for (const DtypeAttribute& d : kDtypeAttributes)
    if (isOp(&n, d.op)) return d.attribute;
  return nullptr;
}


bool listed(const std::vector<std::string>& list, const std::string& op) {
  return std::find(list.begin(), list.end(), op) != list.end();
}

bool isControlFlow(const Node& n) {
  return isOp(&n, "If") || isOp(&n, "Loop") || isOp(&n, "Scan") || isOp(&n, "SequenceMap");
}

// Cast, CastLike's input and Shape/Size read any type: they never need a Cast in front.
bool readsAnyType(const Node& n, size_t index) {
  return isOp(&n, "Cast") || isOp(&n, "Shape") || isOp(&n, "Size") || (isOp(&n, "CastLike") && index == 0);
}

// ---- types ---------------------------------------------------------------------------------

bool typeHoldsFloat32(const Type& t) {
  switch (t.kind) {
    case Type::Kind::Tensor:
    case Type::Kind::SparseTensor: return t.elemType == DataType::Float;
    case Type::Kind::Sequence:
    case Type::Kind::Optional: return !t.inner.empty() && typeHoldsFloat32(t.inner[0]);
    default: return false;
  }
}

/// `t` with every float32 element type (nested ones too) replaced by `to`.
Type retypedFloats(Type t, DataType to) {
  if ((t.kind == Type::Kind::Tensor || t.kind == Type::Kind::SparseTensor) && t.elemType == DataType::Float)
    t.elemType = to;
  for (Type& inner : t.inner) inner = retypedFloats(std::move(inner), to);
  return t;
}

const Node* constantProducer(const Value& v) {
  const Node* p = v.producer();
  return p && isOp(p, "Constant") ? p : nullptr;
}

/// Whether the Constant's value can be read and rewritten here (not a function-body reference).
bool constantReadable(const Node& constant) {
  if (constant.attributes().size() != 1 || !constant.attributes()[0].refAttrName.empty()) return false;
  const std::string& name = constant.attributes()[0].name;
  return name == "value" || name == "sparse_value" || name == "value_float" || name == "value_floats";
}

bool holdsFloat32(const Value& v) {
  if (const Tensor* t = v.initializer()) return t->dtype() == DataType::Float;
  if (const SparseTensor* s = v.sparseInitializer()) return s->values.dtype() == DataType::Float;
  if (const Node* p = constantProducer(v)) {
    if (!constantReadable(*p)) return false;
    const Attribute& a = p->attributes()[0];
    if (a.name == "value_float" || a.name == "value_floats") return true;
    if (a.name == "value") return !a.tensors.empty() && a.tensors[0].dtype() == DataType::Float;
    return !a.sparseTensors.empty() && a.sparseTensors[0].values.dtype() == DataType::Float;
  }
  return typeHoldsFloat32(v.type());
}

/// A plain tensor (Cast can convert it), as opposed to a sequence, optional or sparse value.
bool isTensorValue(const Value& v) {
  return v.initializer() || v.sparseInitializer() || constantProducer(v) || v.type().kind == Type::Kind::Tensor;
}

/// ONNX type string of `v` once converted: "tensor(float16)", "seq(tensor(bfloat16))", ...
std::string typeString(const Type& t, DataType elem) {
  const std::string name(dataTypeName(elem));
  switch (t.kind) {
    case Type::Kind::SparseTensor: return "sparse_tensor(" + name + ")";
    case Type::Kind::Sequence: return "seq(" + (t.inner.empty() ? "" : typeString(t.inner[0], elem)) + ")";
    case Type::Kind::Optional: return "optional(" + (t.inner.empty() ? "" : typeString(t.inner[0], elem)) + ")";
    default: return "tensor(" + name + ")";
  }
}

// ---- rounding ------------------------------------------------------------------------------

struct RoundingCounts {
  int64_t clamped = 0, flushed = 0, nonFinite = 0;
};

/// x rounded to nearest even in H (Eigen::half or Eigen::bfloat16), finite values clamped
/// to H's largest finite value; returns the 16-bit pattern.
template <typename H>
uint16_t roundTo(float x, RoundingCounts& counts) {
  if (!std::isfinite(x)) {
    ++counts.nonFinite;
    return Eigen::numext::bit_cast<uint16_t>(H(x));
  }
  const float highest = static_cast<float>(Eigen::NumTraits<H>::highest());
  float y = x;
  if (std::fabs(x) > highest) {
    ++counts.clamped;
    y = std::copysign(highest, x);
  }
  const H h(y);
  if (x != 0.f && static_cast<float>(h) == 0.f) ++counts.flushed;
  return Eigen::numext::bit_cast<uint16_t>(h);
}

uint16_t roundTo16(float x, DataType to, RoundingCounts& counts) {
  return to == DataType::BFloat16 ? roundTo<Eigen::bfloat16>(x, counts) : roundTo<Eigen::half>(x, counts);
}

float widen16(uint16_t bits, DataType from) {
  return from == DataType::BFloat16 ? static_cast<float>(Eigen::numext::bit_cast<Eigen::bfloat16>(bits))
                                    : static_cast<float>(Eigen::numext::bit_cast<Eigen::half>(bits));
}

// ---- schemas -------------------------------------------------------------------------------

using FormalParameter = onnx::OpSchema::FormalParameter;

/// The formal parameter behind input/output `index` (the last one when it is variadic).
const FormalParameter* formalAt(const std::vector<FormalParameter>& params, size_t index) {
  if (index < params.size()) return &params[index];
  if (!params.empty() && params.back().GetOption() == onnx::OpSchema::Variadic) return &params.back();
  return nullptr;
}

bool allowsType(const FormalParameter& p, const std::string& typeStr) {
  for (onnx::DataType t : p.GetTypes())
    if (t && *t == typeStr) return true;
  return false;
}

// ---- the conversion ------------------------------------------------------------------------

class FloatConverter {
 public:
  FloatConverter(Model& model, const QuantizeOptions& options, DataType half, Scope scope,
                 std::optional<std::regex> excludeNodes, QuantizationResult& result)
      : model_(model), options_(options), half_(half), scope_(std::move(scope)),
        excludeNodes_(std::move(excludeNodes)), result_(result) {}

  void run() {
    model_.graph().forEachGraph([&](Graph& g) { collectFloatValues(g); });
    if (options_.keepIoTypes) floatIoGraphs_.insert(&model_.graph());
    classify(model_.graph(), false);
    for (Value* v : floatValues_)
      if (storesHalf(*v)) half16_.insert(v);
    countNodes();
    for (Value* v : floatValues_)
      if (half16_.count(v)) convertConstant(*v);
    model_.graph().forEachGraph([&](Graph& g) {
      for (Node* n : g.nodes()) retargetDtypeAttribute(*n);
    });
    for (Value* v : floatValues_)
      if (half16_.count(v) && v->type().kind != Type::Kind::None) v->setType(retypedFloats(v->type(), half_));
    for (Value* v : floatValues_) insertCasts(*v);
    if (counts_.clamped)
      result_.bump(half_ == DataType::BFloat16 ? "values clamped to bf16 range" : "values clamped to fp16 range",
                   counts_.clamped);
    result_.bump("values flushed to zero", counts_.flushed);
    result_.bump("non-finite values kept", counts_.nonFinite);
  }

 private:
  // ---- 1. classify -------------------------------------------------------------------------

  void collectFloatValues(Graph& g) {
    auto consider = [&](Value* v) {
      if (v && !isFloat_.count(v) && holdsFloat32(*v)) {
        isFloat_.insert(v);
        floatValues_.push_back(v);
      }
    };
    for (Value* v : g.inputs()) consider(v);
    for (Value* v : g.initializers()) consider(v);
    for (Value* v : g.sparseInitializers()) consider(v);
    for (Node* n : g.nodes())
      for (Value* v : n->outputs()) consider(v);
  }

  bool callsLocalFunction(const Node& n) const {
    for (const Function& f : model_.functions)
      if (f.name == n.opType() && f.domain == n.domain()) return true;
    return false;
  }

  // Excluded by the options or the default blocklist. Scope knows ai.onnx ops only, so
  // other domains get the same three options checked here.
  bool blocked(const Node& n) const {
    const std::string& op = n.opType();
    if (isDefaultDomain(n))
      return !scope_.contains(n) || (listed(kDefaultBlocklist, op) && !listed(options_.opTypes, op));
    if (n.domain() == "ai.onnx.ml" || callsLocalFunction(n)) return true;
    if (listed(options_.excludeOpTypes, op)) return true;
    if (!options_.opTypes.empty() && !listed(options_.opTypes, op)) return true;
    return excludeNodes_ && !n.name().empty() && std::regex_search(n.name(), *excludeNodes_);
  }

  // An If/Loop/Scan converts only when its opset lets every float output take 16 bits.
  bool controlFlowTakesHalf(const Node& n) const {
    const onnx::OpSchema* s = schemaOf(n);
    if (!s) return true;
    for (size_t j = 0; j < n.numOutputs(); ++j) {
      const Value* out = n.output(j);
      if (!out || !isFloat_.count(out)) continue;
      const FormalParameter* p = formalAt(s->outputs(), j);
      if (!p || !allowsType(*p, typeString(out->type(), half_))) return false;
    }
    return true;
  }

  // Constants and Casts are never blocked: their storage follows their readers.
  void classify(Graph& g, bool forceFloat) {
    for (Node* n : g.nodes()) {
      bool kept = forceFloat;
      if (!kept && !isOp(n, "Constant") && !isOp(n, "Cast")) kept = blocked(*n);
      if (!kept && isControlFlow(*n) && !controlFlowTakesHalf(*n)) kept = true;
      if (kept) keptFloat_.insert(n);
      for (Graph* sub : n->subgraphs()) {
        if (kept) floatIoGraphs_.insert(sub);
        classify(*sub, kept);
      }
    }
  }

  const onnx::OpSchema* schemaOf(const Node& n) const {
    const std::string domain = isDefaultDomain(n) ? std::string(onnx::ONNX_DOMAIN) : n.domain();
    const std::string key = n.opType() + '\n' + domain;
    auto it = schemas_.find(key);
    if (it != schemas_.end()) return it->second;
    int64_t opset = model_.opsetVersion(domain);
    if (opset <= 0 && isDefaultDomain(n)) opset = defaultOpset(model_);
    const onnx::OpSchema* s =
        opset > 0 ? onnx::OpSchemaRegistry::Schema(n.opType(), static_cast<int>(opset), domain) : nullptr;
    schemas_.emplace(key, s);
    return s;
  }

  // ---- 2. storage --------------------------------------------------------------------------

  /// The type input `index` of `n` must receive a float32 value in: float32, the 16-bit
  /// type, or Undefined (any).
  DataType inputNeed(const Node& n, size_t index) const {
    if (readsAnyType(n, index)) return DataType::Undefined;
    if (keptFloat_.count(&n)) return DataType::Float;
    const onnx::OpSchema* s = schemaOf(n);
    if (!s) return half_;
    const FormalParameter* p = formalAt(s->inputs(), index);
    const Value* v = n.input(index);
    return p && v && allowsType(*p, typeString(v->type(), half_)) ? half_ : DataType::Float;
  }

  DataType need(const Use& u) const {
    if (!u.node) return floatIoGraphs_.count(u.graph) ? DataType::Float : half_;
    return inputNeed(*u.node, u.index);
  }

  /// Whether a converted node produces output `index` in 16 bits: its type variable is
  /// shared with an input (which then is 16-bit too), or an attribute this pass edits sets it.
  bool outputTakesHalf(const Node& n, size_t index) const {
    if (keptFloat_.count(&n)) return false;
    const onnx::OpSchema* s = schemaOf(n);
    if (!s) return true;
    const FormalParameter* p = formalAt(s->outputs(), index);
    if (!p || !allowsType(*p, typeString(n.output(index)->type(), half_))) return false;
    if (isControlFlow(n) || dtypeAttributeOf(n) || isOp(&n, "ConstantOfShape")) return true;
    for (const FormalParameter& q : s->inputs())
      if (q.GetTypeStr() == p->GetTypeStr()) return true;
    return false;
  }

  /// Constants, Casts and initializers: 16-bit when a reader needs 16 bits, except that a
  /// main-graph output decides alone (so it never needs a Cast that would have to take its name).
  bool readersWantHalf(const Value& v) const {
    bool half = false;
    for (const Use& u : v.uses()) {
      if (!u.node && !u.graph->parent()) return need(u) == half_;
      half = half || need(u) == half_;
    }
    return half;
  }

  bool storesHalf(const Value& v) const {
    if (v.isGraphInput()) return !floatIoGraphs_.count(v.graph());
    const Node* p = v.producer();
    if (!p) return readersWantHalf(v);  // initializers and sparse initializers
    if (isOp(p, "Constant") || isOp(p, "Cast")) return !keptFloat_.count(p) && readersWantHalf(v);
    return outputTakesHalf(*p, v.producerIndex());
  }

  void countNodes() {
    model_.graph().forEachGraph([&](Graph& g) {
      for (Node* n : g.nodes()) {
        bool touchesFloat = false, touchesHalf = false, wantsFloat = false;
        auto look = [&](const Value* v) {
          touchesFloat = touchesFloat || (v && isFloat_.count(v));
          touchesHalf = touchesHalf || (v && half16_.count(v));
        };
        for (size_t i = 0; i < n->numInputs(); ++i) {
          const Value* v = n->input(i);
          look(v);
          wantsFloat = wantsFloat || (v && isFloat_.count(v) && inputNeed(*n, i) == DataType::Float);
        }
        for (const Value* v : n->outputs()) look(v);
        if (!touchesFloat || isOp(n, "Constant")) continue;
        if (keptFloat_.count(n)) result_.bump("nodes kept in float32");
        else if (touchesHalf) result_.bump("nodes in 16-bit");
        else if (wantsFloat) result_.bump("nodes kept in float32: no 16-bit type in opset");
      }
    });
  }

  // ---- 3. rewrite --------------------------------------------------------------------------

  /// Rounds a float32 tensor to the 16-bit type in place; records it when `name` is given.
  void convertTensor(Tensor& t, const std::string& name) {
    std::optional<std::vector<float>> values = floatValues(t);
    if (!values) return;
    std::vector<uint8_t> bytes(values->size() * sizeof(uint16_t));
    auto* out = reinterpret_cast<uint16_t*>(bytes.data());
    const int64_t nonFiniteBefore = counts_.nonFinite;
    for (size_t i = 0; i < values->size(); ++i) out[i] = roundTo16((*values)[i], half_, counts_);
    std::vector<int64_t> dims = t.dims();
    t.setBytes(half_, std::move(dims), std::move(bytes));
    t.origin().encoding = TensorOrigin::Encoding::Raw;  // int32_data would spend up to 3 bytes per element
    result_.bump("tensors converted");
    if (name.empty() || values->size() < 2) return;

    QuantizedTensorInfo info;
    info.tensor = name;
    info.role = "weight";
    info.dtype = std::string(dataTypeName(half_));
    info.count = static_cast<int64_t>(values->size());
    std::vector<float> rounded(values->size());
    const bool nonFinite = counts_.nonFinite != nonFiniteBefore;
    for (size_t i = 0; i < values->size(); ++i) {
      rounded[i] = widen16(out[i], half_);
      if (nonFinite && !std::isfinite((*values)[i])) rounded[i] = (*values)[i] = 0.f;  // kept exactly
    }
    info.sqnrDb = sqnrDb(*values, rounded);
    result_.quantized.push_back(std::move(info));
  }

  void convertConstant(Value& v) {
    if (Tensor* t = v.initializer()) {
      convertTensor(*t, v.name());
    } else if (const SparseTensor* s = v.sparseInitializer()) {
      SparseTensor copy = s->clone();
      convertTensor(copy.values, v.name());
      Graph* g = v.graph();
      g->removeSparseInitializer(&v);  // v stays: it has readers
      g->addSparseInitializer(std::move(copy));
    } else if (Node* p = v.producer(); p && isOp(p, "Constant")) {
      Attribute& a = p->attributes()[0];  // constantReadable() held when v was collected
      if (a.name == "value") {
        convertTensor(a.tensors[0], v.name());
      } else if (a.name == "sparse_value") {
        convertTensor(a.sparseTensors[0].values, v.name());
      } else if (std::optional<Tensor> dense = constantValue(&v)) {  // value_float(s)
        convertTensor(*dense, v.name());
        const std::string scalarForm = a.name;
        p->removeAttribute(scalarForm);
        p->setAttribute(Attribute::makeTensor("value", std::move(*dense)));
      }
    }
  }

  /// Cast(to=FLOAT), ConstantOfShape and the dtype attributes of ops whose output turned 16-bit.
  void retargetDtypeAttribute(Node& n) {
    const Value* out = n.output(0);
    if (!out || !half16_.count(out) || keptFloat_.count(&n)) return;
    const int64_t to = static_cast<int64_t>(half_);
    if (isOp(&n, "Cast")) {
      n.setAttribute(Attribute::makeInt("to", to));
    } else if (isOp(&n, "ConstantOfShape")) {
      Attribute* value = n.attribute("value");
      if (!value) {
        const float zero = 0.f;
        n.setAttribute(Attribute::makeTensor("value", makeFloatTensor(half_, {1}, std::span<const float>(&zero, 1))));
      } else if (value->kind == Attribute::Kind::Tensor && !value->tensors.empty() &&
                 value->tensors[0].dtype() == DataType::Float) {
        convertTensor(value->tensors[0], "");
      }
    } else if (const char* attribute = dtypeAttributeOf(n)) {
      n.setAttribute(Attribute::makeInt(attribute, to));
    }
  }

  // ---- 4. Casts ----------------------------------------------------------------------------

  /// The Cast of `v` to `to` inside `g`, shared by every reader there; placed before the
  /// first reader of `v` in `g` (or at the end when only a graph output reads it).
  Value* castOf(Value& v, DataType to, Graph& g) {
    const auto key = std::make_tuple(static_cast<const Value*>(&v), to, static_cast<const Graph*>(&g));
    if (auto it = casts_.find(key); it != casts_.end()) return it->second;
    Node* cast = g.createNode("Cast", {&v}, 1, firstReaderIn(g, &v));
    cast->setAttribute(Attribute::makeInt("to", static_cast<int64_t>(to)));
    const std::string base = v.name() + "_" + std::string(dataTypeName(to));
    cast->setName(base + "_Cast");
    Value* out = cast->output();
    g.rename(out, g.uniqueName(base));
    Type type = v.type();
    if (type.kind == Type::Kind::None) type.kind = Type::Kind::Tensor;  // rank unknown
    type.elemType = to;
    out->setType(std::move(type));
    result_.bump("Casts inserted");
    casts_.emplace(key, out);
    return out;
  }

  /// Main-graph outputs of `v` need `to`: a Cast takes the output's name, `v` is renamed and
  /// keeps its other readers.
  void castMainOutputs(Value& v, DataType to) {
    Graph& g = *v.graph();
    const std::string name = v.name();
    const std::vector<Use> before = v.uses();
    Value* out = castOf(v, to, g);
    if (!g.replaceAllUsesWith(&v, out)) {
      result_.bump("skipped: graph outputs that could not be retyped");
      return;
    }
    for (const Use& u : before) {  // every reader but the main-graph outputs goes back to v
      if (u.node) u.node->setInput(u.index, &v);
      else if (u.graph != &g) u.graph->setOutput(u.index, &v);
    }
    out->producer()->setInput(0, &v);
    g.rename(&v, g.uniqueName(name + "_" + std::string(dataTypeName(half16_.count(&v) ? half_ : DataType::Float))));
  }

  void insertCasts(Value& v) {
    const DataType stored = half16_.count(&v) ? half_ : DataType::Float;
    const bool tensor = isTensorValue(v);
    std::optional<DataType> mainNeed;
    for (const Use& u : v.uses())
      if (!u.node && !u.graph->parent() && need(u) != stored) mainNeed = need(u);
    if (mainNeed) {
      if (!tensor) return result_.bump("skipped: non-tensor values crossing a float32/16-bit boundary");
      castMainOutputs(v, *mainNeed);
    }
    const std::vector<Use> uses = v.uses();
    for (const Use& u : uses) {
      if (!u.node && !u.graph->parent()) continue;  // main-graph outputs: done above
      const DataType wanted = need(u);
      if (wanted == DataType::Undefined || wanted == stored) continue;
      if (!tensor) {
        result_.bump("skipped: non-tensor values crossing a float32/16-bit boundary");
        continue;
      }
      if (u.node) u.node->setInput(u.index, castOf(v, wanted, *u.node->graph()));
      else u.graph->setOutput(u.index, castOf(v, wanted, *u.graph));
    }
  }

  Model& model_;
  const QuantizeOptions& options_;
  const DataType half_;
  const Scope scope_;
  const std::optional<std::regex> excludeNodes_;
  QuantizationResult& result_;

  std::vector<Value*> floatValues_;              // every float32 value (tensor or nested), graph by graph
  std::unordered_set<const Value*> isFloat_;     // the same, for lookups
  std::unordered_set<const Value*> half16_;      // those stored in 16 bits after the pass
  std::unordered_set<const Node*> keptFloat_;    // nodes that compute in float32
  std::unordered_set<const Graph*> floatIoGraphs_;  // graphs whose inputs and outputs stay float32
  mutable std::unordered_map<std::string, const onnx::OpSchema*> schemas_;
  std::map<std::tuple<const Value*, DataType, const Graph*>, Value*> casts_;
  RoundingCounts counts_;
};

}  // namespace

Expected<QuantizationResult> convertFloat(Model& model, const QuantizeOptions& options) {
  DataType half;
  if (options.mode == "fp16") half = DataType::Float16;
  else if (options.mode == "bf16") half = DataType::BFloat16;
  else return usageError("convertFloat: mode '{}' is not fp16 or bf16", options.mode);
  const int64_t opset = defaultOpset(model);
  if (opset < 6) return usageError("mode={} needs ai.onnx opset >= 6 (Cast); the model has {}", options.mode, opset);
  if (half == DataType::BFloat16 && opset < 13)
    return usageError("mode=bf16 needs ai.onnx opset >= 13 (Cast to bfloat16); the model has {}: "
                      "run convert-opset first", opset);

  std::vector<std::string> allOps;  // Scope's default: every ai.onnx op of the model
  model.graph().forEachGraph([&](const Graph& g) {
    for (const Node* n : g.nodes())
      if (isDefaultDomain(*n) && !listed(allOps, n->opType())) allOps.push_back(n->opType());
  });
  ASSIGN_OR_RETURN(Scope scope, Scope::create(options, std::move(allOps)));
  std::optional<std::regex> excludeNodes;
  if (!options.excludeNodes.empty()) {
    try {
      excludeNodes.emplace(options.excludeNodes, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return usageError("exclude-nodes '{}' is not a valid regular expression: {}", options.excludeNodes, e.what());
    }
  }

  (void)inferShapes(model);  // element types of intermediate values; unknown ones are left as produced
  QuantizationResult result;
  FloatConverter(model, options, half, std::move(scope), std::move(excludeNodes), result).run();
  return result;
}

}  // namespace onnxpress::quant
