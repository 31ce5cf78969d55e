// Recipes: YAML and JSON spellings of a pipeline round-trip with the text form.
#include "TestUtil.h"
#include "onnxpress/driver/Recipe.h"

using namespace onnxpress;
using namespace onnxpress::test;

TEST(Recipe, TextPipelineRoundTripsThroughYamlAndJson) {
  const std::string text = "eliminate-dead{functions=false opsets=true},eliminate-dead";
  auto elements = parsePipelineText(text);
  ASSERT_TRUE(elements);
  Recipe recipe;
  recipe.pipeline = *elements;
  recipe.evaluationData = "/data/eval.npz";
  recipe.gates.maxAccuracyDrop = 0.01;
  recipe.reports = {"/tmp/r.json"};

  auto fromYaml = parseRecipe(recipeToYaml(recipe), "", "<yaml>");
  ASSERT_TRUE(fromYaml) << fromYaml.status().message();
  EXPECT_EQ(pipelineToText(fromYaml->pipeline), text);
  EXPECT_EQ(fromYaml->evaluationData, "/data/eval.npz");
  ASSERT_TRUE(fromYaml->gates.maxAccuracyDrop);
  EXPECT_DOUBLE_EQ(*fromYaml->gates.maxAccuracyDrop, 0.01);
  EXPECT_EQ(fromYaml->reports, recipe.reports);

  auto fromJson = parseRecipe(recipeToJson(recipe).dump(), "", "<json>");
  ASSERT_TRUE(fromJson) << fromJson.status().message();
  EXPECT_EQ(pipelineToText(fromJson->pipeline), text);
  EXPECT_EQ(recipeToJson(*fromJson), recipeToJson(recipe));
}

TEST(Recipe, ListsShorthandAndRelativePaths) {
  auto r = parseRecipe(R"(
version: 1
pipeline:
  - eliminate-dead
  - pass: simplify
    options: {passes: [fold-constants, eliminate-dead], max-rounds: 3}
data: {calibration: calib.npz}
)",
                       "/models", "<r>");
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_EQ(pipelineToText(r->pipeline), "eliminate-dead,simplify{passes=fold-constants,eliminate-dead max-rounds=3}");
  EXPECT_EQ(r->calibrationData, "/models/calib.npz");
}

TEST(Recipe, ErrorsNameTheKey) {
  auto unknownKey = parseRecipe("pipeline: [eliminate-dead]\nstrange: 1\n", "", "r.yaml");
  ASSERT_FALSE(unknownKey);
  EXPECT_EQ(unknownKey.status().code(), ErrorCode::Usage);
  EXPECT_NE(unknownKey.status().message().find("strange"), std::string::npos);
  auto badGate = parseRecipe("pipeline: [eliminate-dead]\ngates: {max-accuracy-drop: lots}\n", "", "r.yaml");
  ASSERT_FALSE(badGate);
  EXPECT_NE(badGate.status().message().find("max-accuracy-drop"), std::string::npos);
  EXPECT_FALSE(parseRecipe("pipeline: []\n", "", "r.yaml"));
  EXPECT_FALSE(parseRecipe("version: 2\npipeline: [eliminate-dead]\n", "", "r.yaml"));
  EXPECT_FALSE(parseRecipe("{not yaml", "", "r.yaml"));
  EXPECT_FALSE(loadRecipe("/nonexistent/recipe.yaml"));
}
