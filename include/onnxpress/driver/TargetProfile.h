// Target profiles: what a deployment target runs well, as data. The files in
// targets/*.yaml are embedded in the binary at build time; a file of the same
// format can be named instead (`--target my-board.yaml`).
//
// A profile gives
//   - option defaults for passes: `--target tensorrt` makes quantize symmetric int8
//     with zero points 0; an option written in the pipeline still wins;
//   - rules and budgets that the output is checked against, in the report's
//     deployability section (analysis/Deployability.h).
// docs/deployment.md documents every key and every built-in target.
#pragma once

#include <string>
#include <vector>

#include "onnxpress/analysis/Deployability.h"
#include "onnxpress/pass/PassManager.h"

namespace onnxpress {

struct TargetProfile {
  std::string name, summary, runtime;
  std::string source;  // "built-in" or the file it was read from
  std::string text;    // the profile as written
  std::vector<PipelineElement> passDefaults;  // per pass: the options the target sets
  TargetRules rules;
  TargetBudgets budgets;
};

/// Whether --target / `target:` names a profile file (a path ending in .yaml/.yml or holding '/') rather than a built-in.
bool isTargetProfileFile(const std::string& nameOrPath);
/// The profiles built into this binary, by name.
std::vector<std::string> builtInTargetNames();
/// A built-in profile by name, or a profile file (a path ending in .yaml/.yml or holding '/').
Expected<TargetProfile> loadTargetProfile(const std::string& nameOrPath);
/// Parses profile text; `label` names it in errors. Unknown keys are errors.
Expected<TargetProfile> parseTargetProfile(const std::string& text, const std::string& label);
/// Adds the profile's option defaults to the pipeline's passes, where the option is not written.
void applyTargetDefaults(const TargetProfile& profile, std::vector<PipelineElement>& pipeline);

}  // namespace onnxpress
