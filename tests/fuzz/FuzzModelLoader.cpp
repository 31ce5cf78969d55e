// Fuzz target: ONNX model bytes -> the IR (io/ModelIO), external data included.
//
// Input: the model file's bytes. An input that starts with "OPXD" and a 4-byte
// little-endian length L is a model of L bytes followed by the contents of
// "weights.bin" beside it, which external-data tensors may name.
//
// Invariants (a violation aborts):
//   - a refused model gets an InvalidInput or Usage error of one line;
//   - an accepted model passes the IR verifier, converts back to protobuf, and
//     that protobuf loads again;
//   - preparing it for execution either works or fails with a one-line error.
#include <onnx/onnx_pb.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "FuzzErrors.h"
#include "onnxpress/io/ModelIO.h"
#include "onnxpress/io/Proto.h"
#include "onnxpress/runtime/Executor.h"

namespace {
namespace fs = std::filesystem;
using onnxpress::fuzz::expectCleanRefusal;
using onnxpress::Status;

const fs::path& workDirectory() {
  static const fs::path dir = [] {
    std::string pattern = (fs::temp_directory_path() / "onnxpress-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) onnxpress::fuzz::fail("cannot create a temporary directory");
    spdlog::set_level(spdlog::level::off);
    return fs::path(pattern);
  }();
  return dir;
}

void writeBytes(const fs::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path& dir = workDirectory();
  const fs::path modelPath = dir / "model.onnx", weightsPath = dir / "weights.bin";
  size_t modelSize = size;
  if (size >= 8 && std::memcmp(data, "OPXD", 4) == 0) {
    uint32_t length = 0;
    std::memcpy(&length, data + 4, 4);
    modelSize = std::min<size_t>(length, size - 8);
    writeBytes(modelPath, data + 8, modelSize);
    writeBytes(weightsPath, data + 8 + modelSize, size - 8 - modelSize);
  } else {
    writeBytes(modelPath, data, size);
    fs::remove(weightsPath);
  }

  auto model = onnxpress::loadModel(modelPath.string());
  if (!model) {
    expectCleanRefusal(model.status(), "loadModel");
    return 0;
  }
  if (Status valid = model->graph().verify(); !valid)
    onnxpress::fuzz::fail("an accepted model fails the IR verifier", valid.message());
  auto proto = onnxpress::modelToProto(*model);
  if (!proto) {
    expectCleanRefusal(proto.status(), "modelToProto");
    return 0;
  }
  auto again = onnxpress::modelFromProto(*proto, dir.string(), "round trip");
  if (!again) onnxpress::fuzz::fail("the IR's own protobuf does not load again", again.status().message());
  auto executor = onnxpress::runtime::Executor::create(*model, {.threads = 1});
  if (!executor) expectCleanRefusal(executor.status(), "Executor::create");
  return 0;
}
