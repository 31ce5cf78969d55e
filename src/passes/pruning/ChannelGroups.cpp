#include "onnxpress/passes/pruning/ChannelGroups.h"

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/cleanup/CleanupUtil.h"

namespace onnxpress::pruning {
namespace {

bool oneOf(std::string_view op, std::initializer_list<std::string_view> ops) {
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

// y[i] = f(x[i]): channel i of y depends on channel i of x alone.
bool isUnary(std::string_view op) {
  return oneOf(op, {"Relu",     "LeakyRelu", "Elu",   "Selu",     "Celu",  "Sigmoid",  "HardSigmoid", "HardSwish",
                    "Tanh",     "Softplus",  "Softsign", "Gelu",   "Mish",  "Erf",      "Abs",         "Neg",
                    "Exp",      "Log",       "Sqrt",  "Reciprocal", "Floor", "Ceil",    "Round",       "Sign",
                    "Sin",      "Cos",       "Tan",   "Asin",     "Acos",  "Atan",     "Sinh",        "Cosh",
                    "Asinh",    "Acosh",     "Atanh", "ThresholdedRelu", "Shrink", "Clip", "Not",     "IsNaN",
                    "IsInf",    "Identity",  "Dropout", "Cast"});
}

// Broadcasting elementwise ops with any number of inputs.
bool isElementwise(std::string_view op) {
  return oneOf(op, {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "PRelu", "Where", "Equal",
                    "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Mod", "BitShift"});
}

// Pool over the spatial axes of [N, C, spatial...]; channels stay apart.
bool isPool(std::string_view op) {
  return oneOf(op, {"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"});
}

bool isReduce(std::string_view op) {
  return oneOf(op, {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                    "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"});
}

// v's dims as numbers, for the products Flatten/Reshape mapping compares. Dims from
// `fixedFrom` on must be fixed; earlier symbolic or unknown dims (a dynamic batch)
// stand in as distinct large primes, equal for equal symbols, so products still
// match only where the target shape copies (0) or infers (-1) them.
std::optional<std::vector<int64_t>> numericDims(const Value* v, size_t fixedFrom) {
  static constexpr int64_t kPrimes[] = {1000003, 1000033, 1000037, 1000039, 1000081, 1000099};
  auto dims = knownDims(v);
  if (!dims) return std::nullopt;
  std::vector<int64_t> out;
  std::vector<std::string> symbols;
  for (size_t i = 0; i < dims->size(); ++i) {
    const Dim& d = (*dims)[i];
    if (d.isFixed()) {
      out.push_back(d.value);
      continue;
    }
    if (i >= fixedFrom) return std::nullopt;
    auto known = d.kind == Dim::Kind::Param ? std::find(symbols.begin(), symbols.end(), d.param) : symbols.end();
    if (known == symbols.end()) {
      if (symbols.size() == std::size(kPrimes)) return std::nullopt;
      symbols.push_back(d.kind == Dim::Kind::Param ? d.param : "?" + std::to_string(i));
      known = symbols.end() - 1;
    }
    out.push_back(kPrimes[known - symbols.begin()]);
  }
  return out;
}

bool onlyFirstOutputUsed(const Node& n) {
  for (size_t i = 1; i < n.numOutputs(); ++i)
    if (n.output(i) && n.output(i)->hasUses()) return false;
  return true;
}

}  // namespace

// Walks one graph in topological order, keeping a TrackedAxis per value that carries
// group channels (see ChannelGroups.h).
class ChannelGroupBuilder {
 public:
  ChannelGroupBuilder(ChannelGroups& out, int64_t opset, const std::unordered_map<const Node*, double>& producers)
      : out_(out), opset_(opset), producers_(producers) {}

  void run(Graph& graph) {
    auto order = graph.topologicalOrder();
    if (!order) {
      for (Node* n : graph.nodes()) out_.unusableProducers_ += producers_.count(n) ? 1 : 0;
      return;
    }
    for (size_t i = 0; i < order->size(); ++i) visit((*order)[i], i);
  }

 private:
  // ---- state ----------------------------------------------------------------------------
  const TrackedAxis* state(const Value* v) const {
    if (!v) return nullptr;
    auto it = out_.tracked_.find(const_cast<Value*>(v));
    return it == out_.tracked_.end() ? nullptr : &it->second;
  }

