#include <algorithm>

#include "Families.h"
#include "GradUtil.h"

namespace onnxpress::train {

TensorData GradientContext::outputGrad(size_t i) const {
  if (i < outputGrads.size() && outputGrads[i]) return *outputGrads[i];
  return gradients::floatZeros(outputs[i] ? outputs[i]->shape() : Shape{});
}

const std::vector<GradientEntry>& registeredGradients() {
  static const std::vector<GradientEntry> table = [] {
    std::vector<GradientEntry> all;
    for (auto family : {gradients::elementwiseGradients, gradients::linearGradients, gradients::normalizationGradients,
                        gradients::poolGradients, gradients::quantizeGradients, gradients::shapeGradients})
      for (GradientEntry& entry : family()) all.push_back(std::move(entry));
    return all;
  }();
  return table;
}

const GradientEntry* findGradient(const Node& node) {
  if (!node.domain().empty()) return nullptr;
  for (const GradientEntry& entry : registeredGradients())
    if (node.opType() == entry.opType) return &entry;
  return nullptr;
}

bool isDifferentiableInput(const GradientEntry& entry, size_t index) {
  return entry.differentiableInputs.empty() ||
         std::find(entry.differentiableInputs.begin(), entry.differentiableInputs.end(), static_cast<int>(index)) !=
             entry.differentiableInputs.end();
}

}  // namespace onnxpress::train
