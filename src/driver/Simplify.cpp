#include "onnxpress/driver/Simplify.h"

#include "onnxpress/driver/PassRegistry.h"

namespace onnxpress {

Status SimplifyOptions::validate() const {
  if (maxRounds < 1) return usageError("max-rounds must be at least 1, got {}", maxRounds);
  for (const std::string& name : passes) {
    if (name == SimplifyPass::kName) return usageError("simplify cannot contain itself");
    if (!findPass(name)) return usageError("unknown member pass '{}'", name);
  }
  return Status::ok();
}

Expected<PassResult> SimplifyPass::run(Model& model, PassContext& context) {
  std::vector<std::unique_ptr<Pass>> members;
  for (const std::string& name : options_.passes) {
    ASSIGN_OR_RETURN(auto pass, findPass(name)->create({}));
    members.push_back(std::move(pass));
  }
  PassResult total;
  int64_t rounds = 0;
  for (bool changed = true; changed && rounds < options_.maxRounds;) {
    changed = false;
    ++rounds;
    for (auto& pass : members) {
      auto result = pass->run(model, context);
      if (!result) return result.status().withContext(fmt::format("simplify member '{}'", pass->name()));
      changed = changed || result->changed;
      for (const auto& [statistic, value] : result->statistics)
        total.bump(fmt::format("{}: {}", pass->name(), statistic), value);
    }
  }
  // "rounds" alone must not mark the graph changed.
  const bool changedAnything = total.changed;
  total.statistics.emplace_back("rounds", rounds);
  total.changed = changedAnything;
  return total;
}

}  // namespace onnxpress
