// A read-only memory mapping of a whole file, shared by every tensor that views it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "onnxpress/support/Status.h"

namespace onnxpress {

class MappedFile {
 public:
  /// Maps `path` read-only. Errors (missing, directory, unreadable) are InvalidInput.
  static Expected<std::shared_ptr<const MappedFile>> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  /// Drops resident pages of [offset, offset+length) after a one-pass read; the
  /// mapping stays valid and pages fault back in from the file if touched again.
  void releasePages(size_t offset, size_t length) const;

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace onnxpress
