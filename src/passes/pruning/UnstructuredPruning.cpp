#include "onnxpress/passes/pruning/UnstructuredPruning.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <unordered_map>

#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/pruning/PruneParse.h"
#include "onnxpress/passes/pruning/PruneTargets.h"

namespace onnxpress {
namespace {

// A distinct weight tensor and the selected layers that read it.
struct PrunedWeight {
  Value* value = nullptr;
  Tensor* tensor = nullptr;  // the initializer or the Constant's `value`, edited in place
  std::vector<const PruneTarget*> readers;
  double sparsity = 0;  // the highest among the readers
  std::vector<float> importance;
  std::vector<bool> nonzero;  // before pruning
  int64_t zerosBefore = 0;
  ReductionLayout layout;  // n:m only
};

// The tensor behind a constant weight, writable; null for anything constantTensor()
// refuses (a graph input's default, value_floats Constants, sparse initializers).
Tensor* mutableConstant(Value* v) {
  if (!constantTensor(v)) return nullptr;
  if (Tensor* t = v->initializer()) return t;
  return &v->producer()->attribute("value")->tensors[0];
}

bool readOnlyBy(const PrunedWeight& w) {
  for (const Use& use : w.value->uses()) {
    bool selected = false;
    for (const PruneTarget* r : w.readers) selected |= use.node == r->node && use.index == r->weightIndex;
    if (!selected) return false;
  }
  return true;
}

// One entry per weight, in the order of its first reader.
std::vector<PrunedWeight> groupByWeight(const std::vector<PruneTarget>& targets, PassResult& result) {
  std::vector<PrunedWeight> weights;
  std::unordered_map<const Value*, size_t> position;
  for (const PruneTarget& t : targets) {
    Value* v = t.node->input(t.weightIndex);
    Tensor* tensor = mutableConstant(v);
    if (!tensor || !isFloatType(tensor->dtype())) {
      result.bump("weights skipped (not a constant float)");
      continue;
    }
    auto [it, fresh] = position.emplace(v, weights.size());
    if (fresh) weights.push_back(PrunedWeight{v, tensor, {}, t.sparsity, {}, {}, 0, {}});
    PrunedWeight& w = weights[it->second];
    w.readers.push_back(&t);
    w.sparsity = std::max(w.sparsity, t.sparsity);
  }
  std::vector<PrunedWeight> kept;
  for (PrunedWeight& w : weights) {
    if (readOnlyBy(w)) kept.push_back(std::move(w));
    else result.bump("weights skipped (read by other nodes)");
  }
  return kept;
}

// |w| for l1 and l2 (w^2 orders weights the same way), or seeded uniform noise.
class Importance {
 public:
  Importance(const std::string& criterion, int64_t seed)
      : random_(criterion == "random"), rng_(static_cast<uint64_t>(seed)) {}
  std::vector<float> of(const std::vector<double>& values) {
    std::vector<float> out(values.size());
    for (size_t i = 0; i < values.size(); ++i)
      out[i] = random_ ? static_cast<float>(rng_() >> 40) * 0x1.0p-24f : static_cast<float>(std::abs(values[i]));
    return out;
  }

