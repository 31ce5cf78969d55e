// Fuzz target: the .npy and .npz readers (data/Npy).
//
// Input: the bytes of a file, read both as .npy (from memory) and as .npz (from
// a temporary file: the zip reader seeks, inflates and reads zip64 records).
//
// Invariants (a violation aborts):
//   - a refused file gets a one-line InvalidInput or Usage error;
//   - an accepted .npy holds exactly shape-product elements of its type, and
//     writing it back and reading that gives the same array;
//   - an .npz whose arrays read has headers that read, and it lists the same members with the same types and shapes
//     both ways.
#include <filesystem>
#include <fstream>

#include "FuzzErrors.h"
#include "onnxpress/data/Npy.h"

namespace {
namespace fs = std::filesystem;
using namespace onnxpress;
using fuzz::expectCleanRefusal;
using fuzz::fail;

const fs::path& scratchFile() {
  static const fs::path path = [] {
    std::string pattern = (fs::temp_directory_path() / "onnxpress-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) fail("cannot create a temporary directory");
    return fs::path(pattern) / "input.npz";
  }();
  return path;
}

void checkNpy(std::span<const uint8_t> bytes) {
  auto array = parseNpy(bytes, "fuzz.npy");
  if (!array) return expectCleanRefusal(array.status(), "parseNpy");
  if (array->bytes.size() != dataTypeStorageBytes(array->dtype, array->numElements()))
    fail("parseNpy returned a buffer whose size does not match its shape");
  const std::vector<uint8_t> written = serializeNpy(array->dtype, array->shape, array->bytes);
  auto reread = parseNpy(written, "rewritten.npy");
  if (!reread) fail("an array written by serializeNpy does not parse", reread.status().message());
  if (reread->dtype != array->dtype || reread->shape != array->shape || reread->bytes != array->bytes)
    fail("serializeNpy then parseNpy changed the array");
}

void checkNpz(std::span<const uint8_t> bytes) {
  const fs::path& path = scratchFile();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  auto headers = readNpzHeaders(path.string());
  if (!headers) expectCleanRefusal(headers.status(), "readNpzHeaders");
  auto arrays = readNpz(path.string());
  if (!arrays) return expectCleanRefusal(arrays.status(), "readNpz");
  if (!headers) fail("readNpz accepted a file whose headers readNpzHeaders refused", headers.status().message());
  if (headers->size() != arrays->size()) fail("readNpzHeaders and readNpz list different members");
  for (const auto& [name, array] : *arrays) {
    auto header = headers->find(name);
    if (header == headers->end()) fail("readNpz returned a member readNpzHeaders did not list: " + name);
    if (header->second.dtype != array.dtype || header->second.shape != array.shape)
      fail("readNpzHeaders and readNpz disagree on member " + name);
    if (array.bytes.size() != dataTypeStorageBytes(array.dtype, array.numElements()))
      fail("readNpz returned a buffer whose size does not match its shape: " + name);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  checkNpy(bytes);
  checkNpz(bytes);
  return 0;
}
