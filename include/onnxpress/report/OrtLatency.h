// Latency of a model in ONNX Runtime, for the report's optional ORT column
// (`compress --ort`). onnxpress does not link ONNX Runtime: it runs a short Python
// script with the pip `onnxruntime` package, feeding the same inputs the built-in
// runtime was timed with. ORT runs with its default graph optimizations (what
// users deploy), sequential execution and `threads` intra-op threads (0: ORT's
// default); warm-up runs first, then median and p90 of `iterations` timed runs.
#pragma once

#include <optional>
#include <string>

#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/report/CompressionReport.h"

namespace onnxpress {

/// A Python that imports onnxruntime and numpy: $ONNXPRESS_PYTHON, else ./.venv/bin/python,
/// else python3 on PATH; nullopt when none does.
std::optional<std::string> findOrtPython();

/// Times `modelPath` in ONNX Runtime; errors carry the script's last line of stderr.
Expected<Latency> measureOrtLatency(const std::string& python, const std::string& modelPath, const InputFeed& feed,
                                    int iterations, int threads);

}  // namespace onnxpress
