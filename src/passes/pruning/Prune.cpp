// prune: options, dispatch to the granularities (PruneTargets.h), and
// granularity=layer, which ranks residual blocks and lets drop-layers remove them:
//
//   importance of a block  l1: sum of |w|, l2: sqrt(sum of w^2) over the weights
//                          (input 1) of its branch's op-types layers, each weight once;
//                          random: uniform from mt19937_64(seed). A block without such
//                          weights has importance 0 and goes first.
//   dropped                the round(sparsity * blocks) least important blocks (ties:
//                          lower block index first), skipping a block nested in or
//                          around one already chosen, and blocks whose Add or a branch
//                          node matches exclude-nodes; fewer when candidates run out.
#include "onnxpress/passes/pruning/Prune.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>
#include <unordered_set>

#include "onnxpress/pass/PassOptions.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/pruning/PruneParse.h"
#include "onnxpress/passes/pruning/PruneTargets.h"
#include "onnxpress/passes/substitution/DropLayers.h"
#include "onnxpress/passes/substitution/ResidualBlocks.h"

namespace onnxpress {
namespace {

using substitution::ResidualBlock;

bool oneOf(const std::string& value, std::initializer_list<const char*> allowed) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return value == a; });
}

void merge(PassResult& into, const PassResult& from) {
  for (const auto& [name, value] : from.statistics) into.bump(name, value);
}

double blockImportance(const ResidualBlock& block, const PruneOptions& options) {
  const bool l2 = options.criterion == "l2";
  std::unordered_set<const Value*> seen;
  double sum = 0;
  for (const Node* n : block.branch) {
    if (n->numInputs() < 2 || std::find(options.opTypes.begin(), options.opTypes.end(), n->opType()) ==
                                  options.opTypes.end())
      continue;
    const Value* w = n->input(1);
    const Tensor* t = constantTensor(w);
    if (!t || !seen.insert(w).second) continue;
    if (std::optional<std::vector<double>> values = doubleValues(*t))
      for (double x : *values) sum += l2 ? x * x : std::abs(x);
  }
  return l2 ? std::sqrt(sum) : sum;
}

bool blockExcluded(const ResidualBlock& block, const std::optional<std::regex>& exclude) {
  if (isExcluded(*block.add, exclude)) return true;
  return std::any_of(block.branch.begin(), block.branch.end(), [&](const Node* n) { return isExcluded(*n, exclude); });
}

// Whether `inner`'s Add lies in `outer`'s branch (dropping `outer` removes `inner`).
bool nestedIn(const ResidualBlock& inner, const ResidualBlock& outer) {
  return std::find(outer.branch.begin(), outer.branch.end(), inner.add) != outer.branch.end();
}

Expected<PassResult> pruneLayers(Model& model, const PruneOptions& options, PassContext& context) {
  const std::vector<ResidualBlock> blocks = substitution::findResidualBlocks(model);
  ASSIGN_OR_RETURN(std::optional<std::regex> exclude, parseExcludeNodes(options.excludeNodes));
  std::mt19937_64 rng(static_cast<uint64_t>(options.seed));
  std::vector<std::pair<double, size_t>> ranked;  // (importance, block index)
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (blockExcluded(blocks[i], exclude)) continue;
    const double importance = options.criterion == "random" ? static_cast<double>(rng() >> 11) * 0x1.0p-53
                                                            : blockImportance(blocks[i], options);
    ranked.emplace_back(importance, i);
  }
  std::sort(ranked.begin(), ranked.end());

  const auto wanted = static_cast<size_t>(std::llround(options.sparsity * static_cast<double>(blocks.size())));
  std::vector<int64_t> chosen;
  for (const auto& [importance, i] : ranked) {
    if (chosen.size() >= wanted) break;
    const ResidualBlock& block = blocks[i];
    const bool overlaps = std::any_of(chosen.begin(), chosen.end(), [&](int64_t j) {
      const ResidualBlock& other = blocks[static_cast<size_t>(j)];
      return nestedIn(block, other) || nestedIn(other, block);
    });
    if (!overlaps) chosen.push_back(static_cast<int64_t>(i));
  }
  if (chosen.empty()) {
    PassResult result;
    result.bump("blocks found", static_cast<int64_t>(blocks.size()));
    result.changed = false;
    return result;
  }
  std::sort(chosen.begin(), chosen.end());
  DropLayersOptions drop;
  drop.indices = chosen;
  DropLayersPass dropLayers(drop);
  return dropLayers.run(model, context);  // finds the same blocks: the model has not changed
}

}  // namespace

