// The body of `compress`, shared with the commands that are sugar for a one-pass
// compress (`prune`): they build a Recipe and hand it over with the same options.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "onnxpress/pass/Recipe.h"
#include "onnxpress/support/Status.h"

namespace onnxpress::cli {

struct CompressArgs {
  std::string model, output, pipeline, recipe, saveRecipe;
  std::string calibData, evalData;
  std::vector<std::string> reports;
  std::string maxAccuracyDrop;  // "0.01" or "1%"
  double minSizeReduction = 0, minSpeedup = 0;
  int64_t fidelitySamples = 16, evalSamples = 0;
  int iterations = 10, threads = 0;
  bool externalData = false, verifyEach = false, json = false, ort = false;
};

/// Registers the options after compress's MODEL, -o, --passes, --recipe and
/// --calib-data: --eval-data, --report, the gates, --save-recipe, measurement,
/// --external-data, --verify-each and --json.
void addCompressionOptions(CLI::App* cmd, CompressArgs& args);

/// Runs `recipe` on args.model and writes args.output, the reports and the summary
/// (or --json); the data, reports and gates given in `args` override the recipe's.
/// A gate not met is ErrorCode::GateFailed, after everything was written.
Status runCompression(const CompressArgs& args, Recipe recipe);

/// "0.01" or "1%" as a fraction; otherwise a usage error naming `flag`.
Expected<double> parseFractionOrPercent(const std::string& flag, const std::string& text);

}  // namespace onnxpress::cli
