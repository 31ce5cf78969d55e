#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/cleanup/CleanupUtil.h"

#include <algorithm>

namespace onnxpress::cleanup {

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
