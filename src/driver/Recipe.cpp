#include "onnxpress/driver/Recipe.h"
#include "onnxpress/driver/TargetProfile.h"
#include "onnxpress/report/JsonText.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace onnxpress {
namespace {
namespace fs = std::filesystem;

constexpr int kRecipeVersion = 1;

Status recipeError(const std::string& label, const std::string& what) {
  return usageError("{}: {}", label, what);
}

// An option value: a scalar as written, or a list joined with commas.
Expected<std::string> optionValue(const YAML::Node& node, const std::string& label, const std::string& key) {
  if (node.IsScalar()) return node.Scalar();
  if (node.IsSequence()) {
    std::string joined;
    for (const auto& item : node) {
      if (!item.IsScalar()) return recipeError(label, fmt::format("option '{}': list items must be scalars", key));
      joined += (joined.empty() ? "" : ",") + item.Scalar();
    }
    return joined;
  }
  return recipeError(label, fmt::format("option '{}': expected a scalar or a list", key));
}

Expected<PipelineElement> parseElement(const YAML::Node& node, const std::string& label, size_t index) {
  const std::string where = fmt::format("pipeline[{}]", index);
  PipelineElement element;
  if (node.IsScalar()) {  // "- fold-constants" shorthand
    element.pass = node.Scalar();
    if (!isPipelineName(element.pass)) return recipeError(label, fmt::format("{}: '{}' is not a pass name", where, element.pass));
    return element;
  }
  if (!node.IsMap() || !node["pass"] || !node["pass"].IsScalar())
    return recipeError(label, where + ": expected {pass: NAME, options: {...}}");
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (key != "pass" && key != "options") return recipeError(label, fmt::format("{}: unknown key '{}'", where, key));
  }
  element.pass = node["pass"].Scalar();
  if (!isPipelineName(element.pass)) return recipeError(label, fmt::format("{}: '{}' is not a pass name", where, element.pass));
  if (const YAML::Node options = node["options"]) {
    if (!options.IsMap()) return recipeError(label, where + ".options: expected a map");
    for (const auto& kv : options) {
      const std::string key = kv.first.Scalar();
      if (!isPipelineName(key)) return recipeError(label, fmt::format("{}.options: '{}' is not an option name", where, key));
      for (const auto& given : element.options)
        if (given.first == key) return recipeError(label, fmt::format("{}.options: '{}' given twice", where, key));
      ASSIGN_OR_RETURN(std::string value, optionValue(kv.second, label, key));
      element.options.emplace_back(key, std::move(value));
    }
  }
  return element;
}

Expected<double> number(const YAML::Node& node, const std::string& label, const std::string& key) {
  try {
    return node.as<double>();
  } catch (const YAML::Exception&) {
    return recipeError(label, fmt::format("gates.{}: expected a number", key));
  }
}

// Well-formed UTF-8 (RFC 3629): no overlong forms, surrogates or code points past U+10FFFF.
bool isUtf8(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t length = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >> 4) == 0xe ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return false;
    const auto second = static_cast<unsigned char>(length > 1 ? text[i + 1] : 0);
    if ((c == 0xe0 && second < 0xa0) || (c == 0xed && second >= 0xa0) || (c == 0xf0 && second < 0x90) ||
        (c == 0xf4 && second >= 0x90))
      return false;
    i += length;
  }
  return true;
}

std::string resolve(const std::string& base, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute() || base.empty()) return path;
  return (fs::path(base) / path).lexically_normal().string();
}

}  // namespace

