// onnxpress bench MODEL [--threads N] [--warmup N] [--iterations N]
//                       [--shape NAME=1x3x224x224 ...] [--data DATA] [--json]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>

#include "Commands.h"
#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/data/Dataset.h"
#include "onnxpress/runtime/Executor.h"
#include "onnxpress/support/Format.h"

namespace onnxpress::cli {
using runtime::TensorData;

namespace {

struct BenchArgs {
  std::string model, data;
  std::vector<std::string> shapes;
  int threads = 0, warmup = 5, iterations = 50;
  bool json = false;
  bool perOp = false;
};

Expected<std::map<std::string, std::vector<int64_t>>> parseShapes(const std::vector<std::string>& specs) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& spec : specs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos) return usageError("--shape expects NAME=D0xD1x..., got '{}'", spec);
    std::vector<int64_t> dims;
    std::string rest = spec.substr(eq + 1);
    size_t start = 0;
    for (;;) {
      size_t x = rest.find('x', start);
      try {
        dims.push_back(std::stoll(rest.substr(start, x - start)));
      } catch (...) {
        return usageError("--shape '{}': dims must be integers separated by 'x'", spec);
      }
      if (dims.back() < 0) return usageError("--shape '{}': negative dim", spec);
      if (x == std::string::npos) break;
      start = x + 1;
    }
    out[spec.substr(0, eq)] = dims;
  }
  return out;
}

// Random input following the declared type; symbolic dims come from --shape.
Expected<TensorData> randomInput(const Value& in, const std::map<std::string, std::vector<int64_t>>& shapes,
                                 std::mt19937& rng) {
  const Type& t = in.type();
  if (!t.isTensor()) return usageError("input '{}' is not a tensor; bench needs --data for it", in.name());
  std::vector<int64_t> dims;
  if (auto it = shapes.find(in.name()); it != shapes.end()) {
    dims = it->second;
  } else {
    if (!t.hasShape) return usageError("input '{}' has unknown rank; give --shape {}=...", in.name(), in.name());
    for (size_t i = 0; i < t.dims.size(); ++i) {
      if (!t.dims[i].isFixed())
        return usageError("input '{}' dim {} is symbolic ('{}'); give --shape {}=...", in.name(), i,
                          t.dims[i].toString(), in.name());
      dims.push_back(t.dims[i].value);
    }
  }
  TensorData data = TensorData::allocate(t.elemType, dims);
  const int64_t n = data.numElements();
  std::uniform_real_distribution<float> real(-1.f, 1.f);
  switch (t.elemType) {
    case DataType::Float: for (int64_t i = 0; i < n; ++i) data.data<float>()[i] = real(rng); break;
    case DataType::Double: for (int64_t i = 0; i < n; ++i) data.data<double>()[i] = real(rng); break;
    case DataType::Int64: for (int64_t i = 0; i < n; ++i) data.data<int64_t>()[i] = static_cast<int64_t>(rng() % 2); break;
    case DataType::Int32: for (int64_t i = 0; i < n; ++i) data.data<int32_t>()[i] = static_cast<int32_t>(rng() % 2); break;
    case DataType::Bool:
    case DataType::UInt8:
    case DataType::Int8: for (int64_t i = 0; i < n; ++i) data.data<uint8_t>()[i] = static_cast<uint8_t>(rng() % 2); break;
    default: return usageError("input '{}' has dtype {}; bench needs --data for it", in.name(), dataTypeName(t.elemType));
  }
  return data;
}

