// The values packed into PruneOptions' strings, parsed in one place for validate()
// and the granularities: the "N:M" pattern, the per-layer "NAME=S" entries and the
// exclude-nodes regex.
#pragma once

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "onnxpress/ir/Graph.h"
#include "onnxpress/support/Status.h"

namespace onnxpress {

/// Keep `n` of every `m` consecutive weights along the reduction dimension.
struct NmPattern {
  int64_t n = 2, m = 4;
};

/// "N:M" with 1 <= N <= M; anything else is a usage error naming the text.
Expected<NmPattern> parseNmPattern(const std::string& text);

struct LayerSparsity {
  std::string name;  // a node name or a weight name
  double sparsity = 0;
};

/// NAME=S entries (split at the last '='), S in [0, 1). "auto" is not an entry: the
/// prune command resolves it before building the pass.
Expected<std::vector<LayerSparsity>> parsePerLayer(const std::vector<std::string>& entries);

/// The exclude-nodes regex (ECMAScript; a node is excluded when the regex matches part
/// of its name, as std::regex_search); nullopt for "". A bad regex is a usage error.
Expected<std::optional<std::regex>> parseExcludeNodes(const std::string& pattern);

/// Whether `node` is excluded by `exclude`.
bool isExcluded(const Node& node, const std::optional<std::regex>& exclude);

}  // namespace onnxpress
