#include "onnxpress/runtime/TensorData.h"

#include <Eigen/Core>

#include <cassert>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace onnxpress::runtime {

TensorData TensorData::allocate(DataType dtype, Shape shape) {
  TensorData t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  if (dtype == DataType::String) {
    t.strings = std::make_shared<std::vector<std::string>>(static_cast<size_t>(t.numElements()));
    return t;
  }
  const size_t bytes = std::max<size_t>(64, (t.byteSize() + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  t.owner_ = std::shared_ptr<void>(p, std::free);
  t.data_ = p;
  return t;
}

TensorData TensorData::zeros(DataType dtype, Shape shape) {
  TensorData t = allocate(dtype, std::move(shape));
  if (t.data_) std::memset(t.data_, 0, t.byteSize());
  return t;
}

TensorData TensorData::view(const Tensor& tensor) {
  TensorData t;
  t.dtype_ = tensor.dtype();
  t.shape_ = tensor.dims();
  if (tensor.dtype() == DataType::String) {
    t.strings = std::make_shared<std::vector<std::string>>(tensor.strings());
    return t;
  }
  t.data_ = const_cast<uint8_t*>(tensor.bytes().data());
  t.owner_ = std::shared_ptr<void>(t.data_, [](void*) {});  // non-owning, but counts sharers
  return t;
}

TensorData TensorData::copyOf(const Tensor& tensor) { return view(tensor).clone(); }

TensorData TensorData::reshaped(Shape shape) const {
  TensorData t = *this;
  assert(elementCount(shape) == numElements());
  t.shape_ = std::move(shape);
  return t;
}

TensorData TensorData::clone() const {
  TensorData t = allocate(dtype_, shape_);
  if (dtype_ == DataType::String) *t.strings = *strings;
  else if (byteSize()) std::memcpy(t.data_, data_, byteSize());
  return t;
}

Tensor TensorData::toTensor(const std::string& name) const {
  Tensor t;
  if (dtype_ == DataType::String) {
    t.setBytes(dtype_, shape_, {});
    t.strings() = *strings;
  } else {
    const auto* p = static_cast<const uint8_t*>(data_);
    t.setBytes(dtype_, shape_, std::vector<uint8_t>(p, p + byteSize()));
  }
  t.setName(name);
  return t;
}

int64_t TensorData::intAt(int64_t i) const {
  switch (dtype_) {
    case DataType::Int64: return data<int64_t>()[i];
    case DataType::Int32: return data<int32_t>()[i];
    case DataType::Int16: return data<int16_t>()[i];
    case DataType::Int8: return data<int8_t>()[i];
    case DataType::UInt8: return data<uint8_t>()[i];
    case DataType::UInt16: return data<uint16_t>()[i];
    case DataType::UInt32: return data<uint32_t>()[i];
    case DataType::UInt64: return static_cast<int64_t>(data<uint64_t>()[i]);
    case DataType::Bool: return data<uint8_t>()[i] ? 1 : 0;
    case DataType::Int4:
    case DataType::UInt4: {  // two per byte, low nibble first
      const int nibble = (data<uint8_t>()[i / 2] >> (i % 2 ? 4 : 0)) & 0xF;
      return dtype_ == DataType::Int4 && nibble >= 8 ? nibble - 16 : nibble;
    }
    case DataType::Float: return static_cast<int64_t>(data<float>()[i]);
    case DataType::Double: return static_cast<int64_t>(data<double>()[i]);
    default: throw std::runtime_error("intAt: unsupported dtype " + std::string(dataTypeName(dtype_)));
  }
}

double TensorData::doubleAt(int64_t i) const {
  switch (dtype_) {
    case DataType::Float: return data<float>()[i];
    case DataType::Double: return data<double>()[i];
    case DataType::Float16: return static_cast<float>(data<Eigen::half>()[i]);
    case DataType::BFloat16: return static_cast<float>(data<Eigen::bfloat16>()[i]);
    default: return static_cast<double>(intAt(i));
  }
}

std::vector<int64_t> TensorData::toInt64Vector() const {
  std::vector<int64_t> out(static_cast<size_t>(numElements()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = intAt(static_cast<int64_t>(i));
  return out;
}

std::string shapeToString(const Shape& shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

}  // namespace onnxpress::runtime
