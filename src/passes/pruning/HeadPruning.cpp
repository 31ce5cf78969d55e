#include "onnxpress/passes/pruning/HeadPruning.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>
#include <regex>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/cleanup/CleanupUtil.h"
#include "onnxpress/passes/pruning/PruneParse.h"
#include "onnxpress/passes/pruning/PruneTargets.h"

namespace onnxpress {
namespace {

using Ranges = std::vector<std::pair<int64_t, int64_t>>;  // (start, length) along one axis

// ---- reading the graph -----------------------------------------------------------------

// One element of a Reshape's shape: in the constant shape itself (offset), or in
// constant input `concatInput` of the Concat that builds it.
struct ShapeElement {
  int64_t value = 0;
  size_t concatInput = 0;
  size_t offset = 0;
};

struct ReshapeShape {
  Node* reshape = nullptr;
  Node* concat = nullptr;          // null: the shape is one constant
  std::vector<ShapeElement> tail;  // the trailing elements, in order
};

// A Q, K or V projection, from its MatMul to the Transpose that puts heads on axis 1.
struct Projection {
  Node* matmul = nullptr;
  Node* biasAdd = nullptr;
  size_t biasInput = 0;
  ReshapeShape split;             // Reshape to [B, S, H, d]: tail = (H or -1, d or -1)
  int64_t heads = 0, width = 0;   // H and d
  Value* splitOutput = nullptr;   // [B, S, H, d]
  std::vector<Value*> lastAxis;   // [.., H*d]: the MatMul (and bias Add) outputs
  std::vector<Value*> headAxis1;  // [B, H, ., .] from the transpose on
};

struct AttentionMatch {
  AttentionBlock block;
  Projection q, k, v;
  Node* softmax = nullptr;
  ReshapeShape merge;              // Reshape to [B, S, H*dv]: tail = (H*dv or -1)
  std::vector<Value*> headAxis1;   // scores .. context, [B, H, S, .]
  Value* contextT = nullptr;       // [B, S, H, dv]
  Value* merged = nullptr;         // [B, S, H*dv]
};

bool hasPerm(const Node* n, const std::vector<int64_t>& perm) {
  return isOp(n, "Transpose") && n->intsAttr("perm") == perm;
}

bool isElementwise(const Node* n) {
  return (isOp(n, "Mul") || isOp(n, "Div") || isOp(n, "Add") || isOp(n, "Sub")) && n->numInputs() == 2;
}

// The producer of `v` (in v's graph) when `reader` is v's only reader.
Node* soleProducer(const Value* v, const Node* reader) {
  if (!v || onlyUser(v) != reader) return nullptr;
  Node* p = v->producer();
  return p && p->graph() == v->graph() ? p : nullptr;
}

// Whether `v`, combined elementwise with a [B, H, ., .] tensor, keeps the heads
// apart: rank <= 2, or a fixed 1 at the head axis (a scale, a [B, 1, 1, S] mask).
bool broadcastsOverHeads(const Value* v) {
  std::optional<std::vector<Dim>> dims = knownDims(v);
  if (!dims || dims->size() > 4) return false;
  if (dims->size() <= 2) return true;
  const Dim& head = (*dims)[dims->size() - 3];
  return head.isFixed() && head.value == 1;
}

// Length of a 1-D value, from its constant or its type.
std::optional<int64_t> lengthOf(const Value* v) {
  std::optional<std::vector<int64_t>> dims = constantDims(v);
  if (!dims) dims = staticShape(v);
  if (!dims || dims->size() != 1) return std::nullopt;
  return (*dims)[0];
}

// The last `count` elements of `reshape`'s shape when it has `rank` elements and
// those are constants: the shape is one constant, or a Concat whose trailing
// inputs are.
std::optional<ReshapeShape> readShapeTail(Node* reshape, size_t rank, size_t count) {
  Value* shape = reshape->input(1);
  if (!shape || reshape->numInputs() != 2) return std::nullopt;
  ReshapeShape out;
  out.reshape = reshape;
  if (auto ints = constantInts(shape)) {
    if (ints->size() != rank) return std::nullopt;
    for (size_t i = rank - count; i < rank; ++i) out.tail.push_back({(*ints)[i], 0, i});
    return out;
  }
  Node* concat = producerOp(shape, "Concat");
  if (!concat || (concat->intAttr("axis", 0) != 0 && concat->intAttr("axis", 0) != -1)) return std::nullopt;
  // The length, when known, must be `rank`. (The split's is 4 anyway: its output
  // feeds a 4-d Transpose; the merge's trailing element is what matters.)
  std::optional<int64_t> total = 0;
  for (Value* in : concat->inputs()) {
    std::optional<int64_t> length = lengthOf(in);
    if (!length) {
      total = lengthOf(shape);
      break;
    }
    *total += *length;
  }
  if (total && *total != static_cast<int64_t>(rank)) return std::nullopt;
  out.concat = concat;
  for (size_t i = concat->numInputs(); i-- > 0 && out.tail.size() < count;) {
    std::optional<std::vector<int64_t>> ints = constantInts(concat->input(i));
    if (!ints) return std::nullopt;
    for (size_t k = ints->size(); k-- > 0 && out.tail.size() < count;) out.tail.push_back({(*ints)[k], i, k});
  }
  if (out.tail.size() < count) return std::nullopt;
  std::reverse(out.tail.begin(), out.tail.end());
  return out;
}

// Whether Shape node `shape`, reading a value of rank `rank` (if known), only lets
// dims 0 and 1 (batch and sequence) out: by its start/end, or because every reader
// is a Gather or Slice of them.
bool readsLeadingDims(const Node* shape, std::optional<int64_t> rank, int64_t opset) {
  auto normalize = [&](int64_t i) -> std::optional<int64_t> {
    if (i >= 0) return rank ? std::min(i, *rank) : i;
    if (!rank) return std::nullopt;
    return std::max<int64_t>(0, i + *rank);
  };
  const std::optional<int64_t> first = normalize(shape->intAttr("start", 0));
  if (!first) return false;
  std::optional<int64_t> last = rank;  // exclusive
  if (shape->attribute("end")) {
    last = normalize(shape->intAttr("end", 0));
    if (!last) return false;
  }
  if (last && *last <= 2) return true;
  std::optional<int64_t> length;  // of the Shape output
  if (last) length = std::max<int64_t>(0, *last - *first);
  const Value* dims = shape->output();
  for (const Use& use : dims->uses()) {
    const Node* n = use.node;
    if (!n || n->graph() != shape->graph() || use.index != 0) return false;
    std::vector<int64_t> taken;
    if (isOp(n, "Gather") && (n->intAttr("axis", 0) == 0 || n->intAttr("axis", 0) == -1)) {
      std::optional<std::vector<int64_t>> indices = constantInts(n->input(1));
      if (!indices) return false;
      for (int64_t i : *indices) {
        if (i < 0 && !length) return false;
        taken.push_back(i < 0 ? i + *length : i);
      }
    } else if (isOp(n, "Slice")) {
      std::optional<cleanup::SliceSpec> spec = cleanup::sliceSpec(*n, opset);
      if (!spec || spec->starts.size() != 1 || (spec->axes[0] != 0 && spec->axes[0] != -1)) return false;
      const int64_t start = spec->starts[0], end = spec->ends[0], step = spec->steps[0];
      if (length) {
        taken = cleanup::sliceIndices(start, end, step, *length);
      } else {
        if (start < 0 || end < 0 || step <= 0) return false;
        if (start < end) taken.push_back(end - 1);  // the largest index it could take
      }
    } else {
      return false;
    }
    for (int64_t i : taken)
      if (i < 0 || *first + i >= 2) return false;
  }
  return true;
}

// Whether `reader` reads `v` exactly once and every other reader is a Shape node
// that only takes the leading dims.
bool readByAndLeadingShapes(const Value* v, const Node* reader, int64_t opset) {
  if (!v) return false;
  int readerUses = 0;
  const std::optional<int64_t> rank = knownRank(v);
  for (const Use& use : v->uses()) {
    if (!use.node || use.node->graph() != v->graph()) return false;
    if (use.node == reader) {
      ++readerUses;
      continue;
    }
    if (!isOp(use.node, "Shape") || !readsLeadingDims(use.node, rank, opset)) return false;
  }
  return readerUses == 1;
}

bool dropoutIsIdentity(const Node* n) {
  if (!isOp(n, "Dropout")) return false;
  if (n->numOutputs() > 1 && n->output(1) && n->output(1)->hasUses()) return false;
  if (n->numInputs() < 3 || !n->input(2)) return true;
  std::optional<std::vector<int64_t>> training = constantInts(n->input(2));
  return training && std::all_of(training->begin(), training->end(), [](int64_t t) { return t == 0; });
}

class Matcher {
 public:
  explicit Matcher(int64_t opset) : opset_(opset) {}

