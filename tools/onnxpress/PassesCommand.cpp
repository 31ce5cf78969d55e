// onnxpress passes [--json]: every registered pass with its options.
#include <iostream>

#include "Commands.h"
#include "onnxpress/driver/PassRegistry.h"

namespace onnxpress::cli {

void addPassesCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("passes", "List every pass with its options and defaults");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "machine-readable output (schema onnxpress.passes v1)");
  cmd->callback([&action, json] {
    action = [json]() -> Status {
      if (*json) {
        nlohmann::json j{{"schema", "onnxpress.passes"}, {"schema_version", 1}, {"passes", nlohmann::json::array()}};
        for (const auto& p : registeredPasses()) {
          nlohmann::json options = nlohmann::json::array();
          for (const auto& o : p.options())
            options.push_back({{"key", o.key}, {"type", o.type}, {"default", o.defaultValue}, {"help", o.help}});
          j["passes"].push_back({{"name", p.name}, {"summary", p.summary}, {"options", options}});
        }
        printJson(j);
        return Status::ok();
      }
      for (const auto& p : registeredPasses()) {
        std::cout << p.name << "\n    " << p.summary << "\n";
        for (const auto& o : p.options())
          std::cout << fmt::format("    {}={} ({}, default {}): {}\n", o.key, o.type == "bool" ? "true|false" : "<" + o.type + ">",
                                   o.type, o.defaultValue, o.help);
      }
      return Status::ok();
    };
  });
}

}  // namespace onnxpress::cli
