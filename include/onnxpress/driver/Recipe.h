// Recipe: a pipeline as structured data, plus the data paths, gates and reports
// of a `compress` run. YAML or JSON (JSON is read as YAML):
//
//   version: 1
//   pipeline:
//     - pass: fold-constants
//     - pass: lowrank
//       options: {ratio: 0.5, op-types: [Gemm, MatMul]}
//   data: {calibration: calib.npz, evaluation: eval.npz}
//   gates: {max-accuracy-drop: 0.01, min-size-reduction: 1.5, min-speedup: 1.1}
//   reports: [report.json, report.html]
//   target: tensorrt            # a built-in target profile, or a profile file
//
// The pipeline part and the text pipeline convert into each other exactly:
// recipeFromPipeline(parsePipelineText(t)).pipeline prints back as t. Relative
// paths in a recipe file are relative to the file's directory.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "onnxpress/pass/PassManager.h"

namespace onnxpress {

struct Gates {
  std::optional<double> maxAccuracyDrop;   // absolute, as a fraction (0.01 = 1 point of top-1)
  std::optional<double> minSizeReduction;  // file size before / after
  std::optional<double> minSpeedup;        // median latency before / after
};

struct Recipe {
  std::vector<PipelineElement> pipeline;
  std::string calibrationData, evaluationData, trainingData;
  Gates gates;
  std::vector<std::string> reports;
  std::string target;  // a target profile's name or file (driver/TargetProfile.h); "" for none
};

/// Reads a recipe file (.yaml, .yml or .json); errors name the file and the key.
Expected<Recipe> loadRecipe(const std::string& path);
/// Parses recipe text; `baseDirectory` resolves relative paths, `label` prefixes errors.
Expected<Recipe> parseRecipe(const std::string& text, const std::string& baseDirectory, const std::string& label);
/// The recipe as JSON / YAML text (option values are written as strings, as the pipeline text holds them).
nlohmann::json recipeToJson(const Recipe& recipe);
std::string recipeToYaml(const Recipe& recipe);

}  // namespace onnxpress
