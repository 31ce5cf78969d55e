// Command-line flags generated from a pass's options struct: the fourth visitor of
// visitOptions (next to Parser, Printer and Describer in onnxpress/pass/PassOptions.h),
// kept here because only the CLI links CLI11.
//
//   struct QuantizeArgs { CompressArgs compress; PassFlags pass; ... };
//   args->pass.add<QuantizeOptions>(cmd);            // --mode TEXT=static, --per-channel, ...
//   ...
//   RawOptions raw = args.pass.raw();                // what was given, as written
//   recipe.pipeline.push_back({"quantize", raw});    // the same as quantize{...} in --passes
//
// One --KEY per visited field, with the field's help text and its default:
//   bool                  a flag (--KEY; --KEY=false also works)
//   int64_t, double       an option taking one INT / FLOAT
//   std::string           an option taking one TEXT
//   vector<string/int64>  an option taking one comma-separated TEXT,... / INT,... value,
//                         exactly as in the pipeline text (op-types=Conv,Gemm)
// Values are kept as written and parsed by the pass's own Parser (parseOptions), so a
// bad value gets the same error as in `compress --passes`, and the pass's defaults stay
// the pass's. An empty value counts as not given; a flag counts when it differs from the
// field's default.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "onnxpress/pass/PassOptions.h"

namespace onnxpress::cli {

class PassFlags {
 public:
  PassFlags() = default;
  PassFlags(const PassFlags&) = delete;  // CLI11 holds references into entries_
  PassFlags& operator=(const PassFlags&) = delete;

  /// Adds one --KEY per field that Options::visitOptions lists, in that order.
  /// `aliases` gives extra CLI11 names for a key, e.g. {{"per-channel", "-c"}}.
  template <typename Options>
  void add(CLI::App* cmd, const std::map<std::string, std::string>& aliases = {}) {
    Options defaults;
    Adder adder{*this, cmd, aliases};
    defaults.visitOptions(adder);
  }

  /// The CLI11 option of --KEY (to adjust its description); nullptr for an unknown key.
  CLI::Option* option(std::string_view key) const {
    const Entry* e = find(key);
    return e ? e->option : nullptr;
  }

  /// The value given for --KEY as written ("true"/"false" for a flag); empty when not given.
  std::string value(std::string_view key) const {
    const Entry* e = find(key);
    return e ? valueOf(*e) : std::string();
  }

  /// The given flags as the pass's raw options, in the order the pass lists them.
  RawOptions raw() const {
    RawOptions out;
    for (const Entry& e : entries_) {
      std::string v = valueOf(e);
      if (!v.empty()) out.emplace_back(e.key, std::move(v));
    }
    return out;
  }

 private:
  struct Entry {
    std::string key;
    bool isFlag = false;
    bool flagDefault = false, flagValue = false;  // flags
    std::string text;                             // everything else, as written
    CLI::Option* option = nullptr;
  };

  const Entry* find(std::string_view key) const {
    for (const Entry& e : entries_)
      if (e.key == key) return &e;
    return nullptr;
  }

  static std::string valueOf(const Entry& e) {
    if (!e.isFlag) return e.text;
    return e.flagValue == e.flagDefault ? std::string() : options_detail::printValue(e.flagValue);
  }

  struct Adder {
    PassFlags& flags;
    CLI::App* cmd;
    const std::map<std::string, std::string>& aliases;

    template <typename T>
    void operator()(const char* key, T& field, const char* help) {
      Entry& e = flags.entries_.emplace_back();  // deque: earlier entries stay where they are
      e.key = key;
      std::string names = "--" + e.key;
      if (auto it = aliases.find(e.key); it != aliases.end()) names = it->second + "," + names;
      if constexpr (std::is_same_v<T, bool>) {
        e.isFlag = true;
        e.flagDefault = e.flagValue = field;
        e.option = cmd->add_flag(names, e.flagValue, help);
      } else {
        e.option = cmd->add_option(names, e.text, help)->type_name(typeLabel<T>());
        std::string shown;
        if constexpr (std::is_same_v<T, std::string>) shown = field;  // unquoted, unlike the pipeline text
        else shown = options_detail::printValue(field);
        if (!shown.empty()) e.option->default_str(shown);  // display only: e.text stays empty
      }
    }
  };

  template <typename T>
  static const char* typeLabel() {
    if constexpr (std::is_same_v<T, int64_t>) return "INT";
    else if constexpr (std::is_same_v<T, double>) return "FLOAT";
    else if constexpr (std::is_same_v<T, std::string>) return "TEXT";
    else if constexpr (std::is_same_v<T, std::vector<std::string>>) return "TEXT,...";
    else if constexpr (std::is_same_v<T, std::vector<int64_t>>) return "INT,...";
    else static_assert(sizeof(T) == 0, "PassFlags: no command-line form for this option type");
  }

  std::deque<Entry> entries_;
};

}  // namespace onnxpress::cli
