#include "onnxpress/analysis/PairedLatency.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "onnxpress/analysis/Profile.h"
#include "onnxpress/runtime/Executor.h"

namespace onnxpress {

Expected<PairedLatency> measurePairedLatency(const Model& a, const Model& b, const InputFeed& feed, int iterations,
                                             int threads) {
  if (iterations < 1) return usageError("paired latency needs at least one iteration");
  runtime::ExecutorOptions options;
  options.threads = threads;
  ASSIGN_OR_RETURN(auto execA, runtime::Executor::create(a, options));
  ASSIGN_OR_RETURN(auto execB, runtime::Executor::create(b, options));
  RETURN_IF_ERROR(execA->run(feed).status());  // warm-up: allocations, first-touch
  RETURN_IF_ERROR(execB->run(feed).status());
  const int rounds = std::min(iterations, 5);
  const int perRound = (iterations + rounds - 1) / rounds;
  auto timeRuns = [&](runtime::Executor& exec, std::vector<double>& all) -> Expected<std::vector<double>> {
    std::vector<double> ms;
    for (int i = 0; i < perRound; ++i) {
      const auto start = std::chrono::steady_clock::now();
      RETURN_IF_ERROR(exec.run(feed).status());
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    all.insert(all.end(), ms.begin(), ms.end());
    return ms;
  };
  PairedLatency p;
  std::vector<double> allA, allB;
  for (int r = 0; r < rounds; ++r) {
    ASSIGN_OR_RETURN(std::vector<double> roundA, timeRuns(*execA, allA));
    ASSIGN_OR_RETURN(std::vector<double> roundB, timeRuns(*execB, allB));
    const double mb = medianOfSamples(roundB);
    p.roundRatios.push_back(mb > 0 ? medianOfSamples(roundA) / mb : 1.0);
  }
  p.runsPerModel = static_cast<int64_t>(allA.size());
  p.medianMsA = medianOfSamples(allA);
  p.p90MsA = percentile90OfSamples(allA);
  p.medianMsB = medianOfSamples(allB);
  p.p90MsB = percentile90OfSamples(allB);
  p.ratio = p.medianMsB > 0 ? p.medianMsA / p.medianMsB : 1.0;
  p.ratioLow = *std::min_element(p.roundRatios.begin(), p.roundRatios.end());
  p.ratioHigh = *std::max_element(p.roundRatios.begin(), p.roundRatios.end());
  return p;
}

}  // namespace onnxpress
