// onnxpress run MODEL --input NAME=FILE ... [--output-dir DIR] [--threads N] [--json]
#include <filesystem>
#include <iostream>

#include "Commands.h"
#include "onnxpress/data/Npy.h"
#include "onnxpress/io/ModelIO.h"
#include "onnxpress/runtime/Executor.h"

namespace onnxpress::cli {
namespace fs = std::filesystem;
using runtime::TensorData;

namespace {

struct RunArgs {
  std::string model, outputDir = ".";
  std::vector<std::string> inputs;
  int threads = 0;
  bool json = false;
};

/// Output names become file names: letters, digits, '-', '_' and '.' are kept,
/// every other byte becomes %XX (two hex digits), and a leading '.' is escaped.
std::string safeFileName(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool keep = std::isalnum(c) || c == '-' || c == '_' || (c == '.' && i > 0);
    out += keep ? std::string(1, static_cast<char>(c)) : fmt::format("%{:02X}", c);
  }
  return out.empty() ? "%00" : out;
}

Expected<TensorData> readInputFile(const std::string& path) {
  if (path.ends_with(".npy")) {
    ASSIGN_OR_RETURN(NdArray a, readNpyFile(path));
    TensorData t = TensorData::allocate(a.dtype, a.shape);
    if (!a.bytes.empty()) std::memcpy(t.raw(), a.bytes.data(), a.bytes.size());
    return t;
  }
  if (path.ends_with(".pb")) {
    ASSIGN_OR_RETURN(Tensor t, loadTensorFile(path));
    return TensorData::copyOf(t);
  }
  return usageError("{}: input files must be .npy or .pb (serialized TensorProto)", path);
}

Status runModel(const RunArgs& args) {
  std::map<std::string, TensorData> inputs;
  for (const auto& spec : args.inputs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) return usageError("--input expects NAME=FILE, got '{}'", spec);
    ASSIGN_OR_RETURN(TensorData t, readInputFile(spec.substr(eq + 1)));
    inputs[spec.substr(0, eq)] = std::move(t);
  }
  std::error_code ec;
  if (fs::exists(args.outputDir, ec) && !fs::is_directory(args.outputDir, ec))
    return usageError("{}: --output-dir names a file, not a directory", args.outputDir);
  ASSIGN_OR_RETURN(Model model, loadForCommand(args.model));
  runtime::ExecutorOptions options;
  options.threads = args.threads;
  ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(model, options));
  ASSIGN_OR_RETURN(auto outputs, executor->run(inputs));
  fs::create_directories(args.outputDir, ec);  // like mkdir -p, once there is something to write
  if (ec) return invalidInput("{}: cannot create the output directory: {}", args.outputDir, ec.message());
  nlohmann::json files = nlohmann::json::array();
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string& name = model.graph().outputs()[i]->name();
    const std::string path = (fs::path(args.outputDir) / (safeFileName(name) + ".npy")).string();
    const TensorData& t = outputs[i];
    if (t.dtype() == DataType::String) return invalidInput("output '{}' is a string tensor; .npy output is numeric only", name);
    RETURN_IF_ERROR(writeNpyFile(path, t.dtype(), t.shape(),
                                 {static_cast<const uint8_t*>(t.raw()), t.byteSize()}));
    files.push_back({{"name", name}, {"file", path}, {"dtype", dataTypeName(t.dtype())}, {"shape", t.shape()}});
    if (!args.json) std::cout << fmt::format("{}  {}{}  -> {}\n", name, dataTypeName(t.dtype()), runtime::shapeToString(t.shape()), path);
  }
  if (args.json) printJson({{"schema", "onnxpress.run"}, {"schema_version", 1}, {"model", args.model}, {"outputs", files}});
  return Status::ok();
}

}  // namespace

void addRunCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("run", "Run a model on input tensors with the built-in runtime");
  auto args = std::make_shared<RunArgs>();
  cmd->add_option("MODEL", args->model, "ONNX model file")->required();
  cmd->add_option("-i,--input", args->inputs, "NAME=FILE, FILE a .npy or a serialized TensorProto .pb (repeat per input)");
  cmd->add_option("-d,--output-dir", args->outputDir,
                  "where DIR/<output name>.npy are written (DIR is created if missing); names are escaped: bytes other than letters, digits, "
                  "'-', '_' and a non-leading '.' become %XX")
      ->capture_default_str();
  cmd->add_option("-t,--threads", args->threads, "worker threads (0: all cores)")->capture_default_str();
  cmd->add_flag("--json", args->json, "machine-readable output (schema onnxpress.run v1)");
  cmd->callback([&action, args] { action = [args] { return runModel(*args); }; });
}

}  // namespace onnxpress::cli
