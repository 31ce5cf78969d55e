// NumPy .npy and .npz files: the on-disk form of DATA and of `run` outputs.
//
// .npy: magic "\x93NUMPY", version, a header dict {'descr', 'fortran_order',
// 'shape'}, then the C-order little-endian array. .npz: a zip archive of .npy
// members, stored (np.savez) or deflated (np.savez_compressed), zip64 included.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "onnxpress/ir/DataType.h"
#include "onnxpress/ir/Tensor.h"
#include "onnxpress/support/Status.h"

namespace onnxpress {

struct NpyHeader {
  DataType dtype = DataType::Undefined;
  std::vector<int64_t> shape;
  size_t dataOffset = 0;  // where the array bytes start in the .npy stream
  int64_t numElements() const;
};

struct NdArray {
  DataType dtype = DataType::Undefined;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  int64_t numElements() const;
};

/// Parses the header; `label` names the file in errors.
Expected<NpyHeader> parseNpyHeader(std::span<const uint8_t> bytes, const std::string& label);
Expected<NdArray> parseNpy(std::span<const uint8_t> bytes, const std::string& label);
std::vector<uint8_t> serializeNpy(DataType dtype, const std::vector<int64_t>& shape, std::span<const uint8_t> data);

Expected<NdArray> readNpyFile(const std::string& path);
/// Writes atomically (temporary file, then rename).
Status writeNpyFile(const std::string& path, DataType dtype, const std::vector<int64_t>& shape,
                    std::span<const uint8_t> data);

/// Array headers of every member of an .npz, read without inflating whole arrays.
Expected<std::map<std::string, NpyHeader>> readNpzHeaders(const std::string& path);
/// Every array of an .npz, keyed by member name without ".npy".
Expected<std::map<std::string, NdArray>> readNpz(const std::string& path);

}  // namespace onnxpress
