// `onnxpress batch`: the manifest, the child processes and their limits, resume, and
// the atomic publication of each model's directory (see Batch.h).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "Batch.h"
#include "onnxpress/driver/PassRegistry.h"
#include "onnxpress/driver/Recipe.h"
#include "onnxpress/support/AtomicFile.h"
#include "onnxpress/support/MappedFile.h"
#include "onnxpress/report/JsonText.h"

namespace onnxpress::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

uint64_t fnv1a(const uint8_t* data, size_t size, uint64_t h = 1469598103934665603ull) {
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

std::string hexHash(uint64_t h) { return fmt::format("{:016x}", h); }

// FNV-1a of a file's bytes, or "" when it cannot be read.
std::string fileHash(const std::string& path) {
  auto file = MappedFile::open(path);
  if (!file) return "";
  return hexHash(fnv1a((*file)->data(), (*file)->size()));
}

// Resolves `written` against the manifest's directory, lexically normalised.
std::string resolveAgainst(const fs::path& base, const std::string& written) {
  const fs::path p(written);
  return (p.is_absolute() ? p : base / p).lexically_normal().string();
}

void assignUniqueNames(std::vector<BatchEntry>& entries) {
  std::set<std::string> taken;
  for (BatchEntry& e : entries) {
    std::string stem = fs::path(e.written).stem().string();
    if (stem.empty()) stem = "model";
    std::string name = stem;
    for (int k = 2; taken.count(name); ++k) name = fmt::format("{}-{}", stem, k);
    taken.insert(name);
    e.name = name;
  }
}

}  // namespace

Expected<std::vector<BatchEntry>> readManifest(const std::string& manifest, const std::string& outDir) {
  std::error_code ec;
  std::vector<BatchEntry> entries;
  if (fs::is_directory(manifest, ec)) {
    std::vector<std::string> found;
    const fs::path skip = outDir.empty() ? fs::path() : fs::weakly_canonical(outDir, ec);
    for (auto it = fs::recursive_directory_iterator(manifest, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_directory() && !skip.empty() && fs::weakly_canonical(it->path(), ec) == skip) {
        it.disable_recursion_pending();  // the batch's own outputs are not models to compress
        continue;
      }
      if (it->is_regular_file() && it->path().extension() == ".onnx")
        found.push_back(it->path().lexically_relative(manifest).generic_string());
    }
    if (ec) return invalidInput("{}: cannot list the directory: {}", manifest, ec.message());
    std::sort(found.begin(), found.end());
    for (const std::string& f : found) entries.push_back({0, f, resolveAgainst(manifest, f), ""});
  } else {
    std::ifstream in(manifest);
    if (!in) return invalidInput("{}: cannot read the manifest", manifest);
    const fs::path base = fs::path(manifest).parent_path();
    std::string line;
    while (std::getline(in, line)) {
      const size_t first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos || line[first] == '#') continue;
      const size_t last = line.find_last_not_of(" \t\r");
      const std::string written = line.substr(first, last - first + 1);
      entries.push_back({0, written, resolveAgainst(base, written), ""});
    }
  }
  if (entries.empty()) return invalidInput("{}: the manifest names no model", manifest);
  for (size_t i = 0; i < entries.size(); ++i) entries[i].index = static_cast<int64_t>(i);
  assignUniqueNames(entries);
  return entries;
}

Expected<Shard> parseShard(const std::string& text) {
  Shard s;
  char slash = 0;
  std::istringstream in(text);
  if (!(in >> s.index >> slash >> s.count) || slash != '/' || !in.eof() || s.count < 1 || s.index < 0 ||
      s.index >= s.count)
    return usageError("--shard '{}': expected i/n with 0 <= i < n, e.g. 0/4", text);
  return s;
}

bool inShard(const BatchEntry& entry, const Shard& shard) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(entry.written.data());
  return static_cast<int64_t>(fnv1a(bytes, entry.written.size()) % static_cast<uint64_t>(shard.count)) == shard.index;
}

namespace {

volatile sig_atomic_t gBatchStopSignal = 0;
void onBatchStopSignal(int sig) { gBatchStopSignal = sig; }

// The child executable: this binary, or $ONNXPRESS_BATCH_CHILD (tests put a crashing script there).
std::string childExecutable() {
  if (const char* over = std::getenv("ONNXPRESS_BATCH_CHILD"); over && *over) return over;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("onnxpress") : self.string();
}

// Resident set of a process in MB, from /proc (0 when it is gone).
// Resident memory the process owns (RssAnon + RssShmem), in MB. Pages of
// memory-mapped weights are left out: they are the model file's, and the kernel
// drops them under pressure instead of running out of memory.
double ownedResidentMb(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  double totalKb = 0;
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("RssAnon:") || line.starts_with("RssShmem:")) totalKb += std::atof(line.c_str() + line.find(':') + 1);
  return totalKb / 1024.0;
}

