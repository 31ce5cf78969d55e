#include "KernelUtil.h"

namespace onnxpress::runtime {

void runChunks(int64_t n, int threads, int64_t grain, void (*body)(void*, int64_t, int64_t), void* context) {
  if (threads <= 1 || n < 2 * grain) {
    body(context, 0, n);
    return;
  }
  const int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) body(context, n * c / chunks, n * (c + 1) / chunks);
}

}  // namespace onnxpress::runtime