  static int64_t positiveAxis(const TrackedAxis& t) { return t.rank >= 0 ? t.rank + t.axisFromEnd : -1; }

  int64_t channels(int group) const { return out_.groups_[static_cast<size_t>(out_.find(group))].channels; }
  ChannelGroup& root(int group) { return out_.groups_[static_cast<size_t>(out_.find(group))]; }

  int newGroup(int64_t channels) {
    const int id = static_cast<int>(out_.groups_.size());
    out_.groups_.emplace_back();
    out_.groups_.back().channels = channels;
    out_.parent_.push_back(id);
    return id;
  }

  void merge(int a, int b) {
    int ra = out_.find(a), rb = out_.find(b);
    if (ra == rb) return;
    if (rb < ra) std::swap(ra, rb);
    out_.parent_[static_cast<size_t>(rb)] = ra;
    ChannelGroup& into = out_.groups_[static_cast<size_t>(ra)];
    ChannelGroup& from = out_.groups_[static_cast<size_t>(rb)];
    for (auto& p : from.producers) into.producers.push_back(p);
    for (auto& s : from.slices) into.slices.push_back(s);
    for (int64_t b2 : from.blocks) into.blocks.push_back(b2);
    if (into.skipReason.empty()) into.skipReason = from.skipReason;
    from = ChannelGroup{};
  }

  void poison(const TrackedAxis& t, const std::string& reason) {
    for (const ChannelSegment& s : t.segments) {
      ChannelGroup& g = root(s.group);
      if (g.skipReason.empty()) g.skipReason = reason;
    }
  }

  void poisonInputs(const Node* n, const std::string& reason) {
    for (const Value* v : n->inputs())
      if (const TrackedAxis* t = state(v)) poison(*t, n->describe() + ": " + reason);
  }

  void setState(Value* v, TrackedAxis t) {
    if (!v) return;
    if (auto r = knownRank(v)) t.rank = *r;
    if (t.rank >= 0 && t.axisFromEnd < -t.rank) {
      poison(t, "rank of '" + v->name() + "' is smaller than its tracked axis");
      return;
    }
    for (const Use& u : v->uses()) {
      if (!u.node) {
        poison(t, "'" + v->name() + "' is a graph output");
        break;
      }
      if (u.node->graph() != v->graph()) {
        poison(t, "'" + v->name() + "' is read inside a subgraph");
        break;
      }
    }
    out_.tracked_[v] = std::move(t);
  }

  static TrackedAxis scaled(TrackedAxis t, int64_t axisFromEnd, int64_t rank, int64_t scale) {
    t.axisFromEnd = axisFromEnd;
    t.rank = rank;
    for (ChannelSegment& s : t.segments) {
      s.offset *= scale;
      s.block *= scale;
    }
    return t;
  }

  std::optional<int64_t> extent(const Value* v, const TrackedAxis& t) const {
    auto dims = knownDims(v);
    if (!dims || t.rank < 0 || static_cast<int64_t>(dims->size()) != t.rank) return std::nullopt;
    const Dim& d = (*dims)[static_cast<size_t>(positiveAxis(t))];
    return d.isFixed() ? std::optional<int64_t>(d.value) : std::nullopt;
  }

  // Records that constant input `input` of `n` shrinks along `axis` with the channels of
  // `t` (their offsets and blocks times `scale`). False (groups poisoned) when the
  // constant is missing or too small for them.
  bool addSlices(const TrackedAxis& t, Node* n, size_t input, int64_t axis, int64_t scale = 1) {
    auto dims = constantDims(n->input(input));
    if (!dims || axis < 0 || axis >= static_cast<int64_t>(dims->size())) {
      poisonInputs(n, "input " + std::to_string(input) + " is not a constant it can slice");
      return false;
    }
    for (const ChannelSegment& s : t.segments)
      if ((s.offset + channels(s.group) * s.block) * scale > (*dims)[static_cast<size_t>(axis)]) {
        poisonInputs(n, "input " + std::to_string(input) + " has fewer entries than the channels");
        return false;
      }
    for (const ChannelSegment& s : t.segments)
      root(s.group).slices.push_back({n, input, axis, s.offset * scale, s.block * scale, 0});
    return true;
  }

