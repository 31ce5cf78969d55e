// How `eval --reference` and `compare` print ErrorStats: table cells and JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "onnxpress/analysis/ErrorStats.h"

namespace onnxpress::cli {

/// A TextTable header: `lead`, then "max abs", "mean abs", "MSE", "cosine", "SNR dB", then `tail`.
std::vector<std::string> errorStatsHeader(std::vector<std::string> lead, const std::vector<std::string>& tail = {});
/// The matching row: `lead`, the figures of `s`, `tail`.
std::vector<std::string> errorStatsRow(std::vector<std::string> lead, const ErrorStats& s,
                                       const std::vector<std::string>& tail = {});
/// {"max_abs", "mean_abs", "mse", "cosine", "snr_db"}, plus "allclose" and
/// "first_mismatch" (null when all pairs passed) when `withAllClose`.
nlohmann::json errorStatsJson(const ErrorStats& s, bool withAllClose);

}  // namespace onnxpress::cli
