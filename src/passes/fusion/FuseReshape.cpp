#include "onnxpress/passes/fusion/FuseReshape.h"

#include <algorithm>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/fusion/FusionUtil.h"

namespace onnxpress {
namespace {
using namespace fusion;

bool fuseReshapePair(Node* outer) {
  Node* inner = producerOp(outer->input(0), "Reshape");
  if (!inner || inner->graph() != outer->graph()) return false;
  auto target = constantInts(outer->input(1));
  if (!target) return false;
  const bool allowZero = outer->intAttr("allowzero", 0) != 0;
  if (!allowZero && std::find(target->begin(), target->end(), 0) != target->end()) return false;
  outer->setInput(0, inner->input(0));
  eraseIfDead({inner});
  return true;
}

// Raw axes of an Unsqueeze: the attribute before opset 13, the constant input from 13.
std::optional<std::vector<int64_t>> rawUnsqueezeAxes(const Node* n, int64_t opset) {
  if (opset >= 13) return constantInts(n->input(1));
  if (const Attribute* a = n->attribute("axes")) return a->ints;
  return std::nullopt;
}

// `axes` normalized for an output of rank `outRank` and sorted; nullopt if invalid.
std::optional<std::vector<int64_t>> normalizedAxes(std::vector<int64_t> axes, int64_t outRank) {
  for (int64_t& a : axes) {
    if (a < 0) a += outRank;
    if (a < 0 || a >= outRank) return std::nullopt;
  }
  std::sort(axes.begin(), axes.end());
  if (axes.empty() || std::adjacent_find(axes.begin(), axes.end()) != axes.end()) return std::nullopt;
  return axes;
}

bool fuseUnsqueezePair(Node* outer, int64_t opset) {
  Node* inner = producerOp(outer->input(0), "Unsqueeze");
  if (!inner || inner->graph() != outer->graph()) return false;
  auto rank = knownRank(inner->input(0));
  auto innerRaw = rawUnsqueezeAxes(inner, opset);
  auto outerRaw = rawUnsqueezeAxes(outer, opset);
  if (!rank || !innerRaw || !outerRaw) return false;
  const int64_t midRank = *rank + static_cast<int64_t>(innerRaw->size());
  const int64_t outRank = midRank + static_cast<int64_t>(outerRaw->size());
  auto first = normalizedAxes(*innerRaw, midRank);
  auto second = normalizedAxes(*outerRaw, outRank);
  if (!first || !second) return false;
  std::vector<int64_t> combined = *second;
  int64_t midIndex = 0;
  for (int64_t pos = 0; pos < outRank; ++pos) {
    if (std::binary_search(second->begin(), second->end(), pos)) continue;
    if (std::binary_search(first->begin(), first->end(), midIndex)) combined.push_back(pos);
    ++midIndex;
  }
  std::sort(combined.begin(), combined.end());
  outer->setInput(0, inner->input(0));
  if (opset < 13) {
    outer->setAttribute(Attribute::makeInts("axes", combined));
  } else {
    Value* axes = addInitializer(*outer->graph(), outer->input(1)->name(), makeInt64Tensor(combined));
    Value* old = outer->input(1);
    outer->setInput(1, axes);
    releaseIfUnused({old});
  }
  eraseIfDead({inner});
  return true;
}

}  // namespace

Expected<PassResult> FuseReshapePass::run(Model& model, PassContext&) {
  PassResult result;
  (void)inferShapes(model);  // ranks for negative Unsqueeze axes
  const int64_t opset = model.opsetVersion("");
  forEachFusionSweep(model, [&](Node* node) {
    if (!isDefaultDomain(*node)) return false;
    if (node->opType() == "Reshape" && fuseReshapePair(node)) {
      result.bump("Reshape pairs merged");
      return true;
    }
    if (node->opType() == "Unsqueeze" && fuseUnsqueezePair(node, opset)) {
      result.bump("Unsqueeze pairs merged");
      return true;
    }
    return false;
  });
  return result;
}

}  // namespace onnxpress
