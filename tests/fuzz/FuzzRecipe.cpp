// Fuzz target: the recipe parser (driver/Recipe), YAML and JSON.
//
// Input: recipe text.
//
// Invariants (a violation aborts):
//   - refused text gets a one-line InvalidInput or Usage error (yaml-cpp's own
//     exceptions included);
//   - an accepted recipe written back as YAML, and as JSON, parses to the same
//     recipe (pipeline, data paths, gates and reports; options in any order).
#include <algorithm>

#include "FuzzErrors.h"
#include "onnxpress/driver/Recipe.h"
#include "onnxpress/report/JsonText.h"

namespace {
using namespace onnxpress;
using fuzz::expectCleanRefusal;
using fuzz::fail;

// Options are keyed: the YAML and JSON forms write them as maps, in key order.
RawOptions sorted(RawOptions options) {
  std::sort(options.begin(), options.end());
  return options;
}

bool sameRecipe(const Recipe& a, const Recipe& b) {
  if (a.pipeline.size() != b.pipeline.size()) return false;
  for (size_t i = 0; i < a.pipeline.size(); ++i)
    if (a.pipeline[i].pass != b.pipeline[i].pass || sorted(a.pipeline[i].options) != sorted(b.pipeline[i].options))
      return false;
  return a.calibrationData == b.calibrationData && a.evaluationData == b.evaluationData &&
         a.trainingData == b.trainingData && a.reports == b.reports && a.target == b.target &&
         a.gates.maxAccuracyDrop == b.gates.maxAccuracyDrop && a.gates.minSizeReduction == b.gates.minSizeReduction &&
         a.gates.minSpeedup == b.gates.minSpeedup;
}

void checkRoundTrip(const Recipe& recipe, const std::string& written, const char* form) {
  auto reread = parseRecipe(written, "/", "rewritten");
  if (!reread) fail(std::string("a recipe written as ") + form + " does not parse", written + "\n" + reread.status().message());
  if (!sameRecipe(recipe, *reread))
    fail(std::string("writing a recipe as ") + form + " and parsing it changed it",
         written + "\nbefore: " + jsonText(recipeToJson(recipe)) + "\nafter:  " + jsonText(recipeToJson(*reread)));
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The base directory is "/", so that relative and absolute paths both come back absolute and equal.
  auto recipe = parseRecipe(text, "/", "fuzz.yaml");
  if (!recipe) {
    expectCleanRefusal(recipe.status(), "parseRecipe");
    return 0;
  }
  checkRoundTrip(*recipe, recipeToYaml(*recipe), "YAML");
  checkRoundTrip(*recipe, jsonText(recipeToJson(*recipe)), "JSON");
  return 0;
}
