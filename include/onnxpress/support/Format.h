// Human-readable numbers and aligned text tables for terminal output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace onnxpress {

/// 1234567 -> "1,234,567".
std::string withThousands(int64_t value);
/// 830_000 -> "810.5 KiB".
std::string humanBytes(int64_t bytes);

/// Columns padded to their widest cell; numeric-looking cells align right.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void addRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render(const std::string& indent = "  ") const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace onnxpress
