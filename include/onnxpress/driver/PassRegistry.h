// Lookup in the pass table (PassRegistry.def), and building a PassManager from a
// pipeline. The registry sits in the driver layer because it names every pass family.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "onnxpress/pass/Pass.h"
#include "onnxpress/pass/PassManager.h"

namespace onnxpress {

struct PassInfo {
  std::string name;
  std::string summary;
  Expected<std::unique_ptr<Pass>> (*create)(const RawOptions&);
  std::vector<OptionDoc> (*options)();
};

const std::vector<PassInfo>& registeredPasses();
const PassInfo* findPass(const std::string& name);

/// A fresh instance of each pass of the pipeline; unknown passes and options are usage errors.
Expected<PassManager> buildPipeline(const std::vector<PipelineElement>& elements);
Expected<PassManager> buildPipeline(const std::string& text);

}  // namespace onnxpress