std::string lastLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

struct Running {
  BatchEntry entry;
  pid_t pid = -1;
  fs::path work;
  std::chrono::steady_clock::time_point start;
  std::string killedFor;  // "timed-out" or "out-of-memory" when we stopped it
  double peakOwnedMb = 0;  // the largest ownedResidentMb seen
};

double jsonNumber(const json& j, std::initializer_list<const char*> path) {
  const json* at = &j;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return std::nan("");
    at = &(*at)[key];
  }
  return at->is_number() ? at->get<double>() : std::nan("");
}

// The figures of a finished model, from its report.json.
void addReportFigures(json& record, const fs::path& reportJson) {
  std::ifstream in(reportJson);
  if (!in) return;
  json r = json::parse(in, nullptr, false);
  if (r.is_discarded()) return;
  auto put = [&](const char* key, double v) { record[key] = std::isnan(v) ? json(nullptr) : json(v); };
  put("size_before", jsonNumber(r, {"before", "file_bytes"}));
  put("size_after", jsonNumber(r, {"after", "file_bytes"}));
  put("size_ratio", jsonNumber(r, {"ratios", "file_bytes"}));
  put("latency_before_ms", jsonNumber(r, {"before", "latency", "builtin", "median_ms"}));
  put("latency_after_ms", jsonNumber(r, {"after", "latency", "builtin", "median_ms"}));
  put("speedup", jsonNumber(r, {"ratios", "latency_median_ms"}));
  put("accuracy_before", jsonNumber(r, {"quality", "accuracy", "before"}));
  put("accuracy_after", jsonNumber(r, {"quality", "accuracy", "after"}));
  put("accuracy_drop", jsonNumber(r, {"quality", "accuracy", "drop"}));
  put("fidelity_snr_db", jsonNumber(r, {"quality", "fidelity", "snr_db"}));
}

const char* statusOfExit(int code) {
  switch (code) {
    case 0: return "ok";
    case 1:  // a recipe option this model cannot take
    case 2: return "invalid";
    case 4: return "gate-failed";
    default: return "error";
  }
}

// Statuses that the same input, recipe and build always give again.
bool reusable(const json& record) {
  const std::string s = record.value("status", "");
  return s == "ok" || s == "gate-failed" || s == "invalid";
}

// Renames `from` onto `to`, moving an old `to` aside first and deleting it after.
Status publishDirectory(const fs::path& from, const fs::path& to, const fs::path& trash) {
  std::error_code ec;
  fs::path old;
  if (fs::exists(to, ec)) {
    old = trash / fmt::format("{}-{}", to.filename().string(), ::getpid());
    fs::create_directories(trash, ec);
    fs::remove_all(old, ec);
    if (::rename(to.c_str(), old.c_str()) != 0)
      return internalError("{}: cannot move the old output aside: {}", to.string(), std::strerror(errno));
  }
  if (::rename(from.c_str(), to.c_str()) != 0)
    return internalError("{}: cannot publish: {}", to.string(), std::strerror(errno));
  if (!old.empty()) fs::remove_all(old, ec);
  return Status::ok();
}

class BatchRunner {
 public:
  BatchRunner(const BatchOptions& o, std::string recipeHash, std::string tool)
      : o_(o), recipeHash_(std::move(recipeHash)), tool_(std::move(tool)) {}

  // Runs `todo` (at most o_.jobs at once); returns the new records.
  Expected<std::vector<json>> run(const std::vector<BatchEntry>& todo, size_t doneBefore, size_t total) {
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threadsPerChild_ = std::max(1, (o_.threads > 0 ? o_.threads : hw) / std::max(1, o_.jobs));
    done_ = doneBefore;
    total_ = total;
    size_t next = 0;
    std::vector<json> records;
    while (next < todo.size() || !running_.empty()) {
      if (gBatchStopSignal) return stopAll();
      while (next < todo.size() && static_cast<int>(running_.size()) < o_.jobs) {
        ASSIGN_OR_RETURN(Running r, start(todo[next++]));
        running_.push_back(std::move(r));
      }
      RETURN_IF_ERROR(reap(records));
      if (!running_.empty()) waitForChild();
    }
    return records;
  }

