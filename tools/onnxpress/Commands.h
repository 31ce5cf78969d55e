// Subcommands of the onnxpress CLI. Each add*Command() registers its options on
// `app` and stores what to run in `action`; main() runs it and maps the Status
// to the exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "onnxpress/ir/Model.h"
#include "onnxpress/support/Status.h"

namespace onnxpress::cli {

using Action = std::function<Status()>;

void addInspectCommand(CLI::App& app, Action& action);
void addPassesCommand(CLI::App& app, Action& action);
void addCompressCommand(CLI::App& app, Action& action);
void addPruneCommand(CLI::App& app, Action& action);
void addDistillCommand(CLI::App& app, Action& action);
void addRunCommand(CLI::App& app, Action& action);
void addBenchCommand(CLI::App& app, Action& action);
void addProfileCommand(CLI::App& app, Action& action);
void addEvalCommand(CLI::App& app, Action& action);
void addCompareCommand(CLI::App& app, Action& action);
void addSensitivityCommand(CLI::App& app, Action& action);
void addQuantizeCommand(CLI::App& app, Action& action);
void addBatchCommands(CLI::App& app, Action& action);  // batch and batch-merge
void addTargetsCommand(CLI::App& app, Action& action);

/// Loads a model for a command, with the onnx checker as a warning.
Expected<Model> loadForCommand(const std::string& path);
/// Writes `j` to stdout, pretty-printed, followed by a newline.
void printJson(const nlohmann::json& j);
/// File size in bytes, or -1.
int64_t fileSize(const std::string& path);

}  // namespace onnxpress::cli
