#include "onnxpress/passes/quantization/Calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <omp.h>

#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/runtime/Executor.h"

namespace onnxpress::quant {
namespace {

using runtime::TensorData;

struct MinMax {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  bool seen = false;
};

// Quantize-dequantize of x with `p` on `t`, in double.
double roundTrip(double x, const QuantParams& p, const QuantType& t) {
  const double q = std::clamp(std::nearbyint(x / p.scale) + p.zeroPoint, static_cast<double>(t.qmin),
                              static_cast<double>(t.qmax));
  return (q - p.zeroPoint) * p.scale;
}

// Percentile: the central P% of the histogram's mass; a non-negative tensor keeps lo.
TensorRange percentileRange(const Histogram& h, double percentile) {
  const auto& c = h.counts();
  const bool nonNegative = h.lo() >= 0;
  const double tail = (100.0 - percentile) / 100.0 * (nonNegative ? 1.0 : 0.5) * h.total();
  const int bins = static_cast<int>(c.size());
  const float width = (h.hi() - h.lo()) / static_cast<float>(bins);
  int loBin = 0, hiBin = bins - 1;
  for (double below = 0; loBin < bins - 1 && below + c[loBin] <= tail; ++loBin) below += c[loBin];
  for (double above = 0; hiBin > 0 && above + c[hiBin] <= tail; --hiBin) above += c[hiBin];
  TensorRange r{h.lo() + width * static_cast<float>(loBin), h.lo() + width * static_cast<float>(hiBin + 1)};
  if (nonNegative) r.lo = h.lo();
  return r;
}

// TensorRT's entropy calibration on a histogram of |x| over [0, absmax]: the
// threshold whose `levels`-level quantization has the smallest KL divergence.
TensorRange entropyRange(const Histogram& h, int levels, bool nonNegative) {
  const auto& hist = h.counts();
  const int bins = static_cast<int>(hist.size());
  const float width = h.hi() / static_cast<float>(bins);
  double bestKl = std::numeric_limits<double>::infinity();
  int bestEnd = bins;
  std::vector<double> p, q;
  for (int end = std::min(levels, bins); end <= bins; ++end) {
    p.assign(hist.begin(), hist.begin() + end);
    double outliers = 0;
    for (int i = end; i < bins; ++i) outliers += hist[i];
    p[end - 1] += outliers;
    // Q: the first `end` bins merged into `levels` groups, each group's mass spread
    // evenly over the group's non-empty bins.
    q.assign(end, 0.0);
    for (int g = 0; g < levels; ++g) {
      const int from = g * end / levels, to = (g + 1) * end / levels;
      double mass = 0;
      int nonEmpty = 0;
      for (int i = from; i < to; ++i) {
        mass += hist[i];
        nonEmpty += hist[i] > 0;
      }
      for (int i = from; i < to; ++i)
        if (hist[i] > 0) q[i] = mass / nonEmpty;
    }
    double pSum = 0, qSum = 0;
    for (int i = 0; i < end; ++i) {
      pSum += p[i];
      qSum += q[i];
    }
    if (pSum <= 0 || qSum <= 0) continue;
    double kl = 0;
    for (int i = 0; i < end; ++i) {
      if (p[i] <= 0) continue;
      const double pi = p[i] / pSum, qi = q[i] > 0 ? q[i] / qSum : 1e-12;
      kl += pi * std::log(pi / qi);
    }
    if (kl < bestKl) {
      bestKl = kl;
      bestEnd = end;
    }
  }
  const float threshold = width * static_cast<float>(bestEnd);
  return {nonNegative ? 0.0f : -threshold, threshold};
}

// MSE: [lo, hi] shrunk by the factor (1%..100%) with the smallest expected squared
// error of quantize-dequantize over the histogram (rounding and clipping both count).
TensorRange mseRange(const Histogram& h, const QuantType& t, bool symmetric) {
  const auto& c = h.counts();
  double bestError = std::numeric_limits<double>::infinity();
  TensorRange best{h.lo(), h.hi()};
  for (int step = 1; step <= 100; ++step) {
    const float factor = static_cast<float>(step) / 100.0f;
    const QuantParams p = paramsForRange(h.lo() * factor, h.hi() * factor, t, symmetric);
    double error = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      if (c[i] <= 0) continue;
      const double x = h.binCenter(static_cast<int>(i));
      const double e = x - roundTrip(x, p, t);
      error += c[i] * e * e;
    }
    if (error < bestError) {
      bestError = error;
      best = {h.lo() * factor, h.hi() * factor};
    }
  }
  return best;
}

// min and max of x[0, n): branch-free so it vectorizes, split over threads when large.
std::pair<float, float> minMax(const float* x, int64_t n, int threads) {
  float lo = std::numeric_limits<float>::infinity(), hi = -std::numeric_limits<float>::infinity();
#pragma omp parallel for num_threads(threads > 0 ? threads : omp_get_max_threads()) reduction(min : lo) \
    reduction(max : hi) schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  return {lo, hi};
}

int64_t sampleCount(const Dataset& data, int64_t samples) {
  return samples > 0 ? std::min(samples, data.size()) : data.size();
}

}  // namespace

Histogram::Histogram(float lo, float hi, int bins)
    : lo_(lo), hi_(hi > lo ? hi : lo + 1e-6f), width_((hi_ - lo_) / static_cast<float>(bins)), counts_(bins, 0.0) {}

