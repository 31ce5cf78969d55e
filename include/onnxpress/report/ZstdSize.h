// How small a file gets under a general-purpose compressor: the size of its bytes
// compressed with zstd at level 3 (the zstd command line's default), one frame with
// the content size in its header, as `zstd -3 FILE` writes it. Reported next to the
// file size because weight pruning and quantization often pay off only once the
// model is compressed for download.
#pragma once

#include <cstdint>
#include <string>

#include "onnxpress/support/Status.h"

namespace onnxpress {

constexpr int kReportZstdLevel = 3;

/// Compressed size in bytes of the file at `path`; the file is streamed, not loaded.
Expected<int64_t> zstdCompressedSize(const std::string& path);

}  // namespace onnxpress