 private:
  bool random_;
  std::mt19937_64 rng_;
};

// Flags the `k` least important entries; among equals the lower index goes first.
std::vector<bool> leastImportant(const std::vector<float>& importance, int64_t k) {
  const auto n = static_cast<int64_t>(importance.size());
  std::vector<bool> flags(importance.size(), k >= n);
  if (k <= 0 || k >= n) return flags;
  std::vector<float> sorted = importance;
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end());
  const float threshold = sorted[static_cast<size_t>(k - 1)];
  int64_t ties = k;
  for (float x : importance) ties -= x < threshold;
  for (size_t i = 0; i < importance.size(); ++i) {
    if (importance[i] < threshold) {
      flags[i] = true;
    } else if (importance[i] == threshold && ties > 0) {
      flags[i] = true;
      --ties;
    }
  }
  return flags;
}

// Flags all but the N most important of every group of M along the layout's length.
std::vector<bool> nmFlags(const std::vector<float>& importance, const ReductionLayout& layout, NmPattern pattern) {
  std::vector<bool> flags(importance.size(), false);
  std::vector<int64_t> group;
  for (int64_t o = 0; o < layout.outer; ++o)
    for (int64_t i = 0; i < layout.inner; ++i)
      for (int64_t start = 0; start < layout.length; start += pattern.m) {
        const int64_t size = std::min(pattern.m, layout.length - start);
        const int64_t keep = (pattern.n * size + pattern.m - 1) / pattern.m;
        group.clear();
        for (int64_t l = start; l < start + size; ++l) group.push_back((o * layout.length + l) * layout.inner + i);
        std::stable_sort(group.begin(), group.end(), [&](int64_t a, int64_t b) {
          return importance[static_cast<size_t>(a)] > importance[static_cast<size_t>(b)];
        });
        for (int64_t j = keep; j < size; ++j) flags[static_cast<size_t>(group[static_cast<size_t>(j)])] = true;
      }
  return flags;
}

// Zeroes the flagged elements of `w` that are not zero yet (from flags[offset]);
// returns how many. The importance is not needed afterwards and is released.
int64_t zeroFlagged(PrunedWeight& w, const std::vector<bool>& flags, size_t offset) {
  const size_t elementBytes = dataTypeStorageBytes(w.tensor->dtype(), 1);
  std::span<uint8_t> bytes;
  int64_t zeroed = 0;
  for (size_t i = 0; i < w.nonzero.size(); ++i) {
    if (!flags[offset + i] || !w.nonzero[i]) continue;
    if (bytes.empty()) bytes = w.tensor->mutableBytes();  // copies a mapped tensor once, only when needed
    std::memset(bytes.data() + i * elementBytes, 0, elementBytes);
    ++zeroed;
  }
  std::vector<float>().swap(w.importance);
  return zeroed;
}

// Reads the importance and which elements are nonzero, and for n:m the layout every
// reader agrees on; false (with a statistic) when the weight must stay as it is.
bool prepare(PrunedWeight& w, bool nm, NmPattern pattern, Importance& importance, PassResult& result) {
  const std::optional<std::vector<double>> values = doubleValues(*w.tensor);
  if (!values || static_cast<int64_t>(values->size()) != w.tensor->numElements()) {
    result.bump("weights skipped (not a constant float)");
    return false;
  }
  for (double x : *values)
    if (!std::isfinite(x)) {
      result.bump("weights skipped (NaN or Inf)");
      return false;
    }
  if (nm) {
    std::optional<ReductionLayout> layout = reductionLayout(*w.readers.front()->node, w.tensor->dims());
    for (const PruneTarget* r : w.readers)
      if (layout && reductionLayout(*r->node, w.tensor->dims()) != layout) layout.reset();
    if (!layout) {
      result.bump("weights skipped (no n:m layout)");
      return false;
    }
    const bool conv = std::all_of(w.readers.begin(), w.readers.end(),
                                  [](const PruneTarget* r) { return r->node->opType() == "Conv"; });
    if (conv && layout->length % pattern.m != 0) {
      result.bump("Conv weights skipped (input channels not a multiple of M)");
      return false;
    }
    w.layout = *layout;
  }
  w.nonzero.resize(values->size());
  for (size_t i = 0; i < values->size(); ++i) w.nonzero[i] = (*values)[i] != 0;
  w.zerosBefore = std::count(w.nonzero.begin(), w.nonzero.end(), false);
  w.importance = importance.of(*values);
  return true;
}

}  // namespace

std::optional<ReductionLayout> reductionLayout(const Node& layer, const std::vector<int64_t>& dims) {
  const std::string& op = layer.opType();
  // Conv [M, C/group, k...]: groups of input channels at each kernel position (TensorRT's
  // and NVIDIA ASP's 2:4 layout), not along the flattened C/group * k.
  if (op == "Conv" && dims.size() >= 3) return ReductionLayout{dims[0], dims[1], elementCount(dims, 2, dims.size())};
  if (op == "Gemm" && dims.size() == 2)
    return layer.intAttr("transB", 0) ? ReductionLayout{dims[0], dims[1], 1} : ReductionLayout{1, dims[0], dims[1]};
  if (op == "MatMul" && dims.size() == 1) return ReductionLayout{1, dims[0], 1};
  if (op == "MatMul" && dims.size() >= 2)
    return ReductionLayout{elementCount(dims, 0, dims.size() - 2), dims[dims.size() - 2], dims.back()};
  return std::nullopt;
}

