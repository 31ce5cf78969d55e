// PairedLatency: the latency of two models (before and after a compression) measured
// in alternation, A B A B ..., in rounds, so that a load that comes and goes on a shared
// machine slows both alike. Each round gives a speed ratio (A's median / B's median in
// that round); their spread is the noise estimate. A ratio is "within noise" when the
// rounds disagree about which model is faster (their range contains 1).
//
//   rounds = min(iterations, 5); runs per round = ceil(iterations / rounds), per model;
//   median / p90 over all timed runs of a model; ratio = median A / median B;
//   [ratioLow, ratioHigh] = min and max of the per-round ratios.
#pragma once

#include <vector>

#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/ir/Model.h"
#include "onnxpress/support/Status.h"

namespace onnxpress {

struct PairedLatency {
  double medianMsA = 0, p90MsA = 0, medianMsB = 0, p90MsB = 0;
  int64_t runsPerModel = 0;
  std::vector<double> roundRatios;  // median A / median B, per round
  double ratio = 0;                 // median A / median B over all runs
  double ratioLow = 0, ratioHigh = 0;

  /// The rounds disagree on which model is faster.
  bool withinNoise() const { return ratioLow <= 1.0 && ratioHigh >= 1.0; }
};

/// Times `a` and `b` on `feed` (one warm-up run each first). iterations >= 1.
Expected<PairedLatency> measurePairedLatency(const Model& a, const Model& b, const InputFeed& feed, int iterations,
                                             int threads);

}  // namespace onnxpress
