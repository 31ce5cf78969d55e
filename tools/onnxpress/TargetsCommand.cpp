// onnxpress targets [NAME|FILE] [--json]: the deployment target profiles built into
// this binary (targets/*.yaml), or one profile: what it sets and checks.
#include <fmt/ranges.h>

#include <iostream>

#include "Commands.h"
#include "onnxpress/driver/TargetProfile.h"
#include "onnxpress/support/Format.h"

namespace onnxpress::cli {
namespace {

nlohmann::json profileJson(const TargetProfile& p) {
  nlohmann::json passes = nlohmann::json::object();
  for (const PipelineElement& e : p.passDefaults) {
    nlohmann::json options = nlohmann::json::object();
    for (const auto& [key, value] : e.options) options[key] = value;
    passes[e.pass] = options;
  }
  return {{"name", p.name},
          {"summary", p.summary},
          {"runtime", p.runtime},
          {"source", p.source},
          {"passes", passes},
          {"budgets", {{"model-bytes", p.budgets.modelBytes}, {"peak-activation-bytes", p.budgets.peakActivationBytes}}}};
}

}  // namespace

void addTargetsCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("targets", "List the deployment target profiles, or print one (NAME or FILE.yaml)");
  auto name = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("TARGET", *name, "a target's name or a profile file: print that profile as written");
  cmd->add_flag("--json", *json, "machine-readable output (schema onnxpress.targets v1)");
  cmd->callback([&action, name, json] {
    action = [name, json]() -> Status {
      std::vector<TargetProfile> profiles;
      if (!name->empty()) {
        ASSIGN_OR_RETURN(TargetProfile profile, loadTargetProfile(*name));
        if (!*json) {
          std::cout << profile.text;
          return Status::ok();
        }
        profiles.push_back(std::move(profile));
      } else {
        for (const std::string& builtIn : builtInTargetNames()) {
          ASSIGN_OR_RETURN(TargetProfile profile, loadTargetProfile(builtIn));
          profiles.push_back(std::move(profile));
        }
      }
      if (*json) {
        nlohmann::json j{{"schema", "onnxpress.targets"}, {"schema_version", 1}, {"targets", nlohmann::json::array()}};
        for (const TargetProfile& p : profiles) j["targets"].push_back(profileJson(p));
        printJson(j);
        return Status::ok();
      }
      TextTable table({"target", "runtime", "what it sets and checks"});
      for (const TargetProfile& p : profiles) table.addRow({p.name, p.runtime, p.summary});
      std::cout << table.render("") << "\n`onnxpress targets NAME` prints a profile; docs/deployment.md explains them.\n";
      return Status::ok();
    };
  });
}

}  // namespace onnxpress::cli
