#include "onnxpress/support/AtomicFile.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace onnxpress {
namespace fs = std::filesystem;

Expected<AtomicFile> AtomicFile::create(const std::string& target) {
  AtomicFile f;
  f.target_ = target;
  const fs::path dir = fs::path(target).parent_path();
  std::string pattern =
      ((dir.empty() ? fs::path(".") : dir) / ("." + fs::path(target).filename().string() + ".tmp-XXXXXX")).string();
  f.fd_ = ::mkstemp(pattern.data());
  if (f.fd_ < 0) return invalidInput("{}: cannot create output: {}", target, std::strerror(errno));
  f.temp_ = pattern;
  return f;
}

AtomicFile& AtomicFile::operator=(AtomicFile&& o) noexcept {
  std::swap(fd_, o.fd_);
  std::swap(temp_, o.temp_);
  std::swap(target_, o.target_);
  return *this;
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

Status AtomicFile::write(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return internalError("{}: write failed: {}", target_, std::strerror(errno));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return Status::ok();
}

Status AtomicFile::commit() {
  ::fchmod(fd_, 0644);
  if (::close(fd_) != 0) return internalError("{}: close failed: {}", target_, std::strerror(errno));
  fd_ = -1;
  if (::rename(temp_.c_str(), target_.c_str()) != 0)
    return internalError("{}: rename failed: {}", target_, std::strerror(errno));
  temp_.clear();
  return Status::ok();
}

Status writeFileAtomically(const std::string& path, std::string_view bytes) {
  ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::create(path));
  RETURN_IF_ERROR(file.write(bytes.data(), bytes.size()));
  return file.commit();
}

}  // namespace onnxpress
