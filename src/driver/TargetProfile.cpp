#include "onnxpress/driver/TargetProfile.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

namespace onnxpress {

// Generated at configure time from targets/*.yaml (CMakeLists.txt): {name, text}.
const std::vector<std::pair<std::string_view, std::string_view>>& embeddedTargetFiles();

namespace {

constexpr int kProfileVersion = 1;

Status profileError(const std::string& label, const std::string& what) { return usageError("{}: {}", label, what); }

Expected<std::string> scalar(const YAML::Node& node, const std::string& label, const std::string& key) {
  if (!node.IsScalar()) return profileError(label, key + ": expected a single value");
  return node.Scalar();
}

Expected<int64_t> integer(const YAML::Node& node, const std::string& label, const std::string& key) {
  try {
    if (node.IsScalar()) return node.as<int64_t>();
  } catch (const YAML::Exception&) {
  }
  return profileError(label, key + ": expected an integer");
}

Expected<std::vector<std::string>> list(const YAML::Node& node, const std::string& label, const std::string& key) {
  if (!node.IsSequence()) return profileError(label, key + ": expected a list");
  std::vector<std::string> items;
  for (const auto& item : node) {
    if (!item.IsScalar()) return profileError(label, key + ": list items must be names");
    items.push_back(item.Scalar());
  }
  return items;
}

Expected<std::string> choice(const YAML::Node& node, const std::string& label, const std::string& key,
                             const std::vector<std::string>& allowed) {
  ASSIGN_OR_RETURN(std::string value, scalar(node, label, key));
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end())
    return profileError(label, fmt::format("{}: '{}' is not one of {}", key, value, fmt::join(allowed, ", ")));
  return value;
}

Status parseRules(const YAML::Node& node, const std::string& label, TargetRules& rules) {
  if (!node.IsMap()) return profileError(label, "rules: expected a map");
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    const std::string where = "rules." + key;
    if (key == "quantization-format") {
      ASSIGN_OR_RETURN(rules.quantizationFormat, choice(v, label, where, {"qdq", "qoperator", "any"}));
    } else if (key == "activation-types") {
      ASSIGN_OR_RETURN(rules.activationTypes, list(v, label, where));
    } else if (key == "weight-types") {
      ASSIGN_OR_RETURN(rules.weightTypes, list(v, label, where));
    } else if (key == "activation-zero-points" || key == "weight-zero-points") {
      ASSIGN_OR_RETURN(std::string value, choice(v, label, where, {"zero", "any"}));
      (key == "activation-zero-points" ? rules.activationZeroPointsZero : rules.weightZeroPointsZero) = value == "zero";
    } else if (key == "per-channel-axis") {
      ASSIGN_OR_RETURN(std::string value, choice(v, label, where, {"output-channel", "any"}));
      rules.perChannelAxisIsOutputChannel = value == "output-channel";
    } else if (key == "min-opset") {
      ASSIGN_OR_RETURN(rules.minOpset, integer(v, label, where));
    } else if (key == "max-opset") {
      ASSIGN_OR_RETURN(rules.maxOpset, integer(v, label, where));
    } else if (key == "supported-ops") {
      ASSIGN_OR_RETURN(rules.supportedOps, list(v, label, where));
    } else if (key == "unsupported-ops") {
      ASSIGN_OR_RETURN(rules.unsupportedOps, list(v, label, where));
    } else if (key == "slow-ops") {
      ASSIGN_OR_RETURN(rules.slowOps, list(v, label, where));
    } else if (key == "float16" || key == "float-compute") {
      ASSIGN_OR_RETURN(std::string value, choice(v, label, where, {"allowed", "slow"}));
      (key == "float16" ? rules.float16Slow : rules.floatComputeSlow) = value == "slow";
    } else if (key == "channel-multiple") {
      ASSIGN_OR_RETURN(rules.channelMultiple, integer(v, label, where));
    } else {
      return profileError(label, fmt::format("rules: unknown key '{}'", key));
    }
  }
  return Status::ok();
}

Status parseBudgets(const YAML::Node& node, const std::string& label, TargetBudgets& budgets) {
  if (!node.IsMap()) return profileError(label, "budgets: expected a map");
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (key == "model-bytes") {
      ASSIGN_OR_RETURN(budgets.modelBytes, integer(kv.second, label, "budgets." + key));
    } else if (key == "peak-activation-bytes") {
      ASSIGN_OR_RETURN(budgets.peakActivationBytes, integer(kv.second, label, "budgets." + key));
    } else {
      return profileError(label, fmt::format("budgets: unknown key '{}' (model-bytes, peak-activation-bytes)", key));
    }
  }
  return Status::ok();
}

