#include "onnxpress/driver/PassRegistry.h"

#include "onnxpress/passes/cleanup/CommonSubexpressions.h"
#include "onnxpress/passes/cleanup/DedupeConstants.h"
#include "onnxpress/passes/cleanup/EliminateDead.h"
#include "onnxpress/passes/cleanup/EliminateIdentity.h"
#include "onnxpress/passes/cleanup/FoldConstants.h"
#include "onnxpress/driver/Simplify.h"
#include "onnxpress/passes/conversion/ConvertOpset.h"
#include "onnxpress/passes/fusion/FuseBatchNorm.h"
#include "onnxpress/passes/fusion/FuseMatMulAdd.h"
#include "onnxpress/passes/fusion/FusePatterns.h"
#include "onnxpress/passes/fusion/FuseReshape.h"
#include "onnxpress/passes/fusion/FuseTranspose.h"
#include "onnxpress/passes/pruning/Prune.h"
#include "onnxpress/passes/quantization/Quantize.h"
#include "onnxpress/passes/substitution/DepthwiseSeparable.h"
#include "onnxpress/passes/substitution/DropLayers.h"
#include "onnxpress/passes/substitution/LowRank.h"
#include "onnxpress/passes/substitution/SwapActivation.h"
#include "onnxpress/passes/training/Distill.h"
#include "onnxpress/passes/training/FineTune.h"
#include "onnxpress/passes/training/QuantizationAwareTraining.h"

namespace onnxpress {

const std::vector<PassInfo>& registeredPasses() {
  static const std::vector<PassInfo> table = {
#define PASS(NAME, CLASS, SUMMARY) {NAME, SUMMARY, &CLASS::create, &CLASS::options},
#include "onnxpress/driver/PassRegistry.def"
  };
  return table;
}

const PassInfo* findPass(const std::string& name) {
  for (const auto& info : registeredPasses())
    if (info.name == name) return &info;
  return nullptr;
}

Expected<PassManager> buildPipeline(const std::vector<PipelineElement>& elements) {
  PassManager pm;
  for (const auto& e : elements) {
    const PassInfo* info = findPass(e.pass);
    if (!info) return usageError("pipeline: unknown pass '{}' (run 'onnxpress passes' to list them)", e.pass);
    ASSIGN_OR_RETURN(auto pass, info->create(e.options));
    pm.add(std::move(pass));
  }
  return pm;
}

Expected<PassManager> buildPipeline(const std::string& text) {
  ASSIGN_OR_RETURN(auto elements, parsePipelineText(text));
  return buildPipeline(elements);
}

}  // namespace onnxpress
