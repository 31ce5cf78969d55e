// Output sizes and padding for Conv, ConvTranspose and the pools (auto_pad,
// explicit pads, strides, dilations, ceil_mode), shared by those kernels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnxpress/ir/Graph.h"
#include "onnxpress/support/Status.h"

namespace onnxpress::runtime {

struct WindowAttrs {
  std::string autoPad = "NOTSET";
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: begins then ends
  bool ceilMode = false;

  /// Reads auto_pad, kernel_shape, strides, dilations, pads (and ceil_mode) from a node.
  static WindowAttrs read(const Node& node);
};

struct WindowGeometry {
  std::vector<int64_t> out;        // output spatial dims
  std::vector<int64_t> padBegin;   // resolved leading pads
  std::vector<int64_t> kernel, strides, dilations;
};

/// Resolves output dims for a sliding window over `in` (spatial dims only).
Expected<WindowGeometry> resolveWindow(const WindowAttrs& attrs, const std::vector<int64_t>& in,
                                       const std::vector<int64_t>& kernel, const std::string& where);

}  // namespace onnxpress::runtime
