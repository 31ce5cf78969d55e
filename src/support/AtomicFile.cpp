#include "onnxpress/support/AtomicFile.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace onnxpress {
namespace fs = std::filesystem;

namespace {

// Temporary files in progress, for the SIGINT/SIGTERM handler to remove: fixed
// slots, since a signal handler may neither allocate nor lock.
constexpr int kTempSlots = 32;
char gTempPaths[kTempSlots][PATH_MAX];
volatile sig_atomic_t gTempUsed[kTempSlots];

int registerTemp(const std::string& path) {
  if (path.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kTempSlots; ++i)
    if (!gTempUsed[i]) {
      std::memcpy(gTempPaths[i], path.c_str(), path.size() + 1);
      gTempUsed[i] = 1;
      return i;
    }
  return -1;  // more than 32 at once: that one is not cleaned on a signal
}

void unregisterTemp(int slot) {
  if (slot >= 0) gTempUsed[slot] = 0;
}

void removeTempsAndDie(int sig) {
  for (int i = 0; i < kTempSlots; ++i)
    if (gTempUsed[i]) ::unlink(gTempPaths[i]);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void removeTemporaryFilesOnSignals() {
  ::signal(SIGINT, removeTempsAndDie);
  ::signal(SIGTERM, removeTempsAndDie);
  ::signal(SIGHUP, removeTempsAndDie);
}

Expected<AtomicFile> AtomicFile::create(const std::string& target) {
  AtomicFile f;
  f.target_ = target;
  const fs::path dir = fs::path(target).parent_path();
  std::string pattern =
      ((dir.empty() ? fs::path(".") : dir) / ("." + fs::path(target).filename().string() + ".tmp-XXXXXX")).string();
  f.fd_ = ::mkstemp(pattern.data());
  if (f.fd_ < 0) return invalidInput("{}: cannot create output: {}", target, std::strerror(errno));
  f.temp_ = pattern;
  f.slot_ = registerTemp(pattern);
  return f;
}

AtomicFile& AtomicFile::operator=(AtomicFile&& o) noexcept {
  std::swap(fd_, o.fd_);
  std::swap(temp_, o.temp_);
  std::swap(target_, o.target_);
  std::swap(slot_, o.slot_);
  return *this;
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
  unregisterTemp(slot_);
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
  unregisterTemp(slot_);
  slot_ = -1;
  return Status::ok();
}

Status writeFileAtomically(const std::string& path, std::string_view bytes) {
  ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::create(path));
  RETURN_IF_ERROR(file.write(bytes.data(), bytes.size()));
  return file.commit();
}

}  // namespace onnxpress
