// Calibration: activation ranges from running the model over DATA in the built-in
// runtime. Statistics are streamed, so memory is bounded by the model and the
// number of calibrated tensors, never by the number of samples:
//   pass 1  running min and max of every tensor (all methods);
//   pass 2  (percentile, entropy, mse) a histogram of `bins` bins over the pass-1
//           range of every tensor.
// Methods:
//   minmax      [min, max]
//   percentile  the central `percentile` % of the values: [q((100-P)/2), q((100+P)/2)]
//               (a tensor with no negative values keeps lo = min)
//   entropy     TensorRT's KL-divergence threshold: the clipping range whose 2^bits-
//               level quantization keeps the distribution closest to the original
//               (on |x| without exact zeros, which any threshold represents exactly;
//               their spike after Relu would otherwise pull the threshold down)
//   mse         the clipping range (a shrink factor of [min, max]) with the smallest
//               expected squared error of quantize-dequantize, clipping included
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "onnxpress/data/Dataset.h"
#include "onnxpress/ir/Model.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"
#include "onnxpress/runtime/TensorData.h"

namespace onnxpress::quant {

struct TensorRange {
  float lo = 0, hi = 0;
};

struct CalibrationOptions {
  std::string method = "minmax";
  double percentile = 99.999;
  int64_t samples = 0;  // 0: all
  int threads = 0;
  int bins = 2048;
  QuantType target;     // the activation type (entropy and mse need its levels)
  bool symmetric = false;
  std::function<void()> onSample;  // once per sample and pass (progress)
};

/// A fixed-range histogram of values; counts outside [lo, hi] go to the end bins.
class Histogram {
 public:
  Histogram(float lo, float hi, int bins);
  void add(const float* values, int64_t n);
  float lo() const { return lo_; }
  float hi() const { return hi_; }
  const std::vector<double>& counts() const { return counts_; }
  double total() const { return total_; }
  float binCenter(int i) const;

 private:
  float lo_, hi_, width_;
  std::vector<double> counts_;
  double total_ = 0;
};

/// The range a method picks from a histogram (minmax keeps [lo, hi]). For entropy the
/// histogram holds |x|; `nonNegative` says the tensor had no negative values, so all
/// 2^bits levels cover [0, T] instead of half of them.
TensorRange rangeFromHistogram(const Histogram& histogram, const CalibrationOptions& options, bool nonNegative = false);

/// Ranges of the named float tensors (graph inputs or node outputs, in the main graph or
/// in If/Loop/Scan bodies) over the first options.samples samples of `data`. A name that
/// is never produced is an error, unless it is in `mayBeUnseen` (tensors of bodies the
/// data may not reach), which is then left out of the result.
Expected<std::map<std::string, TensorRange>> calibrateRanges(const Model& model, Dataset& data,
                                                             const std::set<std::string>& tensors,
                                                             const CalibrationOptions& options,
                                                             const std::set<std::string>* mayBeUnseen = nullptr);

/// Per-channel max |x| over the last axis of each named tensor (for SmoothQuant).
Expected<std::map<std::string, std::vector<float>>> channelAbsMax(const Model& model, Dataset& data,
                                                                  const std::set<std::string>& tensors,
                                                                  int64_t samples, int threads);

/// Runs `model` on the first `samples` samples of `data` (0: all), calling
/// observe(node, outputIndex, value) for every node output of the main graph and
/// observeInput(name, value) for every fed input. The shared loop of calibration,
/// SmoothQuant and bias correction.
Status forEachSample(const Model& model, Dataset& data, int64_t samples, int threads,
                     const std::function<void(const std::string& tensor, const runtime::TensorData& value)>& observe,
                     const std::function<void()>& onSample = {});

}  // namespace onnxpress::quant
