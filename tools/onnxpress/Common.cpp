#include <filesystem>
#include <iostream>

#include "Commands.h"
#include "onnxpress/io/ModelIO.h"
#include "onnxpress/report/JsonText.h"

namespace onnxpress::cli {
namespace fs = std::filesystem;

Expected<Model> loadForCommand(const std::string& path) {
  LoadOptions options;
  options.runChecker = true;
  return loadModel(path, options);
}

void printJson(const nlohmann::json& j) { std::cout << jsonText(j, 2) << "\n"; }

int64_t fileSize(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(size);
}

}  // namespace onnxpress::cli
