// Tensor: a constant n-d array (an initializer, a Constant node's value, an attribute).
//
// The bytes are always held in ONNX raw_data layout (little-endian, 4-bit types
// packed two per byte). They live either in an owned buffer or in a view of a
// memory-mapped external-data file, so large weights are never copied on load.
// String tensors keep their elements in `strings()` instead.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "onnxpress/ir/DataType.h"
#include "onnxpress/support/MappedFile.h"

namespace onnxpress {

/// Where a tensor's bytes came from in the source file; kept so export can
/// reproduce the original encoding and report external files.
struct TensorOrigin {
  enum class Encoding { Raw, TypedFields };
  Encoding encoding = Encoding::Raw;
  std::string externalLocation;  // non-empty when loaded from external data
  int64_t externalOffset = 0;
  int64_t externalLength = -1;
  std::vector<std::pair<std::string, std::string>> externalExtra;  // e.g. checksum
  bool hasSegment = false;
  int64_t segmentBegin = 0, segmentEnd = 0;
};

class Tensor {
 public:
  Tensor() = default;
  Tensor(DataType dtype, std::vector<int64_t> dims) : dtype_(dtype), dims_(std::move(dims)) {
    owned_.assign(dataTypeStorageBytes(dtype_, numElements()), 0);
  }
  Tensor(Tensor&&) = default;
  Tensor& operator=(Tensor&&) = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  /// Deep copy of the metadata; a mapped buffer stays shared (it is read-only).
  Tensor clone() const;

  const std::string& name() const { return name_; }
  void setName(std::string name) { name_ = std::move(name); }
  const std::string& docString() const { return docString_; }
  void setDocString(std::string doc) { docString_ = std::move(doc); }
  DataType dtype() const { return dtype_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  int64_t numElements() const;
  size_t byteSize() const { return mapped_ ? mappedLength_ : owned_.size(); }

  /// Read-only bytes in raw_data layout.
  std::span<const uint8_t> bytes() const {
    return mapped_ ? std::span<const uint8_t>(mapped_->data() + mappedOffset_, mappedLength_)
                   : std::span<const uint8_t>(owned_.data(), owned_.size());
  }
  /// Writable bytes; a mapped tensor is copied into memory first.
  std::span<uint8_t> mutableBytes();

  template <typename T>
  std::span<const T> data() const {
    auto b = bytes();
    return {reinterpret_cast<const T*>(b.data()), b.size() / sizeof(T)};
  }
  template <typename T>
  std::span<T> mutableData() {
    auto b = mutableBytes();
    return {reinterpret_cast<T*>(b.data()), b.size() / sizeof(T)};
  }

  /// Replaces the contents with `bytes` (owned).
  void setBytes(DataType dtype, std::vector<int64_t> dims, std::vector<uint8_t> bytes);
  /// Makes this tensor a view of `file` (external data); no copy.
  void setMapped(DataType dtype, std::vector<int64_t> dims, std::shared_ptr<const MappedFile> file,
                 size_t offset, size_t length);
  bool isMapped() const { return mapped_ != nullptr; }
  /// For a mapped tensor, drops its resident pages (see MappedFile::releasePages).
  void releaseMappedPages() const {
    if (mapped_) mapped_->releasePages(mappedOffset_, mappedLength_);
  }

  std::vector<std::string>& strings() { return strings_; }
  const std::vector<std::string>& strings() const { return strings_; }

  TensorOrigin& origin() { return origin_; }
  const TensorOrigin& origin() const { return origin_; }

  /// Bit-for-bit equality of dtype, dims and contents (names ignored).
  bool sameContents(const Tensor& other) const;

  /// A scalar or 1-D tensor built from host values.
  template <typename T>
  static Tensor fromValues(DataType dtype, std::vector<int64_t> dims, const std::vector<T>& values) {
    Tensor t;
    std::vector<uint8_t> raw(values.size() * sizeof(T));
    if (!raw.empty()) std::memcpy(raw.data(), values.data(), raw.size());
    t.setBytes(dtype, std::move(dims), std::move(raw));
    return t;
  }

 private:
  std::string name_;
  std::string docString_;
  DataType dtype_ = DataType::Undefined;
  std::vector<int64_t> dims_;
  std::vector<uint8_t> owned_;
  std::shared_ptr<const MappedFile> mapped_;
  size_t mappedOffset_ = 0;
  size_t mappedLength_ = 0;
  std::vector<std::string> strings_;
  TensorOrigin origin_;
};

/// ONNX SparseTensorProto: `values` (1-D, NNZ) at `indices` ([NNZ] linear or [NNZ, rank]).
struct SparseTensor {
  Tensor values;
  Tensor indices;
  std::vector<int64_t> dims;
  SparseTensor clone() const { return {values.clone(), indices.clone(), dims}; }
  int64_t denseElements() const;
};

}  // namespace onnxpress