 private:
  Expected<Running> start(const BatchEntry& e) {
    Running r;
    r.entry = e;
    r.work = fs::path(o_.outDir) / ".work" / e.name;
    std::error_code ec;
    fs::remove_all(r.work, ec);
    fs::create_directories(r.work, ec);
    if (ec) return internalError("{}: cannot create: {}", r.work.string(), ec.message());
    const std::string exe = childExecutable();
    std::vector<std::string> args = {exe,
                                     "compress",
                                     e.path,
                                     "-o",
                                     (r.work / "model.onnx").string(),
                                     "--recipe",
                                     o_.recipe,
                                     "--report",
                                     (r.work / "report.json").string(),
                                     "--report",
                                     (r.work / "report.html").string(),
                                     "--threads",
                                     std::to_string(threadsPerChild_),
                                     "--iterations",
                                     std::to_string(o_.iterations)};
    const std::string log = (r.work / "log.txt").string();
    r.start = std::chrono::steady_clock::now();
    r.pid = ::fork();
    if (r.pid < 0) return internalError("cannot start a child process: {}", std::strerror(errno));
    if (r.pid == 0) {  // child: own process group (a kill takes its helpers too), output to log.txt
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a killed batch takes its children along
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
      }
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::setenv("OMP_NUM_THREADS", std::to_string(threadsPerChild_).c_str(), 1);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(exe.c_str(), argv.data());
      ::_exit(127);
    }
    ::setpgid(r.pid, r.pid);
    return r;
  }

  // Until a child exits (SIGCHLD, blocked in the parent) or 20 ms pass, for the limits.
  static void waitForChild() {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    const timespec tick{0, 20'000'000};
    ::sigtimedwait(&chld, nullptr, &tick);
  }

  // SIGINT/SIGTERM: the children are killed and their unpublished work is dropped;
  // every directory already published stays whole for a rerun.
  Status stopAll() {
    for (Running& r : running_) {
      ::kill(-r.pid, SIGKILL);
      int wstatus = 0;
      ::waitpid(r.pid, &wstatus, 0);
    }
    running_.clear();
    return {static_cast<ErrorCode>(130), fmt::format("batch interrupted by signal {}; {} of {} models are done, "
                                                     "rerun the same command to resume", static_cast<int>(gBatchStopSignal), done_, total_)};
  }

  // Collects finished children and enforces the limits on running ones.
  Status reap(std::vector<json>& records) {
    for (auto it = running_.begin(); it != running_.end();) {
      int wstatus = 0;
      struct rusage usage {};
      const pid_t got = ::wait4(it->pid, &wstatus, WNOHANG, &usage);
      if (got == 0) {
        enforceLimits(*it);
        ++it;
        continue;
      }
      if (got < 0) return internalError("waiting for {}: {}", it->entry.name, std::strerror(errno));
      ::kill(-it->pid, SIGKILL);  // helpers the child left behind
      json record = finish(*it, wstatus, usage);
      RETURN_IF_ERROR(publish(*it, record));
      records.push_back(std::move(record));
      it = running_.erase(it);
    }
    return Status::ok();
  }

  void enforceLimits(Running& r) {
    if (!r.killedFor.empty()) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - r.start).count();
    if (o_.timeoutSeconds > 0 && elapsed > o_.timeoutSeconds) r.killedFor = "timed-out";
    r.peakOwnedMb = std::max(r.peakOwnedMb, ownedResidentMb(r.pid));
    if (o_.maxRssMb > 0 && r.peakOwnedMb > o_.maxRssMb) r.killedFor = "out-of-memory";
    if (!r.killedFor.empty()) ::kill(-r.pid, SIGKILL);
  }

  json finish(const Running& r, int wstatus, const struct rusage& usage) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - r.start).count();
    json record = {{"index", r.entry.index},
                   {"name", r.entry.name},
                   {"input", r.entry.written},
                   {"input_hash", fileHash(r.entry.path)},
                   {"recipe_hash", recipeHash_},
                   {"tool", tool_},
                   {"exit_code", nullptr},
                   {"signal", nullptr},
                   {"seconds", seconds},
                   {"peak_rss_mb", static_cast<double>(usage.ru_maxrss) / 1024.0},
                   {"peak_owned_mb", r.peakOwnedMb}};
    std::string status, error;
    if (!r.killedFor.empty()) {
      status = r.killedFor;
      error = r.killedFor == "timed-out" ? fmt::format("stopped after the --timeout of {} s", o_.timeoutSeconds)
                                         : fmt::format("stopped above the --max-rss of {} MB", o_.maxRssMb);
    } else if (WIFSIGNALED(wstatus)) {
      status = "crashed";
      record["signal"] = WTERMSIG(wstatus);
      error = fmt::format("killed by signal {} ({})", WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
    } else {
      const int code = WEXITSTATUS(wstatus);
      record["exit_code"] = code;
      status = statusOfExit(code);
      if (code != 0) error = lastLine((r.work / "log.txt").string());
      if (code == 127 && error.empty()) error = "the child process could not be started";
    }
    record["status"] = status;
    record["error"] = error;
    addReportFigures(record, r.work / "report.json");
    json files = json::object();
    for (const char* f : {"model.onnx", "report.json", "report.html", "log.txt"})
      if (fs::exists(r.work / f)) files[f] = r.entry.name + "/" + f;
    record["files"] = files;
    return record;
  }

  // batch.json last, then the directory renamed into place.
  Status publish(const Running& r, const json& record) {
    RETURN_IF_ERROR(writeFileAtomically((r.work / "batch.json").string(), jsonText(record, 2) + "\n"));
    const fs::path out = fs::path(o_.outDir);
    RETURN_IF_ERROR(publishDirectory(r.work, out / r.entry.name, out / ".trash"));
    ++done_;
    if (!o_.quiet) {
      std::string figures;
      if (record.value("size_ratio", json()).is_number())
        figures = fmt::format(", {:.2f}x smaller", record["size_ratio"].get<double>());
      std::string error = record["error"].get<std::string>();
      spdlog::info("[{}/{}] {}: {} ({:.1f} s{}){}", done_, total_, r.entry.name, record["status"].get<std::string>(),
                   record["seconds"].get<double>(), figures, error.empty() ? "" : ": " + error);
    }
    return Status::ok();
  }

  const BatchOptions& o_;
  std::string recipeHash_, tool_;
  int threadsPerChild_ = 1;
  size_t done_ = 0, total_ = 0;
  std::vector<Running> running_;
};

