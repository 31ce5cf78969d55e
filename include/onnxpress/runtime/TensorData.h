// TensorData: a tensor while a graph runs. Its storage is reference-counted, so
// shape-only ops (Reshape, Squeeze, Identity, ...) alias their input instead of
// copying, and weights are viewed in place without a copy.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "onnxpress/ir/DataType.h"
#include "onnxpress/ir/Tensor.h"

namespace onnxpress::runtime {

using Shape = std::vector<int64_t>;

class TensorData {
 public:
  TensorData() = default;
  /// Allocates uninitialized storage (64-byte aligned) for dtype x shape.
  static TensorData allocate(DataType dtype, Shape shape);
  /// Allocates and zero-fills.
  static TensorData zeros(DataType dtype, Shape shape);
  /// A view of an IR tensor's bytes; the IR tensor must outlive the view.
  static TensorData view(const Tensor& tensor);
  /// A copy of an IR tensor.
  static TensorData copyOf(const Tensor& tensor);
  template <typename T>
  static TensorData fromVector(DataType dtype, Shape shape, const std::vector<T>& values) {
    TensorData t = allocate(dtype, std::move(shape));
    if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
    return t;
  }

  bool empty() const { return dtype_ == DataType::Undefined; }
  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_[static_cast<size_t>(i < 0 ? i + rank() : i)]; }
  int64_t numElements() const { return elementCount(shape_); }
  size_t byteSize() const { return dataTypeStorageBytes(dtype_, numElements()); }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <typename T> T* data() { return static_cast<T*>(data_); }
  template <typename T> const T* data() const { return static_cast<const T*>(data_); }
  template <typename T> std::span<const T> span() const { return {data<T>(), static_cast<size_t>(numElements())}; }
  template <typename T> std::span<T> mutableSpan() { return {data<T>(), static_cast<size_t>(numElements())}; }

  /// Same storage, another shape with the same element count.
  TensorData reshaped(Shape shape) const;
  /// A deep copy with its own storage.
  TensorData clone() const;
  /// True when no other TensorData shares the storage (safe to write in place).
  bool uniquelyOwned() const { return owner_.use_count() == 1; }

  /// String tensors keep their elements here instead.
  std::shared_ptr<std::vector<std::string>> strings;

  /// Converts to an owned IR tensor (for writing outputs, folding constants).
  Tensor toTensor(const std::string& name) const;
  /// Reads element i of a numeric tensor as int64 / double (for shape inputs).
  int64_t intAt(int64_t i) const;
  double doubleAt(int64_t i) const;
  std::vector<int64_t> toInt64Vector() const;

 private:
  DataType dtype_ = DataType::Undefined;
  Shape shape_;
  std::shared_ptr<void> owner_;
  void* data_ = nullptr;
};

std::string shapeToString(const Shape& shape);

}  // namespace onnxpress::runtime
