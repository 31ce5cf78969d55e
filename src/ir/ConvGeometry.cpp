#include "onnxpress/ir/ConvGeometry.h"

#include <fmt/format.h>

namespace onnxpress {

WindowAttrs WindowAttrs::read(const Node& node) {
  WindowAttrs a;
  a.autoPad = node.stringAttr("auto_pad", "NOTSET");
  a.kernel = node.intsAttr("kernel_shape");
  a.strides = node.intsAttr("strides");
  a.dilations = node.intsAttr("dilations");
  a.pads = node.intsAttr("pads");
  a.ceilMode = node.intAttr("ceil_mode", 0) != 0;
  return a;
}

WindowAttrs WindowAttrs::withDefaults(size_t spatialRank, const std::vector<int64_t>& kernelDims) const {
  WindowAttrs a = *this;
  if (a.kernel.empty()) a.kernel = kernelDims;
  if (a.strides.empty()) a.strides.assign(spatialRank, 1);
  if (a.dilations.empty()) a.dilations.assign(spatialRank, 1);
  if (a.pads.empty()) a.pads.assign(2 * spatialRank, 0);
  return a;
}

ConvAttrs ConvAttrs::read(const Node& node) {
  ConvAttrs c;
  static_cast<WindowAttrs&>(c) = WindowAttrs::read(node);
  c.group = node.intAttr("group", 1);
  return c;
}

Expected<WindowGeometry> resolveWindow(const WindowAttrs& a, const std::vector<int64_t>& in,
                                       const std::vector<int64_t>& kernel, const std::string& where) {
  const size_t n = in.size();
  const WindowAttrs filled = a.withDefaults(n, kernel);
  WindowGeometry g;
  g.kernel = kernel;
  g.strides = filled.strides;
  g.dilations = filled.dilations;
  const std::vector<int64_t>& pads = filled.pads;
  if (kernel.size() != n || g.strides.size() != n || g.dilations.size() != n || pads.size() != 2 * n)
    return invalidInput("node {}: kernel_shape/strides/dilations/pads do not match {} spatial dims", where, n);
  g.out.resize(n);
  g.padBegin.resize(n);
  g.padEnd.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (g.strides[i] <= 0 || g.dilations[i] <= 0 || kernel[i] <= 0)
      return invalidInput("node {}: strides, dilations and kernel must be positive", where);
    const int64_t effective = (kernel[i] - 1) * g.dilations[i] + 1;
    if (a.autoPad == "SAME_UPPER" || a.autoPad == "SAME_LOWER") {
      const int64_t out = (in[i] + g.strides[i] - 1) / g.strides[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * g.strides[i] + effective - in[i]);
      g.padBegin[i] = a.autoPad == "SAME_UPPER" ? total / 2 : (total + 1) / 2;
      g.padEnd[i] = total - g.padBegin[i];
      g.out[i] = out;
    } else if (a.autoPad == "VALID") {
      g.padBegin[i] = 0;
      g.padEnd[i] = 0;
      g.out[i] = (in[i] - effective) / g.strides[i] + 1;
    } else if (a.autoPad == "NOTSET") {
      const int64_t padded = in[i] + pads[i] + pads[i + n];
      g.padBegin[i] = pads[i];
      g.padEnd[i] = pads[i + n];
      if (a.ceilMode) {
        int64_t out = (padded - effective + g.strides[i] - 1) / g.strides[i] + 1;
        if ((out - 1) * g.strides[i] >= in[i] + pads[i]) --out;  // last window must start inside
        g.out[i] = out;
      } else {
        g.out[i] = (padded - effective) / g.strides[i] + 1;
      }
    } else {
      return invalidInput("node {}: unknown auto_pad '{}'", where, a.autoPad);
    }
    if (g.out[i] < 0) g.out[i] = 0;
  }
  return g;
}

}  // namespace onnxpress
