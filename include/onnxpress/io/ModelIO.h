// Reading and writing ONNX files. This is the only layer that sees protobuf.
//
// Reading accepts IR versions 3 to 10 and keeps everything the IR does not
// interpret, so that save(load(f)) is the same model as f. External data is
// memory-mapped, never copied, and a location that escapes the model's directory
// is refused (ONNX CVE-2022-25882). Writing goes to a temporary file that is
// renamed into place, and never replaces the input.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnxpress/ir/Model.h"
#include "onnxpress/support/Status.h"

namespace onnxpress {

constexpr int64_t kMinIrVersion = 3;
constexpr int64_t kMaxIrVersion = 10;

struct LoadOptions {
  /// Run onnx's checker (as a warning only) where the linked onnx knows the IR version.
  bool runChecker = false;
};

Expected<Model> loadModel(const std::string& path, const LoadOptions& options = {});

struct SaveOptions {
  enum class ExternalData { Auto, Always, Never };
  /// Auto writes external data only when the file would pass protobuf's 2 GB limit.
  ExternalData externalData = ExternalData::Auto;
  /// Initializers smaller than this stay inline even in external mode.
  size_t externalThresholdBytes = 1024;
  /// File name (relative to the output's directory) for external data; default "<output>.data".
  std::string externalFileName;
};

Status saveModel(const Model& model, const std::string& path, const SaveOptions& options = {});

/// Reads a serialized TensorProto (.pb), as in the ONNX test data and `run --input`.
Expected<Tensor> loadTensorFile(const std::string& path);

/// The external data files a saved or loaded model refers to, relative to its directory.
std::vector<std::string> externalDataFiles(const Model& model);

/// Every file a model loaded from `path` occupies: `path`, then the external data files it names.
std::vector<std::string> loadedModelFiles(const Model& model, const std::string& path);
/// Every file saveModel(model, path, options) writes: `path`, then its external data file if any.
std::vector<std::string> savedModelFiles(const Model& model, const std::string& path, const SaveOptions& options = {});

/// True when `a` and `b` name the same existing file (same device and inode).
bool sameFile(const std::string& a, const std::string& b);

/// Refuses an output path that is the input itself, a directory, or in a missing directory.
Status checkOutputPath(const std::string& input, const std::string& output);

}  // namespace onnxpress
