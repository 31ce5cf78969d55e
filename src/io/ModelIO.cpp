#include "onnxpress/io/ModelIO.h"

#include <fcntl.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/checker.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "onnxpress/io/Proto.h"
#include "onnxpress/support/AtomicFile.h"

namespace onnxpress {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kCheckerMaxIrVersion = 8;  // what Debian's onnx 1.12 checker understands
constexpr size_t kProtobufLimit = static_cast<size_t>(INT_MAX);
constexpr size_t kInlineBudget = kProtobufLimit - (64u << 20);  // headroom for the graph itself
constexpr size_t kExternalAlignment = 64;

size_t initializerBytes(const Model& model) {
  size_t total = 0;
  model.graph().forEachGraph([&](const Graph& g) {
    for (Value* v : g.initializers()) total += v->initializer()->byteSize();
  });
  return total;
}

void runCheckerAsWarning(const onnx::ModelProto& proto, const std::string& path) {
  if (proto.ir_version() > kCheckerMaxIrVersion) {
    spdlog::debug("{}: onnx checker skipped (IR {} is newer than the linked onnx knows)", path, proto.ir_version());
    return;
  }
  try {
    onnx::checker::CheckerContext ctx;
    ctx.set_ir_version(static_cast<int>(proto.ir_version()));
    std::unordered_map<std::string, int> opsets;
    for (const auto& o : proto.opset_import()) opsets[o.domain()] = static_cast<int>(o.version());
    ctx.set_opset_imports(opsets);
    ctx.set_model_dir(fs::path(path).parent_path().string());
    onnx::checker::LexicalScopeContext lex;
    onnx::checker::check_graph(proto.graph(), ctx, lex);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
    spdlog::warn("{}: onnx checker: {}", path, msg);
  }
}

}  // namespace

Expected<Model> loadModel(const std::string& path, const LoadOptions& options) {
  ASSIGN_OR_RETURN(onnx::ModelProto proto, readModelProto(path));
  if (options.runChecker && proto.has_graph()) runCheckerAsWarning(proto, path);
  fs::path dir = fs::path(path).parent_path();
  return modelFromProto(proto, dir.empty() ? "." : dir.string(), path);
}

bool sameFile(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

std::vector<std::string> externalDataFiles(const Model& model) {
  std::set<std::string> files;
  model.graph().forEachGraph([&](const Graph& g) {
    for (Value* v : g.initializers())
      if (!v->initializer()->origin().externalLocation.empty()) files.insert(v->initializer()->origin().externalLocation);
  });
  return {files.begin(), files.end()};
}

std::vector<std::string> loadedModelFiles(const Model& model, const std::string& path) {
  std::vector<std::string> files = {path};
  for (const std::string& external : externalDataFiles(model))
    files.push_back((fs::path(path).parent_path() / external).string());
  return files;
}

namespace {
// The external data file saveModel writes, relative to the output's directory; "" for none.
std::string externalDataName(const Model& model, const std::string& path, const SaveOptions& options) {
  using Mode = SaveOptions::ExternalData;
  const bool external = options.externalData == Mode::Always ||
                        (options.externalData == Mode::Auto && initializerBytes(model) > kInlineBudget);
  if (!external) return "";
  return options.externalFileName.empty() ? fs::path(path).filename().string() + ".data" : options.externalFileName;
}
}  // namespace

std::vector<std::string> savedModelFiles(const Model& model, const std::string& path, const SaveOptions& options) {
  std::vector<std::string> files = {path};
  const std::string dataName = externalDataName(model, path, options);
  if (!dataName.empty()) files.push_back((fs::path(path).parent_path() / dataName).string());
  return files;
}

Status saveModel(const Model& model, const std::string& path, const SaveOptions& options) {
  const std::string dataName = externalDataName(model, path, options);
  std::optional<AtomicFile> dataFile;
  size_t dataOffset = 0;
  ExternalTensorWriter writer;
  if (!dataName.empty()) {
    fs::path dataPath = fs::path(path).parent_path() / dataName;
    for (const auto& in : externalDataFiles(model))
      if (sameFile((fs::path(model.sourceDirectory) / in).string(), dataPath.string()))
        return usageError("{}: refusing to overwrite '{}', which holds the input model's weights", path,
                          dataPath.string());
    ASSIGN_OR_RETURN(AtomicFile f, AtomicFile::create(dataPath.string()));
    dataFile.emplace(std::move(f));
    writer = [&](const Tensor& t, onnx::TensorProto& p) -> Expected<bool> {
      if (t.byteSize() < options.externalThresholdBytes) return false;
      const size_t padding = (kExternalAlignment - dataOffset % kExternalAlignment) % kExternalAlignment;
      static const uint8_t zeros[kExternalAlignment] = {};
      RETURN_IF_ERROR(dataFile->write(zeros, padding));
      dataOffset += padding;
      auto bytes = t.bytes();
      RETURN_IF_ERROR(dataFile->write(bytes.data(), bytes.size()));
      t.releaseMappedPages();  // keeps peak RSS near one tensor, not the whole model
      p.set_data_location(onnx::TensorProto::EXTERNAL);
      auto add = [&p](const std::string& k, const std::string& v) {
        auto* kv = p.add_external_data();
        kv->set_key(k);
        kv->set_value(v);
      };
      add("location", dataName);
      add("offset", std::to_string(dataOffset));
      add("length", std::to_string(bytes.size()));
      dataOffset += bytes.size();
      return true;
    };
  }
  ASSIGN_OR_RETURN(onnx::ModelProto proto, modelToProto(model, writer));
  const size_t size = proto.ByteSizeLong();
  if (size > kProtobufLimit)
    return invalidInput("{}: the model is {} bytes, over protobuf's 2 GB limit; save with external data", path, size);
  ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::create(path));
  {
    google::protobuf::io::FileOutputStream stream(out.fd());
    if (!proto.SerializeToZeroCopyStream(&stream) || !stream.Flush()) {
      // FileOutputStream keeps the write's errno: "No space left on device" and the like.
      const int error = stream.GetErrno();
      return internalError("{}: writing the model failed: {}", path,
                           error ? std::strerror(error) : "protobuf could not serialize it");
    }
  }
  if (dataFile) RETURN_IF_ERROR(dataFile->commit());
  return out.commit();
}

Status checkOutputPath(const std::string& input, const std::string& output) {
  std::error_code ec;
  if (output.empty()) return usageError("an output path is required (-o OUT)");
  if (std::filesystem::absolute(input, ec) == std::filesystem::absolute(output, ec) || sameFile(input, output))
    return usageError("{}: refusing to overwrite the input model; choose another -o", output);
  if (std::filesystem::is_directory(output, ec)) return usageError("{}: output is a directory; give a file name", output);
  std::filesystem::path dir = std::filesystem::path(output).parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) return usageError("{}: output directory does not exist", output);
  return Status::ok();
}

}  // namespace onnxpress
