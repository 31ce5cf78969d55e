// `onnxpress batch` and `batch-merge`: compress a model zoo with one recipe, each
// model in its own child process (`onnxpress compress`) under a time and memory
// limit, and index the outcome.
//
//   DIR/<name>/model.onnx, report.json, report.html, log.txt, batch.json
//   DIR/index.json, index.csv, index.html
//
// A model's directory is built in DIR/.work/<name> and renamed into place with its
// batch.json (the record) last, so a killed batch never leaves a directory that a
// rerun would trust. A rerun reuses a record whose input hash, recipe hash and tool
// build match and whose status does not depend on the machine (ok, gate-failed,
// invalid). Shards take a stable hash-based share of the manifest; names are
// assigned over the whole manifest, so shards merge into the single-run index.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "onnxpress/support/Status.h"

namespace onnxpress::cli {

/// One manifest line: the path as written (the shard key), resolved, and its unique name.
struct BatchEntry {
  int64_t index = 0;  // position in the manifest
  std::string written, path, name;
};

/// A MANIFEST file (one path a line, relative to the file; blank lines and '#' comments
/// skipped) or a directory searched recursively for *.onnx (sorted). Names are file
/// stems, made unique in manifest order with "-2", "-3", ... A directory search skips
/// `outDir` (the batch's own outputs) when it lies inside.
Expected<std::vector<BatchEntry>> readManifest(const std::string& manifest, const std::string& outDir);

/// "i/n" with 0 <= i < n.
struct Shard {
  int64_t index = 0, count = 1;
};
Expected<Shard> parseShard(const std::string& text);
/// Whether `entry` belongs to `shard` (FNV-1a of the path as written, modulo n).
bool inShard(const BatchEntry& entry, const Shard& shard);

struct BatchOptions {
  std::string manifest, recipe, outDir, shard;
  int jobs = 1, threads = 0, iterations = 10;
  double timeoutSeconds = 0;  // 0: none
  double maxRssMb = 0;        // 0: none
  bool force = false;         // rerun models whose record would be reused
  bool quiet = false;
};

/// Runs the batch and writes the index; the Status carries the worst model's exit code.
Status runBatch(const BatchOptions& options);

/// Joins the indexes of shard directories into DIR (model directories are hard-linked
/// or copied); a model present in two shards is invalid input.
Status mergeBatches(const std::vector<std::string>& shardDirs, const std::string& outDir, bool quiet);

// ---- the index (BatchIndex.cpp) ----------------------------------------------------------

/// Statuses from best to worst, with the exit code each gives the batch.
struct BatchStatus {
  const char* name;
  int exitCode;
  const char* meaning;
};
const std::vector<BatchStatus>& batchStatuses();
/// The batch's exit code: the code of the worst status among `records` (0 when all ok).
int batchExitCode(const std::vector<nlohmann::json>& records);

/// Writes DIR/index.json, index.csv and index.html (each atomically) for `records`,
/// sorted by manifest index.
Status writeBatchIndex(const std::string& outDir, std::vector<nlohmann::json> records, const nlohmann::json& header);
/// Reads DIR/index.json.
Expected<nlohmann::json> readBatchIndex(const std::string& dir);

}  // namespace onnxpress::cli
