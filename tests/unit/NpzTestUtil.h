// Writes DATA files (.npz) for tests: a stored (uncompressed) zip of .npy
// members, as np.savez writes it.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "TestUtil.h"
#include "onnxpress/data/Npy.h"

namespace onnxpress::test {

struct NpzMember {
  std::string name;  // without ".npy"
  DataType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

template <typename T>
NpzMember npzArray(std::string name, DataType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return {std::move(name), dtype, std::move(shape), std::move(bytes)};
}

/// Writes `members` to `path` as a stored zip (CRCs left 0; the reader does not check them).
inline void writeNpz(const std::string& path, const std::vector<NpzMember>& members) {
  std::string out, dir;
  auto u16 = [](std::string& s, uint32_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>((v >> 8) & 0xff);
  };
  auto u32 = [&](std::string& s, uint32_t v) {
    u16(s, v & 0xffff);
    u16(s, v >> 16);
  };
  for (const NpzMember& m : members) {
    const std::vector<uint8_t> npy = serializeNpy(m.dtype, m.shape, m.bytes);
    const std::string name = m.name + ".npy";
    const auto size = static_cast<uint32_t>(npy.size());
    const auto offset = static_cast<uint32_t>(out.size());
    u32(out, 0x04034b50);  // local file header
    for (uint32_t v : {20u, 0u, 0u, 0u, 0u}) u16(out, v);
    u32(out, 0);
    u32(out, size);
    u32(out, size);
    u16(out, static_cast<uint32_t>(name.size()));
    u16(out, 0);
    out += name;
    out.append(npy.begin(), npy.end());
    u32(dir, 0x02014b50);  // central directory entry
    for (uint32_t v : {20u, 20u, 0u, 0u, 0u, 0u}) u16(dir, v);
    u32(dir, 0);
    u32(dir, size);
    u32(dir, size);
    u16(dir, static_cast<uint32_t>(name.size()));
    for (uint32_t v : {0u, 0u, 0u, 0u}) u16(dir, v);
    u32(dir, 0);
    u32(dir, offset);
    dir += name;
  }
  const auto dirOffset = static_cast<uint32_t>(out.size());
  out += dir;
  u32(out, 0x06054b50);  // end of central directory
  u16(out, 0);
  u16(out, 0);
  u16(out, static_cast<uint32_t>(members.size()));
  u16(out, static_cast<uint32_t>(members.size()));
  u32(out, static_cast<uint32_t>(dir.size()));
  u32(out, dirOffset);
  u16(out, 0);
  writeFile(path, out);
}

}  // namespace onnxpress::test
