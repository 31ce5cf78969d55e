#include "onnxpress/passes/cleanup/CleanupUtil.h"

#include <algorithm>

#include "onnxpress/passes/PassUtil.h"

namespace onnxpress::cleanup {

bool isDefaultDomain(const Node& node) { return node.domain().empty() || node.domain() == "ai.onnx"; }

bool replaceKeepingInterface(Value* from, Value* to) {
  Graph* g = from->graph();
  if (g->parent() && from->isGraphOutput() && (!to->producer() || to->graph() != g)) return false;
  const bool mainOutput = !g->parent() && from->isGraphOutput();
  const Type declared = from->type();
  if (!replaceValue(from, to)) return false;
  if (mainOutput && declared.kind != Type::Kind::None) to->setType(declared);
  return true;
}

std::optional<std::vector<int64_t>> constantInts(const Value* v) {
  if (!v) return std::nullopt;
  if (const Tensor* t = constantTensor(v)) return intValues(*t);
  if (auto t = constantValue(v)) return intValues(*t);
  return std::nullopt;
}

std::optional<std::vector<Dim>> knownDims(const Value* v) {
  std::vector<Dim> dims;
  std::optional<std::vector<int64_t>> shape = staticShape(v);
  if (!shape && isConstant(v)) shape = constantValue(v)->dims();  // value_floats, sparse_value, ...
  if (shape) {
    for (int64_t d : *shape) dims.push_back(Dim::fixed(d));
    return dims;
  }
  if (!v || !v->type().isTensor() || !v->type().hasShape) return std::nullopt;
  return v->type().dims;
}

std::optional<SliceSpec> sliceSpec(const Node& slice, int64_t opset) {
  SliceSpec spec;
  if (opset < 10) {
    if (!slice.attribute("starts") || !slice.attribute("ends")) return std::nullopt;
    spec.starts = slice.intsAttr("starts");
    spec.ends = slice.intsAttr("ends");
    spec.axes = slice.intsAttr("axes");
  } else {
    auto starts = constantInts(slice.input(1));
    auto ends = constantInts(slice.input(2));
    if (!starts || !ends) return std::nullopt;
    spec.starts = std::move(*starts);
    spec.ends = std::move(*ends);
    if (slice.input(3)) {
      auto axes = constantInts(slice.input(3));
      if (!axes) return std::nullopt;
      spec.axes = std::move(*axes);
    }
    if (slice.input(4)) {
      auto steps = constantInts(slice.input(4));
      if (!steps) return std::nullopt;
      spec.steps = std::move(*steps);
    }
  }
  const size_t n = spec.starts.size();
  if (spec.axes.empty())
    for (size_t i = 0; i < n; ++i) spec.axes.push_back(static_cast<int64_t>(i));
  if (spec.steps.empty()) spec.steps.assign(n, 1);
  if (spec.ends.size() != n || spec.axes.size() != n || spec.steps.size() != n) return std::nullopt;
  if (std::find(spec.steps.begin(), spec.steps.end(), 0) != spec.steps.end()) return std::nullopt;
  return spec;
}

std::pair<int64_t, int64_t> clampSliceRange(int64_t start, int64_t end, int64_t step, int64_t dim) {
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) return {std::clamp<int64_t>(start, 0, dim), std::clamp<int64_t>(end, 0, dim)};
  if (dim <= 0) return {-1, -1};  // an empty axis: nothing to take backwards either
  return {std::clamp<int64_t>(start, 0, dim - 1), std::clamp<int64_t>(end, -1, dim - 1)};
}

std::vector<int64_t> sliceIndices(int64_t start, int64_t end, int64_t step, int64_t dim) {
  auto [s, e] = clampSliceRange(start, end, step, dim);
  std::vector<int64_t> out;
  for (int64_t i = s; step > 0 ? i < e : i > e; i += step) out.push_back(i);
  return out;
}

}  // namespace onnxpress::cleanup
