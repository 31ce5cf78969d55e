// The body of `compress`, shared with the commands that are sugar for a one-pass
// compress (`prune`): they build a Recipe and hand it over with the same options.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "onnxpress/driver/Compress.h"
#include "onnxpress/support/Status.h"

namespace onnxpress::cli {

/// Registers the options after compress's MODEL, -o, --passes, --recipe and
/// --calib-data: --eval-data, --report, the gates, --save-recipe, measurement,
/// --external-data, --verify-each and --json.
void addCompressionOptions(CLI::App* cmd, CompressArgs& args);

/// compressModel(), then the summary (or --json) on stdout. A gate not met is
/// ErrorCode::GateFailed, after everything was written.
Status runCompression(const CompressArgs& args, Recipe recipe);

}  // namespace onnxpress::cli