void Histogram::add(const float* values, int64_t n) {
  const int last = static_cast<int>(counts_.size()) - 1;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(values[i])) continue;
    const float at = (values[i] - lo_) / width_;
    const int bin = at <= 0 ? 0 : at >= static_cast<float>(last) ? last : static_cast<int>(at);
    counts_[bin] += 1;
  }
  total_ += static_cast<double>(n);
}

float Histogram::binCenter(int i) const { return lo_ + width_ * (static_cast<float>(i) + 0.5f); }

TensorRange rangeFromHistogram(const Histogram& histogram, const CalibrationOptions& options, bool nonNegative) {
  if (options.method == "percentile") return percentileRange(histogram, options.percentile);
  if (options.method == "mse") return mseRange(histogram, options.target, options.symmetric);
  if (options.method == "entropy") {
    const int levels = static_cast<int>(options.target.qmax - options.target.qmin + 1);
    const bool fullRange = nonNegative && !options.symmetric;
    return entropyRange(histogram, fullRange ? levels : levels / 2, fullRange);
  }
  return {histogram.lo(), histogram.hi()};
}

Status forEachSample(const Model& model, Dataset& data, int64_t samples, int threads,
                     const std::function<void(const std::string& tensor, const TensorData& value)>& observe,
                     const std::function<void()>& onSample) {
  runtime::ExecutorOptions options;
  options.threads = threads;
  ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(model, options));
  const int64_t n = sampleCount(data, samples);
  for (int64_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(InputFeed feed, datasetFeed(data, i));
    for (const auto& [name, value] : feed) observe(name, value);
    auto outputs = executor->run(feed, [&](const Node& node, size_t index, const TensorData& value) {
      if (const Value* v = node.output(index)) observe(v->name(), value);
    });
    if (!outputs) return outputs.status().withContext(fmt::format("calibration sample {}", i));
    if (onSample) onSample();
  }
  return Status::ok();
}

Expected<std::map<std::string, TensorRange>> calibrateRanges(const Model& model, Dataset& data,
                                                             const std::set<std::string>& tensors,
                                                             const CalibrationOptions& options,
                                                             const std::set<std::string>* mayBeUnseen) {
  std::map<std::string, MinMax> extremes;
  for (const std::string& name : tensors) extremes[name];
  RETURN_IF_ERROR(forEachSample(
      model, data, options.samples, options.threads,
      [&](const std::string& tensor, const TensorData& value) {
        auto it = extremes.find(tensor);
        if (it == extremes.end() || value.dtype() != DataType::Float || value.numElements() == 0) return;
        const auto [lo, hi] = minMax(value.data<float>(), value.numElements(), options.threads);
        it->second.lo = std::min(it->second.lo, lo);
        it->second.hi = std::max(it->second.hi, hi);
        it->second.seen = true;
      },
      options.onSample));
  std::map<std::string, TensorRange> ranges;
  for (const auto& [name, m] : extremes) {
    if (m.seen) ranges[name] = {m.lo, m.hi};
    else if (!mayBeUnseen || !mayBeUnseen->count(name))
      return invalidInput("calibration: tensor '{}' was never computed as float32 on the data", name);
  }
  if (options.method == "minmax") return ranges;

  // Pass 2: histograms over the pass-1 ranges (entropy: of |x| over [0, max|x|]).
  const bool absolute = options.method == "entropy";
  std::map<std::string, Histogram> histograms;
  for (const auto& [name, r] : ranges) {
    const float absMax = std::max(std::fabs(r.lo), std::fabs(r.hi));
    histograms.emplace(name, absolute ? Histogram(0.0f, absMax, options.bins) : Histogram(r.lo, r.hi, options.bins));
  }
  std::vector<float> scratch;
  RETURN_IF_ERROR(forEachSample(
      model, data, options.samples, options.threads,
      [&](const std::string& tensor, const TensorData& value) {
        auto it = histograms.find(tensor);
        if (it == histograms.end() || value.dtype() != DataType::Float) return;
        const float* x = value.data<float>();
        int64_t n = value.numElements();
        if (absolute) {  // exact zeros (Relu outputs, padding) are exact at any threshold: not counted
          scratch.clear();
          for (int64_t i = 0; i < n; ++i)
            if (x[i] != 0.0f) scratch.push_back(std::fabs(x[i]));
          x = scratch.data();
          n = static_cast<int64_t>(scratch.size());
        }
        it->second.add(x, n);
      },
      options.onSample));
  for (auto& [name, r] : ranges) {
    r = rangeFromHistogram(histograms.at(name), options, r.lo >= 0);
  }
  return ranges;
}

Expected<std::map<std::string, std::vector<float>>> channelAbsMax(const Model& model, Dataset& data,
                                                                  const std::set<std::string>& tensors,
                                                                  int64_t samples, int threads) {
  std::map<std::string, std::vector<float>> maxima;
  RETURN_IF_ERROR(forEachSample(model, data, samples, threads, [&](const std::string& tensor, const TensorData& value) {
    if (!tensors.count(tensor) || value.dtype() != DataType::Float || value.rank() == 0) return;
    const int64_t channels = value.dim(-1);
    auto& m = maxima[tensor];
    if (m.empty()) m.assign(static_cast<size_t>(channels), 0.0f);
    if (static_cast<int64_t>(m.size()) != channels) return;
    const float* x = value.data<float>();
    for (int64_t i = 0; i < value.numElements(); ++i) m[i % channels] = std::max(m[i % channels], std::fabs(x[i]));
  }));
  for (const std::string& name : tensors)
    if (!maxima.count(name)) return invalidInput("calibration: tensor '{}' was never computed as float32 on the data", name);
  return maxima;
}

}  // namespace onnxpress::quant