  // The input-0 state when input 0 is the only tracked input, else null (groups poisoned).
  const TrackedAxis* onlyFirstInput(const Node* n, const std::vector<size_t>& trackedInputs) {
    if (trackedInputs.size() == 1 && trackedInputs[0] == 0) return state(n->input(0));
    poisonInputs(n, "channels reach an input other than the data input");
    return nullptr;
  }

  void unusable() { ++out_.unusableProducers_; }

  // ---- traversal --------------------------------------------------------------------------
  void visit(Node* n, size_t order) {
    std::vector<size_t> trackedInputs;
    for (size_t i = 0; i < n->numInputs(); ++i)
      if (state(n->input(i))) trackedInputs.push_back(i);
    const bool isProducer = producers_.count(n) > 0;
    if (trackedInputs.empty()) {
      if (isProducer) seed(n, order);
      return;
    }
    if (!isDefaultDomain(*n)) return poisonInputs(n, "not a standard ONNX op");
    const std::string& op = n->opType();
    if (op == "Conv") return visitConv(n, order, isProducer, trackedInputs);
    if (op == "ConvTranspose") return visitConvTranspose(n, trackedInputs);
    if (op == "Gemm" || op == "MatMul") {
      visitMatrixConsumer(n, trackedInputs);
      if (isProducer) seed(n, order);
      return;
    }
    if (!onlyFirstOutputUsed(*n)) return poisonInputs(n, "a second output is in use");
    if (isUnary(op)) return visitUnary(n, trackedInputs);
    if (isElementwise(op)) return visitElementwise(n, trackedInputs);
    if (op == "BatchNormalization" || op == "InstanceNormalization") return visitNormalization(n, trackedInputs);
    if (isPool(op)) return visitPool(n, trackedInputs);
    if (op == "Concat") return visitConcat(n);
    if (op == "Flatten") return visitFlatten(n, trackedInputs);
    if (op == "Reshape") return visitReshape(n, trackedInputs);
    if (op == "Transpose") return visitTranspose(n, trackedInputs);
    if (op == "Squeeze" || op == "Unsqueeze") return visitSqueeze(n, trackedInputs);
    if (isReduce(op)) return visitReduce(n, trackedInputs);
    if (op == "Slice") return visitSlice(n, trackedInputs);
    if (op == "Resize" || op == "Upsample") return visitResize(n, trackedInputs);
    if (op == "Pad") return visitPad(n, trackedInputs);
    poisonInputs(n, "does not keep channels apart");
  }

  // A producer's output channels start a group.
  void seed(Node* n, size_t order) {
    const std::string& op = n->opType();
    auto w = constantDims(n->input(1));
    if (!w || !isDefaultDomain(*n)) return unusable();
    int64_t channels = 0, axisFromEnd = -1, rank = -1;
    std::vector<int64_t> blocks;
    std::vector<ConstantSlice> slices;
    if (op == "Conv") {
      if (w->size() < 3) return unusable();
      channels = (*w)[0];
      const int64_t groups = n->intAttr("group", 1);
      if (groups < 1 || channels % groups != 0) return unusable();
      if (groups > 1) {
        if (channels == groups) return unusable();  // one output per conv group: none can go alone
        blocks.push_back(groups);
      }
      rank = static_cast<int64_t>(w->size());
      axisFromEnd = 1 - rank;
      slices.push_back({n, 1, 0, 0, 1, 0});
      if (Value* bias = n->input(2)) {
        auto b = constantDims(bias);
        if (!b || b->size() != 1 || (*b)[0] != channels) return unusable();
        slices.push_back({n, 2, 0, 0, 1, 0});
      }
    } else if (op == "Gemm") {
      if (w->size() != 2) return unusable();
      const bool transB = n->intAttr("transB", 0) != 0;
      channels = transB ? (*w)[0] : (*w)[1];
      rank = 2;
      slices.push_back({n, 1, transB ? 0 : 1, 0, 1, 0});
      if (Value* c = n->input(2)) {
        auto cd = constantDims(c);
        if (!cd || cd->size() > 2) return unusable();
        if (!cd->empty() && cd->back() != 1) {
          if (cd->back() != channels) return unusable();
          slices.push_back({n, 2, static_cast<int64_t>(cd->size()) - 1, 0, 1, 0});
        }
      }
    } else if (op == "MatMul") {
      if (w->size() < 2) return unusable();
      channels = w->back();
      slices.push_back({n, 1, static_cast<int64_t>(w->size()) - 1, 0, 1, 0});
    } else {
      return unusable();
    }
    if (channels < 1) return unusable();
    const int id = newGroup(channels);
    ChannelGroup& g = out_.groups_[static_cast<size_t>(id)];
    g.producers.push_back({n, order, producers_.at(n)});
    g.slices = std::move(slices);
    g.blocks = std::move(blocks);
    setState(n->output(0), TrackedAxis{axisFromEnd, rank, {ChannelSegment{id, 0, 1}}});
  }