// A published record that a rerun may reuse, or null.
json reusableRecord(const BatchOptions& o, const BatchEntry& e, const std::string& recipeHash, const std::string& tool) {
  std::ifstream in(fs::path(o.outDir) / e.name / "batch.json");
  if (!in) return nullptr;
  json record = json::parse(in, nullptr, false);
  if (record.is_discarded() || !reusable(record) || record.value("input", "") != e.written ||
      record.value("recipe_hash", "") != recipeHash || record.value("tool", "") != tool ||
      record.value("input_hash", "") != fileHash(e.path))
    return nullptr;
  record["index"] = e.index;
  return record;
}

}  // namespace

Status runBatch(const BatchOptions& o) {
  if (o.jobs < 1) return usageError("--jobs must be at least 1");
  ASSIGN_OR_RETURN(std::vector<BatchEntry> entries, readManifest(o.manifest, o.outDir));
  Shard shard;
  if (!o.shard.empty()) {
    ASSIGN_OR_RETURN(shard, parseShard(o.shard));
  }
  const std::string recipeHash = fileHash(o.recipe);
  if (recipeHash.empty()) return invalidInput("{}: cannot read the recipe", o.recipe);
  {  // a bad recipe (syntax, pass name, option) fails once, before any model runs
    ASSIGN_OR_RETURN(Recipe recipe, loadRecipe(o.recipe));
    RETURN_IF_ERROR(buildPipeline(recipe.pipeline).status().withContext(o.recipe));
  }
  const std::string tool = fmt::format("onnxpress {}+{}", ONNXPRESS_VERSION, fileHash(childExecutable()).substr(0, 12));
  std::error_code ec;
  fs::create_directories(o.outDir, ec);
  if (ec) return invalidInput("{}: cannot create the output directory: {}", o.outDir, ec.message());
  fs::remove_all(fs::path(o.outDir) / ".work", ec);  // what a killed batch left behind
  fs::remove_all(fs::path(o.outDir) / ".trash", ec);

  std::vector<json> records;
  std::vector<BatchEntry> todo;
  size_t mine = 0;
  for (const BatchEntry& e : entries) {
    if (!inShard(e, shard)) continue;
    ++mine;
    json old = o.force ? json(nullptr) : reusableRecord(o, e, recipeHash, tool);
    if (old.is_null()) todo.push_back(e);
    else records.push_back(std::move(old));
  }
  if (!o.quiet)
    spdlog::info("batch: {} of {} models in this shard; {} to run, {} reused from an earlier run", mine,
                 entries.size(), todo.size(), records.size());
  gBatchStopSignal = 0;
  struct sigaction stop {};
  stop.sa_handler = onBatchStopSignal;
  ::sigaction(SIGINT, &stop, nullptr);
  ::sigaction(SIGTERM, &stop, nullptr);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);  // delivered through sigtimedwait()
  BatchRunner runner(o, recipeHash, tool);
  ASSIGN_OR_RETURN(std::vector<json> fresh, runner.run(todo, records.size(), mine));
  for (json& r : fresh) records.push_back(std::move(r));
  const json header = {{"manifest", o.manifest},
                       {"recipe", o.recipe},
                       {"recipe_hash", recipeHash},
                       {"tool", tool},
                       {"shard", o.shard.empty() ? json(nullptr) : json(o.shard)},
                       {"manifest_models", entries.size()}};
  RETURN_IF_ERROR(writeBatchIndex(o.outDir, records, header));
  fs::remove_all(fs::path(o.outDir) / ".work", ec);
  const int code = batchExitCode(records);
  if (code == 0) return Status::ok();
  std::map<std::string, int> counts;
  for (const json& r : records) ++counts[r["status"].get<std::string>()];
  std::string summary;
  for (const auto& [status, n] : counts)
    if (status != "ok") summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", n, status);
  return {static_cast<ErrorCode>(code), fmt::format("{}: not every model is ok: {} (see {}/index.html)",
                                                    o.manifest, summary, o.outDir)};
}

