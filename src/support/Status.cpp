#include "onnxpress/support/Status.h"

#include <fmt/format.h>

#include <algorithm>

namespace onnxpress {

namespace {
// "\n" becomes the two characters \n, other control bytes \xHH; tabs stay.
std::string escapeControlCharacters(std::string text) {
  if (std::none_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\t'; }))
    return text;
  std::string escaped;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 || c == '\t') escaped += c;
    else if (c == '\n') escaped += "\\n";
    else if (c == '\r') escaped += "\\r";
    else escaped += fmt::format("\\x{:02x}", byte);
  }
  return escaped;
}
}  // namespace

Status::Status(ErrorCode code, std::string message)
    : code_(code), message_(escapeControlCharacters(std::move(message))) {}

}  // namespace onnxpress
