#include "onnxpress/ir/Tensor.h"

#include <algorithm>

namespace onnxpress {

int64_t Tensor::numElements() const { return elementCount(dims_); }

Tensor Tensor::clone() const {
  Tensor t;
  t.name_ = name_;
  t.docString_ = docString_;
  t.dtype_ = dtype_;
  t.dims_ = dims_;
  t.owned_ = owned_;
  t.mapped_ = mapped_;
  t.mappedOffset_ = mappedOffset_;
  t.mappedLength_ = mappedLength_;
  t.strings_ = strings_;
  t.origin_ = origin_;
  return t;
}

std::span<uint8_t> Tensor::mutableBytes() {
  if (mapped_) {
    auto view = bytes();
    owned_.assign(view.begin(), view.end());
    mapped_.reset();
    mappedOffset_ = mappedLength_ = 0;
  }
  return {owned_.data(), owned_.size()};
}

void Tensor::setBytes(DataType dtype, std::vector<int64_t> dims, std::vector<uint8_t> bytes) {
  dtype_ = dtype;
  dims_ = std::move(dims);
  owned_ = std::move(bytes);
  mapped_.reset();
  mappedOffset_ = mappedLength_ = 0;
}

void Tensor::setMapped(DataType dtype, std::vector<int64_t> dims, std::shared_ptr<const MappedFile> file,
                       size_t offset, size_t length) {
  dtype_ = dtype;
  dims_ = std::move(dims);
  owned_.clear();
  mapped_ = std::move(file);
  mappedOffset_ = offset;
  mappedLength_ = length;
}

bool Tensor::sameContents(const Tensor& other) const {
  if (dtype_ != other.dtype_ || dims_ != other.dims_ || strings_ != other.strings_) return false;
  auto a = bytes(), b = other.bytes();
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

int64_t SparseTensor::denseElements() const { return elementCount(dims); }

}  // namespace onnxpress