  void visitConv(Node* n, size_t order, bool isProducer, const std::vector<size_t>& trackedInputs) {
    auto finish = [&] {
      if (isProducer) seed(n, order);
    };
    const TrackedAxis* in = onlyFirstInput(n, trackedInputs);
    if (!in) return finish();
    const TrackedAxis t = *in;
    auto w = constantDims(n->input(1));
    if (!w || w->size() < 3 || t.rank != static_cast<int64_t>(w->size()) || positiveAxis(t) != 1) {
      poisonInputs(n, "reads channels through a weight it cannot slice");
      return finish();
    }
    const int64_t groups = n->intAttr("group", 1), perGroup = (*w)[1], cout = (*w)[0];
    if (groups == 1) {
      addSlices(t, n, 1, 1);
      return finish();
    }
    if (perGroup == 1) {  // depthwise: output channels c*m..(c+1)*m-1 come from input channel c
      const auto e = extent(n->input(0), t);
      if (groups < 1 || cout % groups != 0 || (e && *e != groups)) return poisonInputs(n, "inconsistent group");
      const int64_t multiplier = cout / groups;
      if (!addSlices(t, n, 1, 0, multiplier)) return;
      if (n->input(2) && !addSlices(t, n, 2, 0, multiplier)) return;
      out_.depthwise_.push_back(n);
      setState(n->output(0), scaled(t, t.axisFromEnd, t.rank, multiplier));
      return;
    }
    // Grouped: every conv group must keep the same number of input channels.
    const ChannelSegment s = t.segments.empty() ? ChannelSegment{} : t.segments.front();
    if (t.segments.size() != 1 || s.offset != 0 || s.block != 1 || channels(s.group) != groups * perGroup) {
      poisonInputs(n, "grouped Conv reads channels of several groups");
      return finish();
    }
    ChannelGroup& g = root(s.group);
    g.blocks.push_back(groups);
    g.slices.push_back({n, 1, 1, 0, 1, groups});
    finish();
  }

  void visitConvTranspose(Node* n, const std::vector<size_t>& trackedInputs) {
    const TrackedAxis* in = onlyFirstInput(n, trackedInputs);
    if (!in) return;
    auto w = constantDims(n->input(1));
    if (!w || n->intAttr("group", 1) != 1 || in->rank != static_cast<int64_t>(w->size()) || positiveAxis(*in) != 1)
      return poisonInputs(n, "reads channels through a weight it cannot slice");
    addSlices(*in, n, 1, 0);
  }

  // Gemm/MatMul reduce over A's last axis (Gemm: the K axis): their weight's K axis shrinks.
  void visitMatrixConsumer(Node* n, const std::vector<size_t>& trackedInputs) {
    const TrackedAxis* a = onlyFirstInput(n, trackedInputs);
    if (!a) return;
    auto w = constantDims(n->input(1));
    if (!w) return poisonInputs(n, "reads channels through a weight it cannot slice");
    if (n->opType() == "Gemm") {
      const int64_t kAxis = n->intAttr("transA", 0) != 0 ? -2 : -1;
      if (a->rank != 2 || a->axisFromEnd != kAxis || w->size() != 2)
        return poisonInputs(n, "channels are not Gemm's reduction axis");
      addSlices(*a, n, 1, n->intAttr("transB", 0) != 0 ? 1 : 0);
      return;
    }
    if (a->axisFromEnd != -1) return poisonInputs(n, "channels are not MatMul's reduction axis");
    addSlices(*a, n, 1, w->size() >= 2 ? static_cast<int64_t>(w->size()) - 2 : 0);
  }