Expected<Recipe> parseRecipe(const std::string& text, const std::string& baseDirectory, const std::string& label) {
  if (!isUtf8(text)) return recipeError(label, "not UTF-8 text (YAML and JSON are)");
  // YAML's character set: no C0 control characters but tab, line feed and carriage return.
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r'; }))
    return recipeError(label, "holds a control character, which YAML does not allow");
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return recipeError(label, fmt::format("not valid YAML or JSON: {}", e.msg));
  }
  if (!root.IsMap()) return recipeError(label, "expected a map with 'pipeline'");
  Recipe recipe;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& value = kv.second;
    if (key == "version") {
      if (!value.IsScalar() || value.Scalar() != std::to_string(kRecipeVersion))
        return recipeError(label, fmt::format("unsupported recipe version '{}' (this build reads {})",
                                              value.IsScalar() ? value.Scalar() : "?", kRecipeVersion));
    } else if (key == "pipeline") {
      if (!value.IsSequence()) return recipeError(label, "pipeline: expected a list of passes");
      for (size_t i = 0; i < value.size(); ++i) {
        ASSIGN_OR_RETURN(PipelineElement element, parseElement(value[i], label, i));
        recipe.pipeline.push_back(std::move(element));
      }
    } else if (key == "data") {
      if (!value.IsMap()) return recipeError(label, "data: expected {calibration: DATA, evaluation: DATA}");
      for (const auto& d : value) {
        const std::string name = d.first.Scalar();
        if (!d.second.IsScalar()) return recipeError(label, fmt::format("data.{}: expected a path", name));
        if (name == "calibration") recipe.calibrationData = resolve(baseDirectory, d.second.Scalar());
        else if (name == "evaluation") recipe.evaluationData = resolve(baseDirectory, d.second.Scalar());
        else if (name == "training") recipe.trainingData = resolve(baseDirectory, d.second.Scalar());
        else return recipeError(label, fmt::format("data: unknown key '{}' (calibration, evaluation, training)", name));
      }
    } else if (key == "gates") {
      if (!value.IsMap()) return recipeError(label, "gates: expected a map");
      for (const auto& g : value) {
        const std::string name = g.first.Scalar();
        ASSIGN_OR_RETURN(double threshold, number(g.second, label, name));
        if (name == "max-accuracy-drop") recipe.gates.maxAccuracyDrop = threshold;
        else if (name == "min-size-reduction") recipe.gates.minSizeReduction = threshold;
        else if (name == "min-speedup") recipe.gates.minSpeedup = threshold;
        else
          return recipeError(label, fmt::format(
                                        "gates: unknown gate '{}' (max-accuracy-drop, min-size-reduction, min-speedup)",
                                        name));
      }
    } else if (key == "reports") {
      if (!value.IsSequence()) return recipeError(label, "reports: expected a list of paths");
      for (const auto& r : value) recipe.reports.push_back(resolve(baseDirectory, r.Scalar()));
    } else if (key == "target") {
      if (!value.IsScalar()) return recipeError(label, "target: expected a target name or a profile file");
      const std::string target = value.Scalar();
      recipe.target = isTargetProfileFile(target) ? resolve(baseDirectory, target) : target;
    } else {
      return recipeError(label, fmt::format("unknown key '{}' (version, pipeline, data, gates, reports, target)", key));
    }
  }
  if (recipe.pipeline.empty()) return recipeError(label, "pipeline: no passes");
  return recipe;
}

Expected<Recipe> loadRecipe(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return usageError("{}: cannot read recipe file", path);
  std::stringstream text;
  text << in.rdbuf();
  return parseRecipe(text.str(), fs::path(path).parent_path().string(), path);
}

nlohmann::json recipeToJson(const Recipe& recipe) {
  nlohmann::json pipeline = nlohmann::json::array();
  for (const auto& e : recipe.pipeline) {
    nlohmann::json element = {{"pass", e.pass}};
    if (!e.options.empty()) {
      nlohmann::json options = nlohmann::json::object();
      for (const auto& [k, v] : e.options) options[k] = v;
      element["options"] = options;
    }
    pipeline.push_back(element);
  }
  nlohmann::json j = {{"version", kRecipeVersion}, {"pipeline", pipeline}};
  nlohmann::json data = nlohmann::json::object();
  if (!recipe.calibrationData.empty()) data["calibration"] = recipe.calibrationData;
  if (!recipe.evaluationData.empty()) data["evaluation"] = recipe.evaluationData;
  if (!recipe.trainingData.empty()) data["training"] = recipe.trainingData;
  if (!data.empty()) j["data"] = data;
  nlohmann::json gates = nlohmann::json::object();
  if (recipe.gates.maxAccuracyDrop) gates["max-accuracy-drop"] = *recipe.gates.maxAccuracyDrop;
  if (recipe.gates.minSizeReduction) gates["min-size-reduction"] = *recipe.gates.minSizeReduction;
  if (recipe.gates.minSpeedup) gates["min-speedup"] = *recipe.gates.minSpeedup;
  if (!gates.empty()) j["gates"] = gates;
  if (!recipe.reports.empty()) j["reports"] = recipe.reports;
  if (!recipe.target.empty()) j["target"] = recipe.target;
  return j;
}

std::string recipeToYaml(const Recipe& recipe) {
  // The JSON form, emitted as block YAML: one structure, two spellings.
  std::function<void(YAML::Emitter&, const nlohmann::json&)> emit = [&](YAML::Emitter& out, const nlohmann::json& j) {
    if (j.is_object()) {
      out << YAML::BeginMap;
      for (auto it = j.begin(); it != j.end(); ++it) {
        out << YAML::Key << it.key() << YAML::Value;
        emit(out, it.value());
      }
      out << YAML::EndMap;
    } else if (j.is_array()) {
      out << YAML::BeginSeq;
      for (const auto& item : j) emit(out, item);
      out << YAML::EndSeq;
    } else if (j.is_string()) {
      out << YAML::DoubleQuoted << j.get<std::string>();
    } else {
      out << jsonText(j);
    }
  };
  YAML::Emitter out;
  emit(out, recipeToJson(recipe));
  return std::string(out.c_str()) + "\n";
}

}  // namespace onnxpress