Expected<NmPattern> parseNmPattern(const std::string& text) {
  const size_t colon = text.find(':');
  NmPattern p;
  auto parse = [](std::string_view s, int64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
  };
  if (colon == std::string::npos || !parse(std::string_view(text).substr(0, colon), p.n) ||
      !parse(std::string_view(text).substr(colon + 1), p.m) || p.n < 1 || p.m < 1)
    return usageError("option 'n-m': expected N:M with 1 <= N <= M, such as 2:4; got '{}'", text);
  if (p.n > p.m) return usageError("option 'n-m': N must not exceed M, got {}:{} (keep N of every M)", p.n, p.m);
  return p;
}

Expected<std::vector<LayerSparsity>> parsePerLayer(const std::vector<std::string>& entries) {
  std::vector<LayerSparsity> out;
  for (const std::string& entry : entries) {
    const size_t eq = entry.rfind('=');
    if (eq == std::string::npos || eq == 0)
      return usageError("option 'per-layer': expected NAME=S, got '{}'{}", entry,
                        entry == "auto" ? " ('auto' needs the prune command: --per-layer auto --max-drop X --data DATA)"
                                        : "");
    LayerSparsity layer{entry.substr(0, eq), 0};
    Status number = options_detail::parseValue(entry.substr(eq + 1), layer.sparsity);
    if (!number.isOk() || !(layer.sparsity >= 0 && layer.sparsity < 1))
      return usageError("option 'per-layer': the sparsity of '{}' must be a number in [0, 1), got '{}'", layer.name,
                        entry.substr(eq + 1));
    out.push_back(std::move(layer));
  }
  return out;
}

Expected<std::optional<std::regex>> parseExcludeNodes(const std::string& pattern) {
  if (pattern.empty()) return std::optional<std::regex>();
  try {
    return std::optional<std::regex>(std::regex(pattern, std::regex::ECMAScript));
  } catch (const std::regex_error& e) {
    return usageError("option 'exclude-nodes': '{}' is not a valid regex: {}", pattern, e.what());
  }
}

bool isExcluded(const Node& node, const std::optional<std::regex>& exclude) {
  return exclude && std::regex_search(node.name(), *exclude);
}

Status PruneOptions::validate() const {
  if (!(sparsity >= 0 && sparsity < 1)) return usageError("option 'sparsity' must be in [0, 1), got {}", sparsity);
  if (!oneOf(granularity, {"unstructured", "n:m", "channel", "neuron", "head", "layer"}))
    return usageError("option 'granularity' must be unstructured, n:m, channel, neuron, head or layer, got '{}'",
                      granularity);
  RETURN_IF_ERROR(parseNmPattern(nm).status());
  if (!oneOf(criterion, {"l1", "l2", "random"}))
    return usageError("option 'criterion' must be l1, l2 or random, got '{}'", criterion);
  if (!oneOf(scope, {"layer", "global", "auto"}))
    return usageError("option 'scope' must be layer, global or auto, got '{}'", scope);
  if (opTypes.empty()) return usageError("option 'op-types' is empty: give Conv, Gemm and/or MatMul");
  for (const std::string& op : opTypes)
    if (!oneOf(op, {"Conv", "Gemm", "MatMul"}))
      return usageError("option 'op-types': unsupported op '{}' (supported: Conv, Gemm, MatMul)", op);
  RETURN_IF_ERROR(parsePerLayer(perLayer).status());
  if (!perLayer.empty() && granularity == "layer")
    return usageError("option 'per-layer' does not apply to granularity=layer (blocks have no per-layer sparsity)");
  RETURN_IF_ERROR(parseExcludeNodes(excludeNodes).status());
  return Status::ok();
}

Expected<PassResult> PrunePass::run(Model& model, PassContext& context) {
  RETURN_IF_ERROR(options_.validate());
  PassResult result;
  const std::string& granularity = options_.granularity;
  if (granularity == "layer") {
    ASSIGN_OR_RETURN(result, pruneLayers(model, options_, context));
  } else if (granularity == "head") {
    ASSIGN_OR_RETURN(result, pruneHeads(model, options_));
  } else {
    // Every per-layer entry is checked here, before any weight changes.
    ASSIGN_OR_RETURN(const std::vector<PruneTarget> targets, selectPruneTargets(model, options_));
    if (granularity == "unstructured" || granularity == "n:m") {
      ASSIGN_OR_RETURN(result, pruneUnstructured(model, options_, targets));
    } else {
      ASSIGN_OR_RETURN(result, pruneChannels(model, options_, targets));
    }
  }
  if (options_.sparseStorage) {
    ASSIGN_OR_RETURN(const PassResult stored, storeSparse(model));
    const bool changed = result.changed || stored.changed;
    merge(result, stored);
    result.changed = changed;
  }
  return result;
}

}  // namespace onnxpress