double percentile(std::vector<double> sorted, double p) {
  if (sorted.empty()) return 0;
  const double pos = p * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

Status runBench(const BenchArgs& args) {
  if (args.iterations < 1 || args.warmup < 0) return usageError("--iterations must be >= 1 and --warmup >= 0");
  ASSIGN_OR_RETURN(auto shapes, parseShapes(args.shapes));
  ASSIGN_OR_RETURN(Model model, loadForCommand(args.model));
  runtime::ExecutorOptions options;
  options.threads = args.threads;
  options.profile = args.perOp;
  ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(model, options));
  std::vector<std::map<std::string, TensorData>> feeds;
  if (!args.data.empty()) {
    ASSIGN_OR_RETURN(Dataset ds, Dataset::open(args.data));
    RETURN_IF_ERROR(ds.validateFor(model.graph()));
    for (int64_t i = 0; i < std::min<int64_t>(ds.size(), 16); ++i) {
      ASSIGN_OR_RETURN(InputFeed feed, datasetFeed(ds, i));
      feeds.push_back(std::move(feed));
    }
  } else {
    std::mt19937 rng(0);
    std::map<std::string, TensorData> feed;
    for (const Value* in : executor->requiredInputs()) {
      ASSIGN_OR_RETURN(TensorData t, randomInput(*in, shapes, rng));
      feed[in->name()] = std::move(t);
    }
    feeds.push_back(std::move(feed));
  }
  for (int i = 0; i < args.warmup; ++i) RETURN_IF_ERROR(executor->run(feeds[i % feeds.size()]).status());
  std::vector<double> ms;
  for (int i = 0; i < args.iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(executor->run(feeds[i % feeds.size()]).status());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  const int64_t peakBytes = static_cast<int64_t>(usage.ru_maxrss) * 1024;
  const double median = percentile(ms, 0.5);
  if (args.json) {
    printJson({{"schema", "onnxpress.bench"}, {"schema_version", 1}, {"model", args.model},
               {"threads", executor->threads()}, {"warmup", args.warmup}, {"iterations", args.iterations},
               {"latency_ms", {{"min", ms.front()}, {"median", median}, {"p90", percentile(ms, 0.9)},
                               {"p99", percentile(ms, 0.99)}, {"max", ms.back()}}},
               {"throughput_per_s", 1000.0 / median}, {"peak_rss_bytes", peakBytes}});
    return Status::ok();
  }
  std::cout << fmt::format("model       {}\nthreads     {}\niterations  {} (after {} warm-up)\n\n", args.model,
                           executor->threads(), args.iterations, args.warmup);
  TextTable t({"latency", "ms"});
  t.addRow({"min", fmt::format("{:.3f}", ms.front())});
  t.addRow({"median", fmt::format("{:.3f}", median)});
  t.addRow({"p90", fmt::format("{:.3f}", percentile(ms, 0.9))});
  t.addRow({"p99", fmt::format("{:.3f}", percentile(ms, 0.99))});
  std::cout << t.render("") << fmt::format("\nthroughput  {:.1f} inferences/s (1 / median)\npeak RSS    {}\n",
                                           1000.0 / median, humanBytes(peakBytes));
  if (args.perOp) {
    // Time per op type over warm-up and timed runs, most expensive first.
    std::map<std::string, std::pair<double, int>> byOp;
    double total = 0;
    for (const auto& [node, seconds] : executor->nodeTimes()) {
      auto& entry = byOp[node->opType()];
      entry.first += seconds;
      ++entry.second;
      total += seconds;
    }
    std::vector<std::pair<std::string, std::pair<double, int>>> rows(byOp.begin(), byOp.end());
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.first > b.second.first; });
    TextTable ops({"op", "nodes", "ms per run", "share"});
    const double runs = args.warmup + args.iterations;
    for (const auto& [op, v] : rows)
      ops.addRow({op, std::to_string(v.second), fmt::format("{:.3f}", v.first * 1000 / runs),
                  fmt::format("{:.1f}%", total > 0 ? 100 * v.first / total : 0.0)});
    std::cout << "\n" << ops.render("");
    auto nodes = executor->nodeTimes();
    std::sort(nodes.begin(), nodes.end(), [](auto& a, auto& b) { return a.second > b.second; });
    TextTable top({"slowest nodes", "ms per run", "share"});
    for (size_t i = 0; i < std::min<size_t>(nodes.size(), 10); ++i)
      top.addRow({nodes[i].first->describe(), fmt::format("{:.3f}", nodes[i].second * 1000 / runs),
                  fmt::format("{:.1f}%", total > 0 ? 100 * nodes[i].second / total : 0.0)});
    std::cout << "\n" << top.render("");
  }
  return Status::ok();
}

}  // namespace

void addBenchCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("bench", "Measure latency, throughput and peak memory in the built-in runtime");
  auto args = std::make_shared<BenchArgs>();
  cmd->add_option("MODEL", args->model, "ONNX model file")->required();
  cmd->add_option("-t,--threads", args->threads, "worker threads (0: all cores)")->capture_default_str();
  cmd->add_option("--warmup", args->warmup, "untimed runs first")->capture_default_str();
  cmd->add_option("-n,--iterations", args->iterations, "timed runs")->capture_default_str();
  cmd->add_option("--shape", args->shapes,
                  "NAME=D0xD1x... for an input with symbolic dims (random inputs: floats in [-1,1], integers 0 or 1)");
  cmd->add_option("--data", args->data, "DATA (.npz or directory) to feed instead of random inputs");
  cmd->add_flag("--per-op", args->perOp, "also show the time spent in each op type, most expensive first");
  cmd->add_flag("--json", args->json, "machine-readable output (schema onnxpress.bench v1)");
  cmd->callback([&action, args] { action = [args] { return runBench(*args); }; });
}

}  // namespace onnxpress::cli
