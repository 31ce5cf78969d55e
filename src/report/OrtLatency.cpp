#include "onnxpress/report/OrtLatency.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "onnxpress/data/Npy.h"

namespace onnxpress {
namespace {
namespace fs = std::filesystem;

constexpr const char* kScript = R"PY(
import json, os, sys, time
import numpy as np
import onnxruntime as ort
model, inputs, iterations, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
options = ort.SessionOptions()
options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
options.log_severity_level = 3
if threads > 0:
    options.intra_op_num_threads = threads
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
with open(os.path.join(inputs, "names.txt")) as f:
    names = f.read().splitlines()
feed = {name: np.load(os.path.join(inputs, f"{i}.npy")) for i, name in enumerate(names)}
for _ in range(3):
    session.run(None, feed)
times = []
for _ in range(iterations):
    start = time.perf_counter()
    session.run(None, feed)
    times.append((time.perf_counter() - start) * 1e3)
times.sort()
print(json.dumps({"median_ms": float(np.median(times)), "p90_ms": times[max(0, -(-9 * len(times) // 10) - 1)]}))
)PY";

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool importsOrt(const std::string& python) {
  const std::string command = shellQuote(python) + " -c 'import onnxruntime, numpy' >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

// Removes a directory tree when it goes out of scope.
struct TempDirectory {
  fs::path path;
  ~TempDirectory() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

}  // namespace

std::optional<std::string> findOrtPython() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("ONNXPRESS_PYTHON"); env && *env) candidates.emplace_back(env);
  candidates.emplace_back(".venv/bin/python");
  candidates.emplace_back("python3");
  for (const std::string& python : candidates)
    if (importsOrt(python)) return python;
  return std::nullopt;
}

Expected<Latency> measureOrtLatency(const std::string& python, const std::string& modelPath, const InputFeed& feed,
                                    int iterations, int threads) {
  std::string pattern = (fs::temp_directory_path() / "onnxpress-ort-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) return internalError("cannot create a temporary directory for the ORT run");
  TempDirectory dir{pattern};
  std::ofstream(dir.path / "latency.py") << kScript;
  // Input i goes to i.npy; names.txt lists the names in the same order.
  std::ofstream names(dir.path / "names.txt");
  size_t index = 0;
  for (const auto& [name, tensor] : feed) {
    names << name << "\n";
    const auto* bytes = static_cast<const uint8_t*>(tensor.raw());
    RETURN_IF_ERROR(writeNpyFile((dir.path / (std::to_string(index++) + ".npy")).string(), tensor.dtype(),
                                 tensor.shape(), std::span<const uint8_t>(bytes, tensor.byteSize())));
  }
  names.close();
  const std::string command = shellQuote(python) + " " + shellQuote((dir.path / "latency.py").string()) + " " +
                              shellQuote(modelPath) + " " + shellQuote(dir.path.string()) + " " +
                              std::to_string(iterations) + " " + std::to_string(threads) + " 2>" +
                              shellQuote((dir.path / "stderr.txt").string());
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return internalError("cannot start {}", python);
  std::string output;
  std::array<char, 4096> buffer{};
  while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  if (status != 0) {
    std::ifstream err(dir.path / "stderr.txt");
    std::string line, last;
    while (std::getline(err, line))
      if (!line.empty()) last = line;
    return invalidInput("ONNX Runtime could not run {}: {}", modelPath, last.empty() ? "no message" : last);
  }
  try {
    const auto j = nlohmann::json::parse(output);
    return Latency{j.at("median_ms").get<double>(), j.at("p90_ms").get<double>(), iterations};
  } catch (const std::exception& e) {
    return internalError("unexpected output from the ORT timing script: {}", e.what());
  }
}

}  // namespace onnxpress
