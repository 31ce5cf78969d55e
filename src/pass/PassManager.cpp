#include "onnxpress/pass/PassManager.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>


namespace onnxpress {

namespace {
std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n");
  size_t e = s.find_last_not_of(" \t\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Parses the inside of `{...}`: whitespace-separated key=value or bare key; a value
// may be quoted, with \" and \\ escaped inside (quoteOptionValue writes them).
Expected<RawOptions> parseOptionBlock(const std::string& pass, const std::string& body) {
  RawOptions out;
  size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
    if (i >= body.size()) break;
    size_t keyStart = i;
    while (i < body.size() && body[i] != '=' && !std::isspace(static_cast<unsigned char>(body[i]))) ++i;
    std::string key = body.substr(keyStart, i - keyStart);
    std::string value;
    if (i < body.size() && body[i] == '=') {
      ++i;
      if (i < body.size() && body[i] == '"') {
        for (++i;; ++i) {
          if (i >= body.size()) return usageError("pass '{}': unterminated quote in option '{}'", pass, key);
          if (body[i] == '"') break;
          if (body[i] == '\\' && i + 1 < body.size()) ++i;
          value += body[i];
        }
        ++i;
      } else {
        size_t valueStart = i;
        while (i < body.size() && !std::isspace(static_cast<unsigned char>(body[i]))) ++i;
        value = body.substr(valueStart, i - valueStart);
      }
    }
    if (!isPipelineName(key))
      return usageError("pass '{}': '{}' is not an option name (letters, digits, '-', '_', '.')", pass, key);
    for (const auto& [k, v] : out)
      if (k == key) return usageError("pass '{}': option '{}' given twice", pass, key);
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}
}  // namespace

Expected<std::vector<PipelineElement>> parsePipelineText(const std::string& text) {
  std::vector<PipelineElement> out;
  int depth = 0;
  std::string current;
  auto flush = [&]() -> Status {
    std::string item = trim(current);
    current.clear();
    if (item.empty()) return usageError("pipeline '{}': empty pass name", text);
    PipelineElement element;
    size_t brace = item.find('{');
    element.pass = trim(item.substr(0, brace));
    if (!isPipelineName(element.pass))
      return usageError("pipeline: '{}' is not a pass name (letters, digits, '-', '_', '.')", element.pass);
    if (brace != std::string::npos) {
      if (item.back() != '}') return usageError("pipeline: text after '}}' in '{}'", item);
      ASSIGN_OR_RETURN(element.options,
                       parseOptionBlock(element.pass, item.substr(brace + 1, item.size() - brace - 2)));
    }
    out.push_back(std::move(element));
    return Status::ok();
  };
  bool quoted = false;  // inside a quoted option value: braces and commas are text
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted && c == '\\' && i + 1 < text.size()) {
      current += c;
      current += text[++i];
      continue;
    }
    if (c == '"' && depth > 0) quoted = !quoted;
    if (!quoted && c == '{') ++depth;
    if (!quoted && c == '}' && --depth < 0) return usageError("pipeline '{}': unbalanced '}}'", text);
    if (!quoted && c == ',' && depth == 0) {
      RETURN_IF_ERROR(flush());
      continue;
    }
    current += c;
  }
  if (quoted) return usageError("pipeline '{}': unterminated quote", text);
  if (depth != 0) return usageError("pipeline '{}': unbalanced '{{'", text);
  RETURN_IF_ERROR(flush());
  return out;
}

std::string pipelineToText(const std::vector<PipelineElement>& elements) {
  std::string out;
  for (const auto& e : elements) {
    if (!out.empty()) out += ",";
    out += e.pass;
    std::string options;
    for (const auto& [key, value] : e.options) options += (options.empty() ? "" : " ") + key + "=" + quoteOptionValue(value);
    if (!options.empty()) out += "{" + options + "}";
  }
  return out;
}

std::string PassManager::expandedPipeline() const {
  std::string out;
  for (const auto& p : passes_) {
    if (!out.empty()) out += ",";
    out += std::string(p->name());
    std::string options = p->optionsString();
    if (!options.empty()) out += "{" + options + "}";
  }
  return out;
}

Status PassManager::run(Model& model, PassContext& context) {
  records_.clear();
  for (const auto& pass : passes_) {
    for (PassInstrumentation* i : instrumentations_) RETURN_IF_ERROR(i->beforePass(*pass, model));
    const auto start = std::chrono::steady_clock::now();
    spdlog::debug("running pass {}", pass->name());
    context.records.take();  // a pass sees only what it emits itself
    auto result = pass->run(model, context);
    if (!result) return result.status().withContext(fmt::format("pass '{}'", pass->name()));
    PassRunRecord record;
    record.pass = std::string(pass->name());
    record.options = pass->optionsString();
    record.changed = result->changed;
    record.statistics = result->statistics;
    record.records = context.records.take();
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (verifyEach_) {
      Status valid = model.graph().verify();
      if (!valid.isOk())
        return internalError("pass '{}' left an invalid graph: {}", pass->name(), valid.message());
    }
    for (PassInstrumentation* i : instrumentations_) RETURN_IF_ERROR(i->afterPass(*pass, model, record));
    records_.push_back(std::move(record));
  }
  return Status::ok();
}

}  // namespace onnxpress
