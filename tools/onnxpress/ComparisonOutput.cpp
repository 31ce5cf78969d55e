#include "ComparisonOutput.h"

#include <fmt/format.h>

namespace onnxpress::cli {

std::vector<std::string> errorStatsHeader(std::vector<std::string> lead, const std::vector<std::string>& tail) {
  lead.insert(lead.end(), {"max abs", "mean abs", "MSE", "cosine", "SNR dB"});
  lead.insert(lead.end(), tail.begin(), tail.end());
  return lead;
}

std::vector<std::string> errorStatsRow(std::vector<std::string> lead, const ErrorStats& s,
                                       const std::vector<std::string>& tail) {
  lead.insert(lead.end(), {fmt::format("{:.3g}", s.fidelity.maxAbs), fmt::format("{:.3g}", s.fidelity.meanAbs),
                           fmt::format("{:.3g}", s.mse), fmt::format("{:.6f}", s.fidelity.cosine),
                           fmt::format("{:.1f}", s.fidelity.snrDb)});
  lead.insert(lead.end(), tail.begin(), tail.end());
  return lead;
}

nlohmann::json errorStatsJson(const ErrorStats& s, bool withAllClose) {
  nlohmann::json j = {{"max_abs", s.fidelity.maxAbs}, {"mean_abs", s.fidelity.meanAbs}, {"mse", s.mse},
                      {"cosine", s.fidelity.cosine},  {"snr_db", s.fidelity.snrDb}};
  if (withAllClose) {
    j["allclose"] = s.allClose;
    j["first_mismatch"] = s.firstMismatch.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.firstMismatch);
  }
  return j;
}

}  // namespace onnxpress::cli