  /// The block whose scores MatMul is `scores`. why() says why a block that has the
  /// Softmax -> MatMul(., V) shape was not matched (empty when it is not attention).
  std::optional<AttentionMatch> match(Node* scores);
  const std::string& why() const { return why_; }

 private:
  std::nullopt_t fail(std::string reason) {
    why_ = std::move(reason);
    return std::nullopt;
  }
  Value* skipHeadSafeOps(Value* v, Node*& reader, std::vector<Value*>& passed) const;
  std::optional<Projection> traceProjection(Value* v, Node* reader, const char* role, bool key);

  int64_t opset_;
  std::string why_;
};

// Walks back from `v` (read by `reader`) over elementwise ops whose other operand
// broadcasts over the heads, recording the values passed.
Value* Matcher::skipHeadSafeOps(Value* v, Node*& reader, std::vector<Value*>& passed) const {
  for (;;) {
    Node* p = soleProducer(v, reader);
    if (!isElementwise(p)) return v;
    const bool first = broadcastsOverHeads(p->input(0)), second = broadcastsOverHeads(p->input(1));
    if (first == second) return v;
    passed.push_back(v);
    reader = p;
    v = p->input(first ? 1 : 0);
  }
}

std::optional<Projection> Matcher::traceProjection(Value* v, Node* reader, const char* role, bool key) {
  Projection proj;
  v = skipHeadSafeOps(v, reader, proj.headAxis1);
  Node* t = soleProducer(v, reader);
  if (key && hasPerm(t, {0, 1, 3, 2})) {  // k.transpose(-1, -2) after the head split's transpose
    proj.headAxis1.push_back(v);
    reader = t;
    v = skipHeadSafeOps(t->input(0), reader, proj.headAxis1);
    t = soleProducer(v, reader);
    if (!hasPerm(t, {0, 2, 1, 3})) return fail(fmt::format("{} is not Transpose[0,2,1,3] of a head split", role));
  } else if (!hasPerm(t, key ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 2, 1, 3})) {
    return fail(fmt::format("{} is not a transposed head split read only by the attention", role));
  }
  proj.headAxis1.push_back(v);
  proj.splitOutput = t->input(0);
  Node* reshape = soleProducer(proj.splitOutput, t);
  if (!isOp(reshape, "Reshape")) return fail(fmt::format("{} heads do not come from a Reshape", role));
  std::optional<ReshapeShape> split = readShapeTail(reshape, 4, 2);
  if (!split) return fail(fmt::format("{} head split's shape is not [., ., H, d] with constant H or d", role));
  proj.split = std::move(*split);

