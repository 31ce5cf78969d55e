// One function per gradient family file; src/train/gradients/GradientRegistry.cpp joins them.
#pragma once

#include <vector>

#include "onnxpress/train/Gradient.h"

namespace onnxpress::train::gradients {

std::vector<GradientEntry> elementwiseGradients();
std::vector<GradientEntry> linearGradients();
std::vector<GradientEntry> normalizationGradients();
std::vector<GradientEntry> poolGradients();
std::vector<GradientEntry> quantizeGradients();
std::vector<GradientEntry> shapeGradients();

}  // namespace onnxpress::train::gradients
