#include <filesystem>
#include <iostream>

#include "Commands.h"
#include "onnxpress/io/ModelIO.h"

namespace onnxpress::cli {
namespace fs = std::filesystem;

Expected<Model> loadForCommand(const std::string& path) {
  LoadOptions options;
  options.runChecker = true;
  return loadModel(path, options);
}

void printJson(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

Status checkOutputPath(const std::string& input, const std::string& output) {
  std::error_code ec;
  if (output.empty()) return usageError("an output path is required (-o OUT)");
  if (fs::absolute(input, ec) == fs::absolute(output, ec) || sameFile(input, output))
    return usageError("{}: refusing to overwrite the input model; choose another -o", output);
  if (fs::is_directory(output, ec)) return usageError("{}: output is a directory; give a file name", output);
  fs::path dir = fs::path(output).parent_path();
  if (!dir.empty() && !fs::is_directory(dir, ec)) return usageError("{}: output directory does not exist", output);
  return Status::ok();
}

int64_t fileSize(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(size);
}

}  // namespace onnxpress::cli