  Value* projected = reshape->input(0);
  if (!readByAndLeadingShapes(projected, reshape, opset_))
    return fail(fmt::format("{} projection output has other readers", role));
  proj.lastAxis.push_back(projected);
  Node* producer = projected->producer();
  if (isOp(producer, "Add") && producer->numInputs() == 2 && producer->graph() == projected->graph()) {
    const bool biasFirst = isConstant(producer->input(0));
    if (biasFirst == isConstant(producer->input(1))) return fail(fmt::format("{} bias Add has no constant side", role));
    proj.biasAdd = producer;
    proj.biasInput = biasFirst ? 0 : 1;
    projected = producer->input(biasFirst ? 1 : 0);
    if (!readByAndLeadingShapes(projected, producer, opset_))
      return fail(fmt::format("{} projection output has other readers", role));
    proj.lastAxis.push_back(projected);
    producer = projected->producer();
  }
  if (!isOp(producer, "MatMul") || producer->graph() != projected->graph() || producer->numInputs() != 2)
    return fail(fmt::format("{} is not projected by a MatMul", role));
  std::optional<std::vector<int64_t>> weight = floatConstantDims(producer->input(1));
  if (!weight || weight->size() != 2)
    return fail(fmt::format("{} projection weight is not a constant float matrix", role));
  proj.matmul = producer;
  const int64_t columns = (*weight)[1];
  if (proj.biasAdd) {
    std::optional<std::vector<int64_t>> bias = floatConstantDims(proj.biasAdd->input(proj.biasInput));
    if (!bias || bias->empty() || bias->size() > 3 || bias->back() != columns ||
        elementCount(*bias) != columns)
      return fail(fmt::format("{} bias is not a float vector of {} elements", role, columns));
  }

