#include "onnxpress/pass/PassOptions.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace onnxpress::options_detail {

namespace {
std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    out.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}
}  // namespace

Status parseValue(const std::string& text, bool& out) {
  if (text == "true" || text == "1" || text == "on" || text.empty()) out = true;
  else if (text == "false" || text == "0" || text == "off") out = false;
  else return usageError("expects true or false, got '{}'", text);
  return Status::ok();
}

Status parseValue(const std::string& text, int64_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
    return usageError("expects an integer, got '{}'", text);
  return Status::ok();
}

Status parseValue(const std::string& text, double& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() || !std::isfinite(out))
    return usageError("expects a number, got '{}'", text);
  return Status::ok();
}

Status parseValue(const std::string& text, std::string& out) {
  out = text;
  return Status::ok();
}

Status parseValue(const std::string& text, std::vector<std::string>& out) {
  out = splitList(text);
  return Status::ok();
}

Status parseValue(const std::string& text, std::vector<int64_t>& out) {
  out.clear();
  for (const auto& item : splitList(text)) {
    int64_t v = 0;
    RETURN_IF_ERROR(parseValue(item, v));
    out.push_back(v);
  }
  return Status::ok();
}

std::string printValue(bool v) { return v ? "true" : "false"; }
std::string printValue(int64_t v) { return std::to_string(v); }
std::string printValue(double v) { return fmt::format("{}", v); }
std::string printValue(const std::string& v) { return v; }  // Printer quotes it (quoteOptionValue)
std::string printValue(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}
std::string printValue(const std::vector<int64_t>& v) {
  std::string out;
  for (int64_t i : v) out += (out.empty() ? "" : ",") + std::to_string(i);
  return out;
}

}  // namespace onnxpress::options_detail

namespace onnxpress {

std::string quoteOptionValue(const std::string& value) {
  const bool bare = std::none_of(value.begin(), value.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '{' || c == '}' || c == '"';
  });
  if (bare) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

bool isPipelineName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':';
  });
}

}  // namespace onnxpress
