// Lookup in the pass table (PassRegistry.def).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct PassInfo {
  std::string name;
  std::string summary;
  Expected<std::unique_ptr<Pass>> (*create)(const RawOptions&);
  std::vector<OptionDoc> (*options)();
};

const std::vector<PassInfo>& registeredPasses();
const PassInfo* findPass(const std::string& name);

}  // namespace onnxpress
