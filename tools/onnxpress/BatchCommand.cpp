// onnxpress batch MANIFEST --recipe RECIPE --out-dir DIR [--jobs N] [--timeout S]
//     [--max-rss MB] [--shard i/n] [--threads T] [-n N] [--force]
// onnxpress batch-merge SHARD_DIR... --out-dir DIR
//
// Compresses every model of a manifest with one recipe, each in its own process,
// and writes an index; see Batch.h for the layout, resume and shards.
#include "Batch.h"
#include "Commands.h"

namespace onnxpress::cli {

void addBatchCommands(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("batch", "Compress every model of a manifest with one recipe, each in its own process");
  auto o = std::make_shared<BatchOptions>();
  cmd->add_option("MANIFEST", o->manifest,
                  "text file with one model path a line (relative to it), or a directory searched for *.onnx")
      ->required();
  cmd->add_option("--recipe", o->recipe, "recipe file (.yaml or .json) applied to every model")->required();
  cmd->add_option("--out-dir", o->outDir, "output directory: DIR/<name>/ per model, DIR/index.{json,csv,html}")
      ->required();
  cmd->add_option("-j,--jobs", o->jobs, "models compressed at once (the threads are divided between them)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--timeout", o->timeoutSeconds, "seconds a model may take before it is stopped (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-rss", o->maxRssMb, "MB of resident memory a model's process may use (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--shard", o->shard, "i/n: this run's stable, hash-based share of the manifest (0 <= i < n)");
  cmd->add_option("-t,--threads", o->threads, "threads in all (0: all cores), divided between the --jobs")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-n,--iterations", o->iterations, "timed runs per model for latency (0: not measured)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--force", o->force, "rerun models whose earlier output would be reused");
  std::string codes;
  for (const BatchStatus& s : batchStatuses()) codes += fmt::format("\n  {:<14} exit {}  {}", s.name, s.exitCode, s.meaning);
  cmd->footer("Statuses, best to worst; the batch exits with the code of the worst:" + codes +
              "\nA usage error is exit 1; SIGINT/SIGTERM exit 130 (rerun to resume).");
  cmd->callback([&action, o, cmd] {
    action = [o, cmd]() -> Status {
      o->quiet = spdlog::get_level() > spdlog::level::info;
      return runBatch(*o);
    };
  });

  auto* merge = app.add_subcommand("batch-merge", "Join the indexes of batch shards into one directory");
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  merge->add_option("SHARD_DIR", *dirs, "output directories of `batch --shard` runs")->required();
  merge->add_option("--out-dir", *out, "directory for the merged index and model directories")->required();
  merge->callback([&action, dirs, out] {
    action = [dirs, out]() -> Status { return mergeBatches(*dirs, *out, spdlog::get_level() > spdlog::level::info); };
  });
}

}  // namespace onnxpress::cli