  void visitUnary(Node* n, const std::vector<size_t>& trackedInputs) {
    if (const TrackedAxis* in = onlyFirstInput(n, trackedInputs)) setState(n->output(0), *in);
  }

  void visitElementwise(Node* n, const std::vector<size_t>& trackedInputs) {
    Value* refValue = n->input(trackedInputs[0]);
    const TrackedAxis ref = *state(refValue);
    for (size_t k = 1; k < trackedInputs.size(); ++k) {
      const TrackedAxis& other = *state(n->input(trackedInputs[k]));
      bool same = other.axisFromEnd == ref.axisFromEnd && other.segments.size() == ref.segments.size();
      for (size_t i = 0; same && i < ref.segments.size(); ++i) {
        const ChannelSegment &a = ref.segments[i], &b = other.segments[i];
        same = a.offset == b.offset && a.block == b.block && channels(a.group) == channels(b.group);
      }
      if (!same) return poisonInputs(n, "operands carry different channels");
    }
    for (size_t k = 1; k < trackedInputs.size(); ++k) {
      const TrackedAxis& other = *state(n->input(trackedInputs[k]));
      for (size_t i = 0; i < ref.segments.size(); ++i) merge(ref.segments[i].group, other.segments[i].group);
    }
    int64_t outRank = 0;
    for (size_t i = 0; i < n->numInputs(); ++i) {
      Value* x = n->input(i);
      if (!x) continue;
      if (const TrackedAxis* t = state(x)) {
        outRank = outRank >= 0 && t->rank >= 0 ? std::max(outRank, t->rank) : -1;
        continue;
      }
      auto dims = knownDims(x);
      if (!dims) return poisonInputs(n, "an operand of unknown rank");
      const auto rank = static_cast<int64_t>(dims->size());
      if (outRank >= 0) outRank = std::max(outRank, rank);
      const int64_t axis = rank + ref.axisFromEnd;
      if (axis < 0) continue;  // broadcast along the channels
      const Dim& d = (*dims)[static_cast<size_t>(axis)];
      if (d.isFixed() && d.value == 1) continue;
      const auto e = extent(refValue, ref);
      if (!isConstant(x) || !d.isFixed() || !e || d.value != *e)
        return poisonInputs(n, "an operand varies along the channels and is not a constant");
      if (!addSlices(ref, n, i, axis)) return;
    }
    setState(n->output(0), TrackedAxis{ref.axisFromEnd, outRank, ref.segments});
  }

  void visitNormalization(Node* n, const std::vector<size_t>& trackedInputs) {
    const TrackedAxis* in = onlyFirstInput(n, trackedInputs);
    if (!in) return;
    const TrackedAxis t = *in;
    if (positiveAxis(t) != 1) return poisonInputs(n, "channels are not axis 1");
    for (size_t i = 1; i < n->numInputs(); ++i)
      if (n->input(i) && !addSlices(t, n, i, 0)) return;
    setState(n->output(0), t);
  }

  void visitPool(Node* n, const std::vector<size_t>& trackedInputs) {
    const TrackedAxis* in = onlyFirstInput(n, trackedInputs);
    if (!in) return;
    if (positiveAxis(*in) != 1) return poisonInputs(n, "pools over the channel axis");
    setState(n->output(0), *in);
  }

  void visitConcat(Node* n) {
    int64_t rank = -1;
    for (Value* v : n->inputs())
      if (const TrackedAxis* t = state(v)) rank = t->rank;
    int64_t axis = n->intAttr("axis", 1);
    if (rank < 0) return poisonInputs(n, "rank unknown");
    if (axis < 0) axis += rank;
    TrackedAxis out{axis - rank, rank, {}};
    int64_t offset = 0;
    for (Value* v : n->inputs()) {
      if (!v) continue;
      const TrackedAxis* t = state(v);
      if (t && (t->rank != rank || positiveAxis(*t) != axis))
        return poisonInputs(n, "concatenates along another axis than the channels");
      auto dims = knownDims(v);
      if (!dims || static_cast<int64_t>(dims->size()) != rank || !(*dims)[static_cast<size_t>(axis)].isFixed())
        return poisonInputs(n, "an input's size along the axis is unknown");
      if (t)
        for (ChannelSegment s : t->segments) {
          s.offset += offset;
          out.segments.push_back(s);
        }
      offset += (*dims)[static_cast<size_t>(axis)].value;
    }
    setState(n->output(0), out);
  }