Expected<PassResult> pruneUnstructured(Model&, const PruneOptions& options, const std::vector<PruneTarget>& targets) {
  const bool nm = options.granularity == "n:m";
  NmPattern pattern;
  if (nm) {
    ASSIGN_OR_RETURN(pattern, parseNmPattern(options.nm));
  }
  PassResult result;
  std::vector<PrunedWeight> candidates = groupByWeight(targets, result);
  Importance importance(options.criterion, options.seed);
  const bool global = !nm && options.effectiveScope() == "global";
  std::vector<PrunedWeight*> weights, pooled;
  int64_t zeroed = 0;
  for (PrunedWeight& w : candidates) {
    if (w.sparsity <= 0 || !prepare(w, nm, pattern, importance, result)) continue;
    weights.push_back(&w);
    if (global && w.sparsity == options.sparsity) {
      pooled.push_back(&w);
      continue;
    }
    const std::vector<bool> flags =
        nm ? nmFlags(w.importance, w.layout, pattern)
           : leastImportant(w.importance, std::llround(w.sparsity * static_cast<double>(w.nonzero.size())));
    zeroed += zeroFlagged(w, flags, 0);
  }
  if (!pooled.empty()) {
    std::vector<float> all;
    for (PrunedWeight* w : pooled) {
      all.insert(all.end(), w->importance.begin(), w->importance.end());
      std::vector<float>().swap(w->importance);
    }
    const std::vector<bool> flags =
        leastImportant(all, std::llround(options.sparsity * static_cast<double>(all.size())));
    size_t offset = 0;
    for (PrunedWeight* w : pooled) {
      zeroed += zeroFlagged(*w, flags, offset);
      offset += w->nonzero.size();
    }
  }

  int64_t layers = 0, parameters = 0, zeros = zeroed;
  for (const PrunedWeight* w : weights) {
    layers += static_cast<int64_t>(w->readers.size());
    parameters += static_cast<int64_t>(w->nonzero.size());
    zeros += w->zerosBefore;
  }
  result.bump("layers pruned", layers);
  result.bump("weights pruned", static_cast<int64_t>(weights.size()));
  result.bump("weight parameters", parameters);
  result.bump("weights zeroed", zeroed);
  if (parameters > 0)
    result.bump("zero fraction (ppm)",
                std::llround(1e6 * static_cast<double>(zeros) / static_cast<double>(parameters)));
  result.changed = zeroed > 0;
  return result;
}

Expected<PassResult> storeSparse(Model& model) {
  int64_t converted = 0, denseBytes = 0, sparseBytes = 0;
  model.graph().forEachGraph([&](Graph& g) {
    for (Value* v : std::vector<Value*>(g.initializers())) {
      const Tensor& dense = *v->initializer();
      if (v->isGraphInput() || !isFloatType(dense.dtype())) continue;
      const size_t elementBytes = dataTypeStorageBytes(dense.dtype(), 1);
      const std::span<const uint8_t> bytes = dense.bytes();
      const auto count = static_cast<size_t>(dense.numElements());
      if (bytes.size() != count * elementBytes) continue;
      std::vector<int64_t> indices;
      std::vector<uint8_t> values;
      for (size_t i = 0; i < count; ++i) {
        const uint8_t* element = bytes.data() + i * elementBytes;
        if (std::all_of(element, element + elementBytes, [](uint8_t b) { return b == 0; })) continue;
        indices.push_back(static_cast<int64_t>(i));
        values.insert(values.end(), element, element + elementBytes);
      }
      const size_t sparse = indices.size() * (elementBytes + sizeof(int64_t));
      if (sparse >= bytes.size()) continue;

      SparseTensor s;
      s.values.setBytes(dense.dtype(), {static_cast<int64_t>(indices.size())}, std::move(values));
      s.values.setName(v->name());
      s.values.setDocString(dense.docString());
      s.indices = makeInt64Tensor(std::move(indices));
      s.dims = dense.dims();
      denseBytes += static_cast<int64_t>(bytes.size());
      sparseBytes += static_cast<int64_t>(sparse);
      ++converted;
      g.removeInitializer(v);  // `dense` dies here; the value stays if it has readers
      g.addSparseInitializer(std::move(s));
    }
  });
  PassResult result;
  if (converted > 0 && model.irVersion < 6) model.irVersion = 6;  // sparse_initializer arrived in IR 6
  result.bump("sparse initializers", converted);
  result.bump("dense bytes", denseBytes);
  result.bump("sparse bytes", sparseBytes);
  return result;
}

}  // namespace onnxpress