  const int64_t h = proj.split.tail[0].value, d = proj.split.tail[1].value;
  if (h > 0 && d > 0 && h * d == columns) {
    proj.heads = h, proj.width = d;
  } else if (h == -1 && d > 0 && columns % d == 0) {
    proj.heads = columns / d, proj.width = d;
  } else if (h > 0 && d == -1 && columns % h == 0) {
    proj.heads = h, proj.width = columns / h;
  } else {
    return fail(
        fmt::format("{} head split [.., {}, {}] does not divide the {} projection columns", role, h, d, columns));
  }
  return proj;
}

std::optional<AttentionMatch> Matcher::match(Node* scores) {
  why_.clear();
  if (!isOp(scores, "MatMul") || scores->numInputs() != 2 || isConstant(scores->input(0)) ||
      isConstant(scores->input(1)))
    return std::nullopt;
  AttentionMatch m;
  // Forward from the scores to Softmax and MatMul(probabilities, V): silent on
  // mismatch, since most MatMuls are not attention.
  Value* v = scores->output();
  m.headAxis1.push_back(v);
  Node* n = onlyUser(v);
  while (isElementwise(n)) {
    const Value* other = n->input(0) == v ? n->input(1) : n->input(0);
    if (other == v || (n->input(0) != v && n->input(1) != v)) return std::nullopt;
    if (!broadcastsOverHeads(other)) {
      if (onlyUser(n->output()) && isOp(onlyUser(n->output()), "Softmax"))
        return fail(fmt::format("{} gives each head its own mask or bias (or its shape is unknown)", n->describe()));
      return std::nullopt;
    }
    v = n->output();
    m.headAxis1.push_back(v);
    n = onlyUser(v);
  }
  if (!isOp(n, "Softmax")) return std::nullopt;
  m.softmax = n;
  v = n->output();
  m.headAxis1.push_back(v);
  Node* context = onlyUser(v);
  while (isOp(context, "Identity") || dropoutIsIdentity(context)) {
    v = context->output();
    m.headAxis1.push_back(v);
    context = onlyUser(v);
  }
  if (!isOp(context, "MatMul") || context->input(0) != v || context->input(1) == v) return std::nullopt;
  const int64_t axis = m.softmax->intAttr("axis", opset_ >= 13 ? -1 : 1);
  if (axis != -1 && axis != 3) return fail(fmt::format("{} is not over the last axis", m.softmax->describe()));

  std::optional<Projection> q = traceProjection(scores->input(0), scores, "the query", false);
  if (!q) return std::nullopt;
  std::optional<Projection> k = traceProjection(scores->input(1), scores, "the key", true);
  if (!k) return std::nullopt;
  std::optional<Projection> val = traceProjection(context->input(1), context, "the value", false);
  if (!val) return std::nullopt;
  if (q->matmul == k->matmul || q->matmul == val->matmul || k->matmul == val->matmul)
    return fail("Q, K and V share a projection");
  if (q->heads != k->heads || q->heads != val->heads || q->width != k->width)
    return fail(fmt::format("head counts disagree (Q {}x{}, K {}x{}, V {}x{})", q->heads, q->width, k->heads, k->width,
                            val->heads, val->width));
  const int64_t heads = q->heads, valueWidth = val->width;

  // Back to [B, S, H*dv] and the output projection.
  v = context->output();
  m.headAxis1.push_back(v);
  Node* t = onlyUser(v);
  if (!hasPerm(t, {0, 2, 1, 3})) return fail("the context is not transposed back with [0,2,1,3]");
  m.contextT = t->output();
  Node* mergeReshape = nullptr;
  for (const Use& use : m.contextT->uses())
    if (isOp(use.node, "Reshape") && use.index == 0) mergeReshape = use.node;
  if (!mergeReshape || !readByAndLeadingShapes(m.contextT, mergeReshape, opset_))
    return fail("the transposed context is not merged by one Reshape");
  std::optional<ReshapeShape> merge = readShapeTail(mergeReshape, 3, 1);
  if (!merge || (merge->tail[0].value != heads * valueWidth && merge->tail[0].value != -1))
    return fail(fmt::format("the head merge's shape is not [., ., {}] or [., ., -1]", heads * valueWidth));
  m.merge = std::move(*merge);
  m.merged = mergeReshape->output();
  Node* output = onlyUser(m.merged);
  if (!isOp(output, "MatMul") || output->input(0) != m.merged || output->numInputs() != 2)
    return fail("the merged heads do not feed an output projection MatMul");
  std::optional<std::vector<int64_t>> wo = floatConstantDims(output->input(1));
  if (!wo || wo->size() != 2 || (*wo)[0] != heads * valueWidth)
    return fail(fmt::format("the output projection weight is not a constant float [{}, .] matrix", heads * valueWidth));

  m.q = std::move(*q);
  m.k = std::move(*k);
  m.v = std::move(*val);
  m.block = {m.q.matmul, m.k.matmul, m.v.matmul, output, heads, m.q.width, valueWidth};
  return m;
}

// Whether a Softmax's output feeds a MatMul as its left operand (attention probabilities).
bool feedsMatMul(const Node* softmax) {
  const Value* v = softmax->output();
  for (Node* n = onlyUser(v); isOp(n, "Identity") || dropoutIsIdentity(n); n = onlyUser(v)) v = n->output();
  for (const Use& use : v->uses())
    if (isOp(use.node, "MatMul") && use.index == 0) return true;
  return false;
}

std::vector<AttentionMatch> findMatches(Model& model, int64_t* skipped) {
  std::vector<AttentionMatch> found;
  std::unordered_set<const Node*> explained;
  Matcher matcher(model.opsetVersion(""));
  model.graph().forEachGraph([&](Graph& g) {
    for (Node* n : g.nodes()) {
      std::optional<AttentionMatch> m = matcher.match(n);
      if (m) {
        explained.insert(m->softmax);
        found.push_back(std::move(*m));
      } else if (!matcher.why().empty()) {
        spdlog::debug("prune heads: attention at {} left alone: {}", n->describe(), matcher.why());
      }
    }
    for (Node* n : g.nodes())
      if (isOp(n, "Softmax") && !explained.count(n) && feedsMatMul(n)) ++*skipped;
  });
  return found;
}

// ---- rewriting -------------------------------------------------------------------------

// The index ranges `keep` of `axis` of a constant, copied byte for byte (any float dtype).
Tensor keepRanges(const Tensor& t, size_t axis, const Ranges& keep) {
  const std::vector<int64_t>& dims = t.dims();
  int64_t outer = 1, inner = 1, kept = 0;
  for (size_t i = 0; i < axis; ++i) outer *= dims[i];
  for (size_t i = axis + 1; i < dims.size(); ++i) inner *= dims[i];
  for (const auto& [start, length] : keep) kept += length;
  const size_t rowBytes = static_cast<size_t>(inner) * dataTypeStorageBytes(t.dtype(), 1);
  std::span<const uint8_t> src = t.bytes();
  std::vector<uint8_t> out;
  out.reserve(static_cast<size_t>(outer * kept) * rowBytes);
  for (int64_t o = 0; o < outer; ++o)
    for (const auto& [start, length] : keep) {
      const uint8_t* from = src.data() + static_cast<size_t>(o * dims[axis] + start) * rowBytes;
      out.insert(out.end(), from, from + static_cast<size_t>(length) * rowBytes);
    }
  std::vector<int64_t> newDims = dims;
  newDims[axis] = kept;
  Tensor result;
  result.setBytes(t.dtype(), std::move(newDims), std::move(out));
  return result;
}

// Makes input `index` of `n` a new initializer holding `tensor`, releases the old
// constant if nothing else reads it, and keeps the old name when it is free again.
// Returns whether the old constant is gone.
bool replaceConstantInput(Node* n, size_t index, Tensor tensor) {
  Value* old = n->input(index);
  const std::string name = old->name();
  Graph& graph = *n->graph();
  Value* fresh = addInitializer(graph, name, std::move(tensor));
  n->setInput(index, fresh);
  releaseIfUnused({old});
  const bool released = !graph.lookup(name);
  if (released) graph.rename(fresh, name);
  return released;
}

struct ParameterCount {
  int64_t before = 0, after = 0;
};

// Keeps `keep` along `axis` (negative: from the end) of constant input `index` of `n`.
void sliceConstantInput(Node* n, size_t index, int axis, const Ranges& keep, ParameterCount& count) {
  std::optional<Tensor> t = constantValue(n->input(index));
  if (!t) return;  // checked when matching
  const size_t at = axis < 0 ? t->dims().size() - static_cast<size_t>(-axis) : static_cast<size_t>(axis);
  Tensor sliced = keepRanges(*t, at, keep);
  count.before += t->numElements();
  count.after += sliced.numElements();
  if (!replaceConstantInput(n, index, std::move(sliced))) count.after += t->numElements();  // still read elsewhere
}

// Sets tail element `i` of a Reshape's shape to `value`. Shared constants and
// Concats are not edited in place: the Reshape gets its own copy.
void setShapeElement(const ReshapeShape& shape, size_t i, int64_t value) {
  const ShapeElement& e = shape.tail[i];
  if (!shape.concat) {
    std::vector<int64_t> ints = *constantInts(shape.reshape->input(1));
    ints[e.offset] = value;
    replaceConstantInput(shape.reshape, 1, makeInt64Tensor(ints));
    return;
  }
  Node* concat = shape.concat;
  Graph& graph = *concat->graph();
  Value* part = concat->input(e.concatInput);
  std::vector<int64_t> ints = *constantInts(part);
  ints[e.offset] = value;
  std::vector<Value*> inputs = concat->inputs();
  inputs[e.concatInput] = addInitializer(graph, part->name(), makeInt64Tensor(ints));
  Node* copy = graph.createNode("Concat", inputs, 1, concat);
  copy->setAttribute(Attribute::makeInt("axis", concat->intAttr("axis", 0)));
  if (!concat->name().empty()) copy->setName(concat->name() + "_heads");
  copyType(concat->output(), copy->output());
  shape.reshape->setInput(1, copy->output());
  eraseIfDead({concat});
}

// Rewrites dim `axis` (negative: from the end) of a value's type from `from` to `to`.
void resizeDim(Value* v, int64_t axis, int64_t from, int64_t to) {
  Type& type = v->mutableType();
  if (!type.isTensor() || !type.hasShape) return;
  const int64_t rank = static_cast<int64_t>(type.dims.size());
  const int64_t at = axis < 0 ? axis + rank : axis;
  if (at < 0 || at >= rank) return;
  Dim& d = type.dims[static_cast<size_t>(at)];
  if (d.isFixed() && d.value == from) d = Dim::fixed(to);
}

Ranges headRanges(const std::vector<int64_t>& heads, int64_t width) {
  Ranges ranges;
  for (int64_t h : heads) ranges.emplace_back(h * width, width);
  return ranges;
}

// Removes every head but `keep` (ascending).
void rewriteBlock(AttentionMatch& m, const std::vector<int64_t>& keep, ParameterCount& count) {
  const int64_t heads = m.block.heads, kept = static_cast<int64_t>(keep.size());
  for (Projection* p : {&m.q, &m.k, &m.v}) {
    const Ranges ranges = headRanges(keep, p->width);
    sliceConstantInput(p->matmul, 1, 1, ranges, count);
    if (p->biasAdd) sliceConstantInput(p->biasAdd, p->biasInput, -1, ranges, count);
    if (p->split.tail[0].value > 0) setShapeElement(p->split, 0, kept);
    for (Value* v : p->lastAxis) resizeDim(v, -1, heads * p->width, kept * p->width);
    resizeDim(p->splitOutput, 2, heads, kept);
    for (Value* v : p->headAxis1) resizeDim(v, 1, heads, kept);
  }
  const int64_t dv = m.v.width;
  sliceConstantInput(m.block.output, 1, 0, headRanges(keep, dv), count);
  if (m.merge.tail[0].value > 0) setShapeElement(m.merge, 0, kept * dv);
  for (Value* v : m.headAxis1) resizeDim(v, 1, heads, kept);
  resizeDim(m.contextT, 2, heads, kept);
  resizeDim(m.merged, -1, heads * dv, kept * dv);
}

// ---- choosing heads ----------------------------------------------------------------------

// Importance of each head: l1 or l2 norm of its Wq, Wk, Wv columns and Wo rows, or random.
std::vector<double> headScores(const AttentionMatch& m, const PruneOptions& options, uint64_t blockIndex) {
  const int64_t heads = m.block.heads;
  std::vector<double> scores(static_cast<size_t>(heads), 0.0);
  if (options.criterion == "random") {
    std::mt19937_64 rng(static_cast<uint64_t>(options.seed) * 1000003u + blockIndex);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (double& s : scores) s = u(rng);
    return scores;
  }
  const bool l2 = options.criterion == "l2";
  // head(row, column) of each element, for a [rows, cols] weight.
  auto accumulate = [&](const Value* weight, bool byRow, int64_t width) {
    std::optional<Tensor> t = constantValue(weight);
    std::optional<std::vector<float>> values = t ? floatValues(*t) : std::nullopt;
    if (!values) return;
    const int64_t cols = t->dims()[1];
    for (size_t i = 0; i < values->size(); ++i) {
      const int64_t row = static_cast<int64_t>(i) / cols, col = static_cast<int64_t>(i) % cols;
      const int64_t head = (byRow ? row : col) / width;
      const double w = (*values)[i];
      scores[static_cast<size_t>(head)] += l2 ? w * w : std::abs(w);
    }
  };
  accumulate(m.q.matmul->input(1), false, m.q.width);
  accumulate(m.k.matmul->input(1), false, m.k.width);
  accumulate(m.v.matmul->input(1), false, m.v.width);
  accumulate(m.block.output->input(1), true, m.v.width);
  if (l2)
    for (double& s : scores) s = std::sqrt(s);
  return scores;
}

// The block's sparsity: the last per-layer entry naming one of its projections (node
// or weight), as for the other granularities, else the global one. Marks the entries used.
double blockSparsity(const AttentionBlock& b, const std::vector<LayerSparsity>& overrides, double fallback,
                     std::vector<bool>& used) {
  double sparsity = fallback;
  for (size_t i = 0; i < overrides.size(); ++i)
    for (const Node* n : {b.query, b.key, b.value, b.output})
      if ((!n->name().empty() && n->name() == overrides[i].name) || n->input(1)->name() == overrides[i].name) {
        sparsity = overrides[i].sparsity;
        used[i] = true;
      }
  return sparsity;
}

}  // namespace