namespace {

// Hard links, or copies across file systems.
Status linkOrCopyTree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  for (const auto& f : fs::directory_iterator(from, ec)) {
    const fs::path target = to / f.path().filename();
    fs::remove(target, ec);
    fs::create_hard_link(f.path(), target, ec);
    if (ec) fs::copy_file(f.path(), target, fs::copy_options::overwrite_existing, ec);
    if (ec) return internalError("{}: cannot copy to {}: {}", f.path().string(), target.string(), ec.message());
  }
  return Status::ok();
}

}  // namespace

Status mergeBatches(const std::vector<std::string>& shardDirs, const std::string& outDir, bool quiet) {
  std::vector<json> records;
  std::map<std::string, std::string> owner;  // name -> shard dir
  json header;
  for (const std::string& dir : shardDirs) {
    ASSIGN_OR_RETURN(json index, readBatchIndex(dir));
    if (header.is_null()) header = index.value("batch", json::object());
    else if (index.value("batch", json::object()).value("recipe_hash", "") != header.value("recipe_hash", ""))
      return invalidInput("{}: this shard ran another recipe than {}", dir, shardDirs.front());
    for (const json& r : index["models"]) {
      const std::string name = r.value("name", "");
      if (auto [it, fresh] = owner.emplace(name, dir); !fresh)
        return invalidInput("{}: model '{}' is also in {}; shards must not overlap", dir, name, it->second);
      records.push_back(r);
    }
  }
  std::error_code ec;
  fs::create_directories(outDir, ec);
  if (ec) return invalidInput("{}: cannot create the output directory: {}", outDir, ec.message());
  for (const json& r : records) {
    const std::string name = r["name"].get<std::string>();
    const fs::path from = fs::path(owner[name]) / name, to = fs::path(outDir) / name;
    if (fs::equivalent(from, to, ec)) continue;
    const fs::path work = fs::path(outDir) / ".work" / name;
    fs::remove_all(work, ec);
    RETURN_IF_ERROR(linkOrCopyTree(from, work));
    RETURN_IF_ERROR(publishDirectory(work, to, fs::path(outDir) / ".trash"));
  }
  fs::remove_all(fs::path(outDir) / ".work", ec);
  fs::remove_all(fs::path(outDir) / ".trash", ec);
  header["shard"] = nullptr;
  header["merged_from"] = shardDirs;
  RETURN_IF_ERROR(writeBatchIndex(outDir, records, header));
  if (!quiet) spdlog::info("batch-merge: {} models from {} shards into {}", records.size(), shardDirs.size(), outDir);
  return Status::ok();
}

}  // namespace onnxpress::cli
