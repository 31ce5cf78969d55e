#include "onnxpress/pass/PassRegistry.h"

#include "onnxpress/passes/cleanup/EliminateDead.h"

namespace onnxpress {

const std::vector<PassInfo>& registeredPasses() {
  static const std::vector<PassInfo> table = {
#define PASS(NAME, CLASS, SUMMARY) {NAME, SUMMARY, &CLASS::create, &CLASS::options},
#include "onnxpress/pass/PassRegistry.def"
  };
  return table;
}

const PassInfo* findPass(const std::string& name) {
  for (const auto& info : registeredPasses())
    if (info.name == name) return &info;
  return nullptr;
}

}  // namespace onnxpress
