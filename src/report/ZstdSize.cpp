#include "onnxpress/report/ZstdSize.h"

#include <zstd.h>

#include <memory>
#include <vector>

#include "onnxpress/support/MappedFile.h"

namespace onnxpress {

Expected<int64_t> zstdCompressedSize(const std::string& path) {
  ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!cctx) return internalError("{}: zstd: cannot create a compression context", path);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, kReportZstdLevel);
  ZSTD_CCtx_setPledgedSrcSize(cctx.get(), file->size());

  // Compressed bytes are only counted: the output buffer is reused for every block.
  std::vector<char> sink(ZSTD_CStreamOutSize());
  ZSTD_inBuffer in{file->data(), file->size(), 0};
  int64_t total = 0;
  for (;;) {
    ZSTD_outBuffer out{sink.data(), sink.size(), 0};
    const size_t remaining = ZSTD_compressStream2(cctx.get(), &out, &in, ZSTD_e_end);
    if (ZSTD_isError(remaining)) return internalError("{}: zstd: {}", path, ZSTD_getErrorName(remaining));
    total += static_cast<int64_t>(out.pos);
    if (remaining == 0) break;
  }
  return total;
}

}  // namespace onnxpress
