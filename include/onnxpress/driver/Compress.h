// The compress driver: runs a recipe's pipeline on a model under measurement,
// writes the output model, the reports and the expanded recipe, and checks the
// gates. `compress` and the commands that are sugar for a one-pass compress
// (`prune`, `quantize`) all end here; the CLI only parses options and prints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnxpress/driver/Recipe.h"
#include "onnxpress/report/CompressionReport.h"
#include "onnxpress/support/Status.h"

namespace onnxpress {

/// What one compress run is asked to do; command-line values override the recipe's.
struct CompressArgs {
  std::string model, output, pipeline, recipe, saveRecipe;
  std::string calibData, evalData, trainData;
  std::string target;  // --target: a target profile's name or file
  std::vector<std::string> reports;
  std::string maxAccuracyDrop;  // "0.01" or "1%"
  double minSizeReduction = 0, minSpeedup = 0;
  int64_t fidelitySamples = 16, evalSamples = 0;
  int iterations = 10, threads = 0;
  bool externalData = false, verifyEach = false, json = false, ort = false;
};

/// The recipe of `compress`: --recipe FILE or --passes PIPELINE (exactly one).
Expected<Recipe> compressRecipe(const CompressArgs& args);

/// Runs `recipe` on args.model and writes args.output, the reports and the expanded
/// recipe. The gates are evaluated into the report (report.gatesPassed()); failing
/// one is not an error here, so the caller can print everything first.
Expected<CompressionReport> compressModel(const CompressArgs& args, Recipe recipe);

/// The recipe's gates evaluated on a finished report. min-speedup fails only when every
/// paired latency round is below its limit (report.latencyComparison), and notes why.
std::vector<Gate> checkGates(const Gates& gates, const CompressionReport& report);

/// The gate a --target adds: passed when the output has no deployability error and
/// every measured budget holds; warnings are counted in its note.
Gate deployabilityGate(const Deployability& deployability);

/// "0.01" or "1%" as a fraction; otherwise a usage error naming `flag`.
Expected<double> parseFractionOrPercent(const std::string& flag, const std::string& text);

}  // namespace onnxpress
