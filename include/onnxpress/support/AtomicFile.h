// AtomicFile: an output written under a temporary name in the target's directory
// and renamed into place by commit(), so that a failed run never leaves a partial
// file or replaces a good one. Without commit() the temporary file is removed.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "onnxpress/support/Status.h"

namespace onnxpress {

class AtomicFile {
 public:
  /// Creates ".NAME.tmp-XXXXXX" beside `target`; failure (e.g. no such directory) is InvalidInput.
  static Expected<AtomicFile> create(const std::string& target);

  AtomicFile() = default;
  AtomicFile(AtomicFile&& o) noexcept { *this = std::move(o); }
  AtomicFile& operator=(AtomicFile&& o) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  int fd() const { return fd_; }
  Status write(const void* data, size_t size);
  /// Closes the file (mode 0644) and renames it onto the target.
  Status commit();

 private:
  int fd_ = -1;
  std::filesystem::path temp_;
  std::string target_;
  int slot_ = -1;  // in the table removeTemporaryFilesOnSignals() cleans
};

/// Installs SIGINT, SIGTERM and SIGHUP handlers that remove every AtomicFile's
/// temporary file in progress and then die of the signal (the CLI calls it first).
void removeTemporaryFilesOnSignals();

/// Writes `bytes` to `path` through an AtomicFile.
Status writeFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace onnxpress