std::vector<AttentionBlock> findAttentionBlocks(Model& model) {
  (void)inferShapes(model);
  int64_t skipped = 0;
  std::vector<AttentionBlock> blocks;
  if (model.opsetVersion("") < 5) return blocks;
  for (const AttentionMatch& m : findMatches(model, &skipped)) blocks.push_back(m.block);
  return blocks;
}

Expected<PassResult> pruneHeads(Model& model, const PruneOptions& options) {
  ASSIGN_OR_RETURN(std::vector<LayerSparsity> overrides, parsePerLayer(options.perLayer));
  ASSIGN_OR_RETURN(std::optional<std::regex> exclude, parseExcludeNodes(options.excludeNodes));
  PassResult result;
  if (model.opsetVersion("") < 5) return result;  // Reshape took its shape as an attribute
  (void)inferShapes(model);
  int64_t skipped = 0;
  std::vector<AttentionMatch> matches = findMatches(model, &skipped);

  // Choose every block's heads first, so that an error leaves the model as it was.
  std::vector<std::pair<size_t, std::vector<int64_t>>> plans;  // match, heads kept
  std::vector<bool> used(overrides.size(), false);
  for (size_t i = 0; i < matches.size(); ++i) {
    const AttentionBlock& b = matches[i].block;
    const double sparsity = blockSparsity(b, overrides, options.sparsity, used);
    const Node* projections[] = {b.query, b.key, b.value, b.output};
    if (std::any_of(std::begin(projections), std::end(projections),
                    [&](const Node* n) { return isExcluded(*n, exclude); }))
      continue;
    const int64_t drop = std::llround(sparsity * static_cast<double>(b.heads));
    if (drop <= 0) continue;
    if (drop >= b.heads)
      return usageError("prune: sparsity {} would remove all {} heads of the attention block at {}; use less than {} "
                        "to keep one",
                        sparsity, b.heads, b.query->describe(),
                        (static_cast<double>(b.heads) - 0.5) / static_cast<double>(b.heads));
    const std::vector<double> scores = headScores(matches[i], options, i);
    std::vector<int64_t> order(static_cast<size_t>(b.heads));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
      return scores[static_cast<size_t>(x)] < scores[static_cast<size_t>(y)];
    });
    std::vector<int64_t> keep(order.begin() + drop, order.end());
    std::sort(keep.begin(), keep.end());
    plans.emplace_back(i, std::move(keep));
  }
  for (size_t i = 0; i < overrides.size(); ++i)
    if (!used[i])
      return usageError("option 'per-layer': '{}' names no attention block that head pruning can rewrite (its Q, K, V "
                        "or output projection MatMul, or their weights; {} blocks found)",
                        overrides[i].name, matches.size());

  int64_t headsRemoved = 0;
  ParameterCount parameters;
  for (auto& [index, keep] : plans) {
    headsRemoved += matches[index].block.heads - static_cast<int64_t>(keep.size());
    rewriteBlock(matches[index], keep, parameters);
  }
  result.bump("heads removed", headsRemoved);
  result.bump("attention blocks pruned", static_cast<int64_t>(plans.size()));
  result.bump("parameters before", parameters.before);
  result.bump("parameters after", parameters.after);
  result.bump("attention blocks skipped", skipped);
  result.changed = !plans.empty();
  return result;
}

}  // namespace onnxpress
