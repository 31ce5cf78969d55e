// DATA: the calibration / evaluation / training data format every command shares.
//
// A DATA is an .npz file, or a directory of .npz files read in name order as one
// DATA. Each array is named after a model input and has shape [S, ...], where
// "..." is one inference's input exactly as the model takes it, batch dimension
// included. An optional `labels` array of shape [S] holds integer class indices.
// Opening reads only the array headers; samples are loaded one file at a time.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "onnxpress/data/Npy.h"
#include "onnxpress/ir/Graph.h"

namespace onnxpress {

class Dataset {
 public:
  static constexpr const char* kLabels = "labels";

  struct ArraySpec {
    DataType dtype = DataType::Undefined;
    std::vector<int64_t> sampleShape;  // the array's shape without the leading S
  };

  static Expected<Dataset> open(const std::string& path);

  const std::string& path() const { return path_; }
  int64_t size() const { return size_; }
  /// Input arrays (labels excluded), by name.
  const std::map<std::string, ArraySpec>& arrays() const { return arrays_; }
  bool hasLabels() const { return hasLabels_; }

  /// Checks names, dtypes and shapes against the graph's inputs (symbolic dims
  /// accept any size). Errors name the array and the input.
  Status validateFor(const Graph& graph) const;

  /// Sample `index` of array `name` as a tensor of shape sampleShape.
  Expected<Tensor> sample(const std::string& name, int64_t index);
  Expected<int64_t> label(int64_t index);

 private:
  struct Part {
    std::string path;
    int64_t first = 0, count = 0;
  };
  Status load(int64_t index);

  std::string path_;
  std::vector<Part> parts_;
  std::map<std::string, ArraySpec> arrays_;
  bool hasLabels_ = false;
  int64_t size_ = 0;
  int loadedPart_ = -1;
  std::map<std::string, NdArray> loaded_;
};

}  // namespace onnxpress
