// Helpers shared by the fusion pass tests (FuseBatchNorm, FuseMatMulAdd, FuseTranspose,
// FusePatterns): seeded literal weights for ONNX text models.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace onnxpress::test {

/// "{v0, v1, ...}": `n` values uniform in [lo, hi) from a fixed seed, for initializer
/// and Constant literals in ONNX text syntax.
inline std::string seededLiteral(int n, uint32_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::string out = "{";
  for (int i = 0; i < n; ++i) out += fmt::format("{}{:.6f}", i ? ", " : "", u(rng));
  return out + "}";
}

/// `text` with every "$NAME" key replaced by its value (model text braces stay literal).
inline std::string substitute(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [key, value] : values)
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  return text;
}

}  // namespace onnxpress::test
