// Shared by the fuzz targets: the libFuzzer entry point, a reader that turns the
// fuzzer's bytes into choices, and the check that turns a broken invariant into
// a crash the fuzzer records.
//
// Each target is built twice: with -fsanitize=fuzzer in the fuzz build (make fuzz),
// and with ReplayMain.cpp in the normal build, where ctest replays the committed
// seeds and every past finding (tests/fuzz/regressions/) under the release and
// ASan/UBSan builds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace onnxpress::fuzz {

/// Reads choices from the input; past its end every read is 0, so any prefix is valid.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t byte() { return position_ < size_ ? data_[position_++] : 0; }
  /// A value in [lo, hi]; lo when hi < lo.
  int64_t pick(int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;  // 0: the full range
    uint64_t raw = byte();
    if (span == 0 || span > 256) raw = raw << 8 | byte();
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + (span ? raw % span : raw));
  }
  bool flag() { return byte() & 1; }
  bool exhausted() const { return position_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
};

/// A finding: prints what broke (and the context that reproduces it) and aborts.
[[noreturn]] inline void fail(const std::string& what, const std::string& context = "") {
  std::fprintf(stderr, "fuzz invariant broken: %s\n%s\n", what.c_str(), context.c_str());
  std::abort();
}

}  // namespace onnxpress::fuzz