  // Flatten at the channel axis: channel c becomes the columns c*S..(c+1)*S-1, S = the
  // product of the dims after it.
  void visitFlatten(Node* n, const std::vector<size_t>& trackedInputs) {
    const TrackedAxis* in = onlyFirstInput(n, trackedInputs);
    if (!in) return;
    const TrackedAxis t = *in;
    int64_t axis = n->intAttr("axis", 1);
    if (t.rank >= 0 && axis < 0) axis += t.rank;
    const int64_t p = positiveAxis(t);
    auto shape = p < 0 ? std::nullopt : numericDims(n->input(0), static_cast<size_t>(p));
    if (p < 0 || p != axis || !shape) return poisonInputs(n, "does not start flattening at the channels");
    setState(n->output(0), scaled(t, -1, 2, elementCount(*shape, static_cast<size_t>(p) + 1, shape->size())));
  }

  // Reshape that keeps the dims before the channel axis and merges it with the dims
  // right after it (to [N, C*H*W], or [N, C, H*W]); splitting the channel axis is not followed.
  void visitReshape(Node* n, const std::vector<size_t>& trackedInputs) {
    const TrackedAxis* tracked = onlyFirstInput(n, trackedInputs);
    if (!tracked) return;
    const TrackedAxis t = *tracked;
    auto shape = constantInts(n->input(1));
    const int64_t p = positiveAxis(t);
    auto in = p < 0 ? std::nullopt : numericDims(n->input(0), static_cast<size_t>(p));
    if (opset_ < 5 || !shape || !in || p < 0 || n->intAttr("allowzero", 0) != 0)
      return poisonInputs(n, "target shape not constant or input shape unknown");
    const int64_t total = elementCount(*in, 0, in->size());
    std::vector<int64_t> out(shape->size());
    int64_t inferred = -1, known = 1;
    for (size_t i = 0; i < shape->size(); ++i) {
      const int64_t s = (*shape)[i];
      if (s == 0 && i >= in->size()) return poisonInputs(n, "invalid target shape");
      if (s == -1) {
        if (inferred >= 0) return poisonInputs(n, "invalid target shape");
        inferred = static_cast<int64_t>(i);
        continue;
      }
      if (s < -1) return poisonInputs(n, "invalid target shape");
      out[i] = s == 0 ? (*in)[i] : s;
      known *= out[i];
    }
    if (inferred >= 0) {
      if (known <= 0 || total % known != 0) return poisonInputs(n, "invalid target shape");
      out[static_cast<size_t>(inferred)] = total / known;
    }
    if (elementCount(out, 0, out.size()) != total || (*in)[static_cast<size_t>(p)] < 1)
      return poisonInputs(n, "invalid target shape");
    // q: the output axis that starts where the channel axis starts.
    const int64_t before = elementCount(*in, 0, static_cast<size_t>(p));
    size_t q = 0;
    int64_t acc = 1;
    while (q < out.size() && acc < before) acc *= out[q++];
    while (q < out.size() && out[q] == 1 && (*in)[static_cast<size_t>(p)] != 1) ++q;
    if (acc != before || q == out.size()) return poisonInputs(n, "reshape splits or moves the channels");
    int64_t merged = 1;
    size_t k = static_cast<size_t>(p);
    while (k < in->size() && merged < out[q]) merged *= (*in)[k++];
    if (merged != out[q]) return poisonInputs(n, "reshape splits the channel axis");
    const int64_t scale = out[q] / (*in)[static_cast<size_t>(p)];
    const int64_t entry = (*shape)[q];
    if (entry == 0 && !(q == static_cast<size_t>(p) && scale == 1)) return poisonInputs(n, "copies a changing dim");
    if (static_cast<size_t>(p) < shape->size() && (*shape)[static_cast<size_t>(p)] == 0 && q != static_cast<size_t>(p))
      return poisonInputs(n, "copies the channel dim to another axis");
    if (entry > 0) out_.reshapeDims_.emplace_back(n, q);
    const auto outRank = static_cast<int64_t>(out.size());
    setState(n->output(0), scaled(t, static_cast<int64_t>(q) - outRank, outRank, scale));
  }

