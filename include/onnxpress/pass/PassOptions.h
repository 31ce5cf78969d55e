// Typed pass options. Each pass declares its options once, as a struct with a
// visitOptions() member that lists every field with its key and help text:
//
//   struct PruneOptions {
//     double sparsity = 0.5;
//     template <class V> void visitOptions(V& v) { v("sparsity", sparsity, "fraction of weights zeroed"); }
//     Status validate() const;   // optional range checks
//   };
//
// From that one list come the parser (errors name the pass and the key), the
// printer (the expanded pipeline with every default filled in) and `passes`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "onnxpress/support/Status.h"

namespace onnxpress {

/// key=value pairs as written in the pipeline text, in order.
using RawOptions = std::vector<std::pair<std::string, std::string>>;

struct OptionDoc {
  std::string key, type, defaultValue, help;
};

namespace options_detail {

Status parseValue(const std::string& text, bool& out);
Status parseValue(const std::string& text, int64_t& out);
Status parseValue(const std::string& text, double& out);
Status parseValue(const std::string& text, std::string& out);
Status parseValue(const std::string& text, std::vector<std::string>& out);
Status parseValue(const std::string& text, std::vector<int64_t>& out);

std::string printValue(bool v);
std::string printValue(int64_t v);
std::string printValue(double v);
std::string printValue(const std::string& v);
std::string printValue(const std::vector<std::string>& v);
std::string printValue(const std::vector<int64_t>& v);

}  // namespace options_detail

/// A value as pipeline text writes it: bare, or in double quotes when it holds
/// whitespace, a brace or a quote (a quote or backslash inside is escaped with a
/// backslash). parsePipelineText reads both.
std::string quoteOptionValue(const std::string& value);
/// Whether `name` can be a pass or option name in pipeline text: letters, digits, '-', '_', '.', ':'.
bool isPipelineName(const std::string& name);

namespace options_detail {

template <typename T> const char* typeName();
template <> inline const char* typeName<bool>() { return "bool"; }
template <> inline const char* typeName<int64_t>() { return "int"; }
template <> inline const char* typeName<double>() { return "number"; }
template <> inline const char* typeName<std::string>() { return "string"; }
template <> inline const char* typeName<std::vector<std::string>>() { return "list"; }
template <> inline const char* typeName<std::vector<int64_t>>() { return "int-list"; }

struct Parser {
  const std::string& pass;
  RawOptions remaining;
  Status status;
  template <typename T>
  void operator()(const char* key, T& field, const char* /*help*/) {
    for (auto it = remaining.begin(); it != remaining.end(); ++it) {
      if (it->first != key) continue;
      Status s = parseValue(it->second, field);
      if (!s.isOk() && status.isOk())
        status = usageError("pass '{}': option '{}' {}", pass, key, s.message());
      remaining.erase(it);
      return;
    }
  }
};

struct Printer {
  std::string out;
  template <typename T>
  void operator()(const char* key, T& field, const char*) {
    out += (out.empty() ? "" : " ") + std::string(key) + "=" + quoteOptionValue(printValue(field));
  }
};

struct Describer {
  std::vector<OptionDoc> docs;
  template <typename T>
  void operator()(const char* key, T& field, const char* help) {
    docs.push_back({key, typeName<T>(), printValue(field), help});
  }
};

template <typename O>
concept HasValidate = requires(const O& o) { { o.validate() } -> std::same_as<Status>; };

}  // namespace options_detail

/// Parses `raw` into a fresh Options, rejecting unknown keys and bad values.
template <typename Options>
Expected<Options> parseOptions(const std::string& pass, const RawOptions& raw) {
  Options options;
  options_detail::Parser parser{pass, raw, Status::ok()};
  options.visitOptions(parser);
  RETURN_IF_ERROR(parser.status);
  if (!parser.remaining.empty()) {
    options_detail::Describer known;
    options.visitOptions(known);
    std::string list;
    for (const auto& d : known.docs) list += (list.empty() ? "" : ", ") + d.key;
    return usageError("pass '{}': unknown option '{}' (known: {})", pass, parser.remaining.front().first,
                      list.empty() ? "none" : list);
  }
  if constexpr (options_detail::HasValidate<Options>) {
    Status valid = options.validate();
    if (!valid.isOk()) return usageError("pass '{}': {}", pass, valid.message());
  }
  return options;
}

template <typename Options>
std::string printOptions(const Options& options) {
  options_detail::Printer printer;
  const_cast<Options&>(options).visitOptions(printer);
  return printer.out;
}

template <typename Options>
std::vector<OptionDoc> describeOptions() {
  Options defaults;
  options_detail::Describer d;
  defaults.visitOptions(d);
  return d.docs;
}

}  // namespace onnxpress
