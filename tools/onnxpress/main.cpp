// onnxpress: command-line entry. Parses the command line, runs one subcommand,
// and turns its Status into a one-line error on stderr and an exit code:
//   0 ok, 1 usage, 2 invalid model or data, 3 internal error, 4 gate not met.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "Commands.h"
#include "onnxpress/support/AtomicFile.h"

int main(int argc, char** argv) {
  using namespace onnxpress;
  auto logger = spdlog::stderr_color_mt("onnxpress");
  logger->set_pattern("[%^%l%$] %v");
  spdlog::set_default_logger(logger);
  removeTemporaryFilesOnSignals();  // a killed run leaves no half-written .tmp files
  spdlog::set_level(spdlog::level::info);

  CLI::App app{"onnxpress: make ONNX models smaller and faster, and measure what it costs in accuracy"};
  app.require_subcommand(1);
  app.fallthrough();  // subcommands created below accept -v/-q after their name too
  app.set_version_flag("--version", std::string("onnxpress ") + ONNXPRESS_VERSION);
  int verbosity = 0;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbosity, "more log output on stderr (repeat for trace)");
  app.add_flag("-q,--quiet", quiet, "only errors on stderr");
  app.footer("Exit codes: 0 ok, 1 usage error, 2 invalid model or data, 3 internal error, 4 gate not met;\n"
             "batch also 5 crashed, 6 timed out, 7 out of memory, 130 interrupted.\n"
             "Run 'onnxpress COMMAND --help' for a command's options.");

  cli::Action action;
  cli::addInspectCommand(app, action);
  cli::addPassesCommand(app, action);
  cli::addTargetsCommand(app, action);
  cli::addCompressCommand(app, action);
  cli::addPruneCommand(app, action);
  cli::addDistillCommand(app, action);
  cli::addQuantizeCommand(app, action);
  cli::addRunCommand(app, action);
  cli::addBenchCommand(app, action);
  cli::addProfileCommand(app, action);
  cli::addEvalCommand(app, action);
  cli::addCompareCommand(app, action);
  cli::addSensitivityCommand(app, action);
  cli::addBatchCommands(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "onnxpress: error: " << e.what() << " (see --help)\n";
    return static_cast<int>(ErrorCode::Usage);
  }
  if (quiet) spdlog::set_level(spdlog::level::err);
  else if (verbosity >= 2) spdlog::set_level(spdlog::level::trace);
  else if (verbosity == 1) spdlog::set_level(spdlog::level::debug);

  try {
    Status status = action ? action() : internalError("no command ran");
    if (!status.isOk()) {
      std::cerr << "onnxpress: error: " << status.message() << "\n";
      return status.exitCode();
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "onnxpress: internal error: " << e.what() << "\n";
    return static_cast<int>(ErrorCode::Internal);
  }
}