  void visitTranspose(Node* n, const std::vector<size_t>& trackedInputs) {
    const TrackedAxis* in = onlyFirstInput(n, trackedInputs);
    if (!in) return;
    if (in->rank < 0) return poisonInputs(n, "rank unknown");
    std::vector<int64_t> perm = n->intsAttr("perm");
    if (perm.empty())
      for (int64_t i = in->rank - 1; i >= 0; --i) perm.push_back(i);
    auto at = std::find(perm.begin(), perm.end(), positiveAxis(*in));
    if (static_cast<int64_t>(perm.size()) != in->rank || at == perm.end()) return poisonInputs(n, "invalid perm");
    const int64_t q = at - perm.begin();
    setState(n->output(0), scaled(*in, q - in->rank, in->rank, 1));
  }

  // Axes of Squeeze/Unsqueeze/Reduce*: an attribute before `inputFrom`, input 1 from then.
  std::optional<std::vector<int64_t>> axesOf(const Node& n, int64_t inputFrom) const {
    if (opset_ < inputFrom) return n.intsAttr("axes");
    if (!n.input(1)) return std::vector<int64_t>{};
    return constantInts(n.input(1));
  }

  static std::vector<int64_t> normalized(std::vector<int64_t> axes, int64_t rank) {
    for (int64_t& a : axes)
      if (a < 0) a += rank;
    std::sort(axes.begin(), axes.end());
    axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
    return axes;
  }

  void visitSqueeze(Node* n, const std::vector<size_t>& trackedInputs) {
    const TrackedAxis* in = onlyFirstInput(n, trackedInputs);
    if (!in) return;
    const TrackedAxis t = *in;
    auto axes = axesOf(*n, 13);
    const int64_t p = positiveAxis(t);
    if (!axes || p < 0) return poisonInputs(n, "axes or rank unknown");
    if (n->opType() == "Unsqueeze") {
      const int64_t outRank = t.rank + static_cast<int64_t>(axes->size());
      const std::vector<int64_t> inserted = normalized(*axes, outRank);
      int64_t q = 0;
      for (int64_t kept = -1; q < outRank; ++q)
        if (!std::binary_search(inserted.begin(), inserted.end(), q) && ++kept == p) break;
      return setState(n->output(0), scaled(t, q - outRank, outRank, 1));
    }
    std::vector<int64_t> removed;
    if (axes->empty()) {  // every dim of size 1
      auto dims = knownDims(n->input(0));
      if (!dims) return poisonInputs(n, "input dims unknown");
      for (size_t i = 0; i < dims->size(); ++i) {
        if (!(*dims)[i].isFixed()) return poisonInputs(n, "input dims unknown");
        if ((*dims)[i].value == 1) removed.push_back(static_cast<int64_t>(i));
      }
    } else {
      removed = normalized(*axes, t.rank);
    }
    if (std::binary_search(removed.begin(), removed.end(), p)) return poisonInputs(n, "squeezes the channel axis");
    const auto outRank = t.rank - static_cast<int64_t>(removed.size());
    const int64_t q = p - (std::lower_bound(removed.begin(), removed.end(), p) - removed.begin());
    setState(n->output(0), scaled(t, q - outRank, outRank, 1));
  }

  void visitReduce(Node* n, const std::vector<size_t>& trackedInputs) {
    const TrackedAxis* in = onlyFirstInput(n, trackedInputs);
    if (!in) return;
    const TrackedAxis t = *in;
    auto axes = axesOf(*n, n->opType() == "ReduceSum" ? 13 : 18);
    const int64_t p = positiveAxis(t);
    if (!axes || p < 0) return poisonInputs(n, "axes or rank unknown");
    if (axes->empty()) {
      if (n->intAttr("noop_with_empty_axes", 0) != 0) return setState(n->output(0), t);
      return poisonInputs(n, "reduces over the channels");
    }
    const std::vector<int64_t> reduced = normalized(*axes, t.rank);
    if (std::binary_search(reduced.begin(), reduced.end(), p)) return poisonInputs(n, "reduces over the channels");
    if (n->intAttr("keepdims", 1) != 0) return setState(n->output(0), t);
    const auto outRank = t.rank - static_cast<int64_t>(reduced.size());
    const int64_t q = p - (std::lower_bound(reduced.begin(), reduced.end(), p) - reduced.begin());
    setState(n->output(0), scaled(t, q - outRank, outRank, 1));
  }

