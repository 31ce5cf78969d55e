// The window attributes of Conv, ConvTranspose, QLinearConv/ConvInteger and the
// pools (auto_pad, kernel_shape, strides, dilations, pads, ceil_mode, group), read
// once from a node, with their defaults, and the output sizes and padding they
// give. Shared by the runtime's kernels and by the passes that reason about Conv.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnxpress/ir/Graph.h"
#include "onnxpress/support/Status.h"

namespace onnxpress {

struct WindowAttrs {
  std::string autoPad = "NOTSET";
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: begins then ends
  bool ceilMode = false;

  /// Reads auto_pad, kernel_shape, strides, dilations, pads (and ceil_mode) from a node;
  /// absent attributes stay empty.
  static WindowAttrs read(const Node& node);
  /// The same with absent kernel_shape (from `kernel`), strides, dilations (1) and pads
  /// (0) filled in for `spatialRank` axes. Lengths given in the node are kept as written.
  WindowAttrs withDefaults(size_t spatialRank, const std::vector<int64_t>& kernel) const;
};

/// A Conv's window plus its group count.
struct ConvAttrs : WindowAttrs {
  int64_t group = 1;
  /// WindowAttrs::read plus `group`.
  static ConvAttrs read(const Node& node);
};

struct WindowGeometry {
  std::vector<int64_t> out;        // output spatial dims
  std::vector<int64_t> padBegin;   // resolved leading pads
  std::vector<int64_t> padEnd;     // resolved trailing pads
  std::vector<int64_t> kernel, strides, dilations;
};

/// Resolves output dims for a sliding window over `in` (spatial dims only).
Expected<WindowGeometry> resolveWindow(const WindowAttrs& attrs, const std::vector<int64_t>& in,
                                       const std::vector<int64_t>& kernel, const std::string& where);

}  // namespace onnxpress