Status parsePasses(const YAML::Node& node, const std::string& label, std::vector<PipelineElement>& defaults) {
  if (!node.IsMap()) return profileError(label, "passes: expected a map of pass: {option: value}");
  for (const auto& kv : node) {
    PipelineElement element;
    element.pass = kv.first.Scalar();
    if (!kv.second.IsMap()) return profileError(label, fmt::format("passes.{}: expected a map of options", element.pass));
    for (const auto& option : kv.second) {
      const std::string key = option.first.Scalar();
      ASSIGN_OR_RETURN(std::string value, scalar(option.second, label, fmt::format("passes.{}.{}", element.pass, key)));
      element.options.emplace_back(key, std::move(value));
    }
    defaults.push_back(std::move(element));
  }
  return Status::ok();
}

}  // namespace

bool isTargetProfileFile(const std::string& nameOrPath) {
  return nameOrPath.find('/') != std::string::npos || nameOrPath.ends_with(".yaml") || nameOrPath.ends_with(".yml");
}

std::vector<std::string> builtInTargetNames() {
  std::vector<std::string> names;
  for (const auto& [name, text] : embeddedTargetFiles()) names.emplace_back(name);
  return names;
}

Expected<TargetProfile> parseTargetProfile(const std::string& text, const std::string& label) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return profileError(label, fmt::format("not valid YAML: {}", e.msg));
  }
  if (!root.IsMap()) return profileError(label, "expected a map with 'name' and 'rules'");
  TargetProfile profile;
  profile.text = text;
  try {
    for (const auto& kv : root) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& v = kv.second;
      if (key == "version") {
        if (!v.IsScalar() || v.Scalar() != std::to_string(kProfileVersion))
          return profileError(label, fmt::format("unsupported profile version (this build reads {})", kProfileVersion));
      } else if (key == "name") {
        ASSIGN_OR_RETURN(profile.name, scalar(v, label, key));
      } else if (key == "summary") {
        ASSIGN_OR_RETURN(profile.summary, scalar(v, label, key));
      } else if (key == "runtime") {
        ASSIGN_OR_RETURN(profile.runtime, scalar(v, label, key));
      } else if (key == "passes") {
        RETURN_IF_ERROR(parsePasses(v, label, profile.passDefaults));
      } else if (key == "rules") {
        RETURN_IF_ERROR(parseRules(v, label, profile.rules));
      } else if (key == "budgets") {
        RETURN_IF_ERROR(parseBudgets(v, label, profile.budgets));
      } else {
        return profileError(label, fmt::format("unknown key '{}' (version, name, summary, runtime, passes, rules, budgets)", key));
      }
    }
  } catch (const YAML::Exception& e) {
    return profileError(label, e.msg);
  }
  if (profile.name.empty()) return profileError(label, "name: missing");
  return profile;
}

Expected<TargetProfile> loadTargetProfile(const std::string& nameOrPath) {
  if (isTargetProfileFile(nameOrPath)) {
    std::ifstream in(nameOrPath, std::ios::binary);
    if (!in) return usageError("--target {}: cannot read the profile file", nameOrPath);
    std::stringstream text;
    text << in.rdbuf();
    ASSIGN_OR_RETURN(TargetProfile profile, parseTargetProfile(text.str(), nameOrPath));
    profile.source = nameOrPath;
    return profile;
  }
  for (const auto& [name, text] : embeddedTargetFiles()) {
    if (name != nameOrPath) continue;
    ASSIGN_OR_RETURN(TargetProfile profile, parseTargetProfile(std::string(text), "targets/" + std::string(name) + ".yaml"));
    profile.source = "built-in";
    return profile;
  }
  return usageError("--target {}: no such target (built in: {}; or give a profile file)", nameOrPath,
                    fmt::join(builtInTargetNames(), ", "));
}

void applyTargetDefaults(const TargetProfile& profile, std::vector<PipelineElement>& pipeline) {
  for (PipelineElement& element : pipeline) {
    for (const PipelineElement& defaults : profile.passDefaults) {
      if (defaults.pass != element.pass) continue;
      for (const auto& option : defaults.options) {
        const bool written = std::any_of(element.options.begin(), element.options.end(),
                                         [&](const auto& given) { return given.first == option.first; });
        if (!written) element.options.push_back(option);
      }
    }
  }
}

}  // namespace onnxpress