  void visitSlice(Node* n, const std::vector<size_t>& trackedInputs) {
    const TrackedAxis* in = onlyFirstInput(n, trackedInputs);
    if (!in) return;
    auto spec = cleanup::sliceSpec(*n, opset_);
    const int64_t p = positiveAxis(*in);
    if (!spec || p < 0) return poisonInputs(n, "slice parameters or rank unknown");
    for (int64_t a : normalized(spec->axes, in->rank))
      if (a == p) return poisonInputs(n, "slices the channel axis");
    setState(n->output(0), *in);
  }

  // Resize/Upsample by constant scales that are 1 along the channels (no `sizes`,
  // which would spell the channel count out).
  void visitResize(Node* n, const std::vector<size_t>& trackedInputs) {
    const TrackedAxis* in = onlyFirstInput(n, trackedInputs);
    if (!in) return;
    const int64_t p = positiveAxis(*in);
    const bool resize = n->opType() == "Resize";
    const size_t scalesInput = resize && opset_ >= 11 ? 2 : 1;
    std::optional<std::vector<float>> scales;
    if (!resize && opset_ < 9) {
      scales = n->attribute("scales") ? std::optional<std::vector<float>>(n->attribute("scales")->floats) : std::nullopt;
    } else if (auto t = constantValue(n->input(scalesInput))) {
      scales = floatValues(*t);
    }
    auto sizes = resize && opset_ >= 11 && n->input(3) ? constantDims(n->input(3)) : std::nullopt;
    const bool hasSizes = resize && opset_ >= 11 && n->input(3) && (!sizes || elementCount(*sizes) > 0);
    if (p < 0 || hasSizes || !scales || static_cast<int64_t>(scales->size()) != in->rank ||
        (*scales)[static_cast<size_t>(p)] != 1.0f)
      return poisonInputs(n, "resizes along the channels or by a target size");
    setState(n->output(0), *in);
  }

  // Pad that adds nothing along the channels (constant pads; no `axes` input).
  void visitPad(Node* n, const std::vector<size_t>& trackedInputs) {
    const TrackedAxis* in = onlyFirstInput(n, trackedInputs);
    if (!in) return;
    const int64_t p = positiveAxis(*in);
    std::optional<std::vector<int64_t>> pads =
        opset_ < 11 ? std::optional<std::vector<int64_t>>(n->intsAttr("pads")) : constantInts(n->input(1));
    if (p < 0 || !pads || static_cast<int64_t>(pads->size()) != 2 * in->rank || n->input(3) ||
        (*pads)[static_cast<size_t>(p)] != 0 || (*pads)[static_cast<size_t>(p + in->rank)] != 0)
      return poisonInputs(n, "pads along the channels");
    setState(n->output(0), *in);
  }

  ChannelGroups& out_;
  int64_t opset_;
  const std::unordered_map<const Node*, double>& producers_;
};

ChannelGroups ChannelGroups::analyze(Graph& graph, int64_t opset,
                                     const std::unordered_map<const Node*, double>& producers) {
  ChannelGroups groups;
  ChannelGroupBuilder(groups, opset, producers).run(graph);
  return groups;
}

int ChannelGroups::find(int group) const {
  auto g = static_cast<size_t>(group);
  while (parent_[g] != static_cast<int>(g)) {
    parent_[g] = parent_[static_cast<size_t>(parent_[g])];
    g = static_cast<size_t>(parent_[g]);
  }
  return static_cast<int>(g);
}

std::vector<int> ChannelGroups::roots() const {
  std::vector<int> out;
  for (size_t i = 0; i < parent_.size(); ++i)
    if (find(static_cast<int>(i)) == static_cast<int>(i)) out.push_back(static_cast<int>(i));
  return out;
}

}  // namespace onnxpress::pruning
