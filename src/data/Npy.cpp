#include "onnxpress/data/Npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>

#include "onnxpress/support/MappedFile.h"

namespace onnxpress {

int64_t NpyHeader::numElements() const { return elementCount(shape); }
int64_t NdArray::numElements() const { return elementCount(shape); }

namespace {

struct DescrEntry {
  const char* code;
  DataType dtype;
};
constexpr DescrEntry kDescr[] = {
    {"f4", DataType::Float},   {"f8", DataType::Double},  {"f2", DataType::Float16}, {"i1", DataType::Int8},
    {"i2", DataType::Int16},   {"i4", DataType::Int32},   {"i8", DataType::Int64},   {"u1", DataType::UInt8},
    {"u2", DataType::UInt16},  {"u4", DataType::UInt32},  {"u8", DataType::UInt64},  {"b1", DataType::Bool},
    {"c8", DataType::Complex64}, {"c16", DataType::Complex128},
};

std::string descrFor(DataType t) {
  for (const auto& d : kDescr)
    if (d.dtype == t) return (std::strlen(d.code) > 1 && (d.code[1] == '1') ? "|" : "<") + std::string(d.code);
  return "";
}

// Value of `'key': ...` in the header dict, up to the next top-level comma.
std::string dictValue(const std::string& dict, const std::string& key) {
  size_t k = dict.find("'" + key + "'");
  if (k == std::string::npos) return "";
  size_t colon = dict.find(':', k);
  if (colon == std::string::npos) return "";
  size_t start = colon + 1;
  int depth = 0;
  size_t i = start;
  for (; i < dict.size(); ++i) {
    char c = dict[i];
    if (c == '(' || c == '[') ++depth;
    else if (c == ')' || c == ']') --depth;
    else if ((c == ',' || c == '}') && depth == 0) break;
  }
  std::string v = dict.substr(start, i - start);
  size_t b = v.find_first_not_of(" "), e = v.find_last_not_of(" ");
  return b == std::string::npos ? "" : v.substr(b, e - b + 1);
}

}  // namespace

Expected<NpyHeader> parseNpyHeader(std::span<const uint8_t> bytes, const std::string& label) {
  static const uint8_t magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10 || std::memcmp(bytes.data(), magic, 6) != 0)
    return invalidInput("{}: not a .npy array (bad magic)", label);
  const uint8_t major = bytes[6];
  size_t headerLen = 0, headerStart = 0;
  if (major == 1) {
    headerLen = bytes[8] | (bytes[9] << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return invalidInput("{}: truncated .npy header", label);
    headerLen = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (static_cast<size_t>(bytes[11]) << 24);
    headerStart = 12;
  } else {
    return invalidInput("{}: unsupported .npy version {}", label, major);
  }
  if (headerStart + headerLen > bytes.size()) return invalidInput("{}: truncated .npy header", label);
  std::string dict(reinterpret_cast<const char*>(bytes.data() + headerStart), headerLen);
  NpyHeader h;
  h.dataOffset = headerStart + headerLen;
  std::string descr = dictValue(dict, "descr");
  if (descr.size() < 4) return invalidInput("{}: .npy header has no dtype", label);
  descr = descr.substr(1, descr.size() - 2);  // strip quotes
  const char order = descr[0];
  if (order == '>') return invalidInput("{}: big-endian arrays ('{}') are not supported", label, descr);
  std::string code = (order == '<' || order == '|' || order == '=') ? descr.substr(1) : descr;
  if (code == "?") code = "b1";
  for (const auto& d : kDescr)
    if (code == d.code) h.dtype = d.dtype;
  if (h.dtype == DataType::Undefined) return invalidInput("{}: unsupported array dtype '{}'", label, descr);
  if (dictValue(dict, "fortran_order") == "True")
    return invalidInput("{}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray", label);
  std::string shape = dictValue(dict, "shape");
  if (shape.size() < 2 || shape.front() != '(') return invalidInput("{}: .npy header has no shape", label);
  std::string inner = shape.substr(1, shape.size() - 2);
  size_t pos = 0;
  while (pos < inner.size()) {
    size_t comma = inner.find(',', pos);
    std::string item = inner.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t b = item.find_first_not_of(" L");
    if (b != std::string::npos) {
      try {
        h.shape.push_back(std::stoll(item.substr(b)));
      } catch (...) {
        return invalidInput("{}: bad shape '{}' in .npy header", label, shape);
      }
      if (h.shape.back() < 0) return invalidInput("{}: negative dim in .npy shape {}", label, shape);
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  // Elements times element size must fit in memory's index type; a header that says
  // otherwise is corrupt (and would overflow every size computed from it).
  int64_t elements = 1;
  for (int64_t d : h.shape)
    if (__builtin_mul_overflow(elements, d, &elements) || elements > (int64_t{1} << 50))
      return invalidInput("{}: .npy shape {} is too large", label, shape);
  return h;
}

Expected<NdArray> parseNpy(std::span<const uint8_t> bytes, const std::string& label) {
  ASSIGN_OR_RETURN(NpyHeader h, parseNpyHeader(bytes, label));
  NdArray a;
  a.dtype = h.dtype;
  a.shape = h.shape;
  const size_t need = dataTypeStorageBytes(h.dtype, h.numElements());
  if (bytes.size() - h.dataOffset < need)
    return invalidInput("{}: array data is truncated ({} bytes, shape needs {})", label, bytes.size() - h.dataOffset, need);
  a.bytes.assign(bytes.begin() + static_cast<ptrdiff_t>(h.dataOffset),
                 bytes.begin() + static_cast<ptrdiff_t>(h.dataOffset + need));
  return a;
}

std::vector<uint8_t> serializeNpy(DataType dtype, const std::vector<int64_t>& shape, std::span<const uint8_t> data) {
  // NumPy's spelling: "()", "(3,)", "(2, 3)".
  std::string shapeText = "(";
  for (size_t i = 0; i < shape.size(); ++i) shapeText += (i ? ", " : "") + std::to_string(shape[i]);
  shapeText += shape.size() == 1 ? ",)" : ")";
  std::string dict = "{'descr': '" + descrFor(dtype) + "', 'fortran_order': False, 'shape': " + shapeText + ", }";
  size_t total = 10 + dict.size() + 1;
  size_t pad = (64 - total % 64) % 64;
  dict += std::string(pad, ' ') + "\n";
  const uint8_t prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(dict.size() & 0xff),
                               static_cast<uint8_t>(dict.size() >> 8)};
  std::vector<uint8_t> out(sizeof(prefix) + dict.size() + data.size());
  std::memcpy(out.data(), prefix, sizeof(prefix));
  std::memcpy(out.data() + sizeof(prefix), dict.data(), dict.size());
  if (!data.empty()) std::memcpy(out.data() + sizeof(prefix) + dict.size(), data.data(), data.size());
  return out;
}

Expected<NdArray> readNpyFile(const std::string& path) {
  ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  return parseNpy({file->data(), file->size()}, path);
}

Status writeNpyFile(const std::string& path, DataType dtype, const std::vector<int64_t>& shape,
                    std::span<const uint8_t> data) {
  if (descrFor(dtype).empty()) return usageError("{}: cannot write dtype {} as .npy", path, dataTypeName(dtype));
  std::vector<uint8_t> bytes = serializeNpy(dtype, shape, data);
  std::string temp = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(temp.data());
  if (fd < 0) return invalidInput("{}: cannot create: {}", path, std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      ::unlink(temp.c_str());
      return internalError("{}: write failed", path);
    }
    done += static_cast<size_t>(n);
  }
  ::fchmod(fd, 0644);
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return internalError("{}: rename failed: {}", path, std::strerror(errno));
  }
  return Status::ok();
}

// ---- .npz (zip) ----------------------------------------------------------------------------

namespace {

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }
uint64_t le64(const uint8_t* p) { return le32(p) | (static_cast<uint64_t>(le32(p + 4)) << 32); }

struct ZipMember {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint64_t compressedSize = 0, size = 0, localHeaderOffset = 0;
};

Expected<std::vector<ZipMember>> listZip(const MappedFile& f) {
  const std::string& path = f.path();
  const uint8_t* d = f.data();
  const size_t n = f.size();
  if (n < 22) return invalidInput("{}: not an .npz (too small for a zip archive)", path);
  size_t eocd = std::string::npos;
  for (size_t i = n - 22 + 1; i-- > (n > 65557 ? n - 65557 : 0);)
    if (le32(d + i) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos) return invalidInput("{}: not an .npz (no zip directory; truncated?)", path);
  uint64_t count = le16(d + eocd + 10);
  uint64_t dirOffset = le32(d + eocd + 16);
  if (eocd >= 20 && le32(d + eocd - 20) == 0x07064b50) {  // zip64 locator
    uint64_t z64 = le64(d + eocd - 20 + 8);
    if (z64 > n || n - z64 < 56 || le32(d + z64) != 0x06064b50) return invalidInput("{}: corrupt zip64 directory", path);
    count = le64(d + z64 + 32);
    dirOffset = le64(d + z64 + 48);
  }
  std::vector<ZipMember> members;
  size_t p = dirOffset;
  for (uint64_t i = 0; i < count; ++i) {
    if (p > n || n - p < 46 || le32(d + p) != 0x02014b50) return invalidInput("{}: corrupt zip directory", path);
    ZipMember m;
    m.method = le16(d + p + 10);
    m.compressedSize = le32(d + p + 20);
    m.size = le32(d + p + 24);
    const uint16_t nameLen = le16(d + p + 28), extraLen = le16(d + p + 30), commentLen = le16(d + p + 32);
    m.localHeaderOffset = le32(d + p + 42);
    if (n - p - 46 < static_cast<size_t>(nameLen) + extraLen) return invalidInput("{}: corrupt zip directory", path);
    m.name.assign(reinterpret_cast<const char*>(d + p + 46), nameLen);
    const uint8_t* extra = d + p + 46 + nameLen;
    for (size_t e = 0; e + 4 <= extraLen;) {
      const uint16_t id = le16(extra + e), len = le16(extra + e + 2);
      if (id == 0x0001) {  // zip64 extended information, fields present only when saturated
        const size_t end = std::min<size_t>(e + 4 + len, extraLen);  // a length past the field is not trusted
        size_t q = e + 4;
        if (m.size == 0xffffffff && q + 8 <= end) { m.size = le64(extra + q); q += 8; }
        if (m.compressedSize == 0xffffffff && q + 8 <= end) { m.compressedSize = le64(extra + q); q += 8; }
        if (m.localHeaderOffset == 0xffffffff && q + 8 <= end) { m.localHeaderOffset = le64(extra + q); }
      }
      e += 4 + len;
    }
    members.push_back(std::move(m));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return members;
}

// Deflate writes at most 1032 output bytes per input byte: a member that claims more
// is corrupt (or a zip bomb), and is refused before anything is allocated for it.
constexpr uint64_t kMaxDeflateRatio = 1032;

// Returns up to `limit` uncompressed bytes of `m` (all of it when limit is 0).
Expected<std::vector<uint8_t>> readMember(const MappedFile& f, const ZipMember& m, size_t limit) {
  const uint8_t* d = f.data();
  const size_t lh = m.localHeaderOffset;
  if (lh > f.size() || f.size() - lh < 30 || le32(d + lh) != 0x04034b50)
    return invalidInput("{}: corrupt zip member '{}'", f.path(), m.name);
  const size_t start = lh + 30 + le16(d + lh + 26) + le16(d + lh + 28);
  if (start > f.size() || m.compressedSize > f.size() - start)
    return invalidInput("{}: member '{}' is truncated", f.path(), m.name);
  if ((m.method == 0 && m.size != m.compressedSize) || m.size / kMaxDeflateRatio > m.compressedSize + 1)
    return invalidInput("{}: member '{}' claims {} bytes from {} stored: corrupt", f.path(), m.name, m.size,
                        m.compressedSize);
  const size_t want = limit ? std::min<uint64_t>(limit, m.size) : m.size;
  std::vector<uint8_t> out(want);
  if (m.method == 0) {
    if (want > 0) std::memcpy(out.data(), d + start, want);
    return out;
  }
  if (m.method != 8) return invalidInput("{}: member '{}' uses unsupported compression {}", f.path(), m.name, m.method);
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return internalError("zlib init failed");
  size_t inDone = 0, outDone = 0;
  int rc = Z_OK;
  while (outDone < want && rc != Z_STREAM_END) {
    const size_t inChunk = std::min<size_t>(m.compressedSize - inDone, 1u << 30);
    const size_t outChunk = std::min<size_t>(want - outDone, 1u << 30);
    z.next_in = const_cast<Bytef*>(d + start + inDone);
    z.avail_in = static_cast<uInt>(inChunk);
    z.next_out = out.data() + outDone;
    z.avail_out = static_cast<uInt>(outChunk);
    rc = inflate(&z, Z_NO_FLUSH);
    inDone += inChunk - z.avail_in;
    outDone += outChunk - z.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && outDone == want)) {
      inflateEnd(&z);
      return invalidInput("{}: member '{}' is corrupt (inflate error {})", f.path(), m.name, rc);
    }
  }
  inflateEnd(&z);
  if (outDone != want) return invalidInput("{}: member '{}' is truncated", f.path(), m.name);
  return out;
}

std::string arrayName(const std::string& member) {
  return member.size() > 4 && member.ends_with(".npy") ? member.substr(0, member.size() - 4) : member;
}

}  // namespace

namespace {
// Reads every member of an .npz with `read(file, member)`, keyed by array name.
template <typename T, typename Read>
Expected<std::map<std::string, T>> readMembers(const std::string& path, Read read) {
  ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  ASSIGN_OR_RETURN(auto members, listZip(*file));
  std::map<std::string, T> out;
  for (const auto& m : members) {
    ASSIGN_OR_RETURN(T value, read(*file, m));
    out[arrayName(m.name)] = std::move(value);
  }
  return out;
}
}  // namespace

Expected<std::map<std::string, NpyHeader>> readNpzHeaders(const std::string& path) {
  return readMembers<NpyHeader>(path, [&](const MappedFile& f, const ZipMember& m) -> Expected<NpyHeader> {
    ASSIGN_OR_RETURN(auto head, readMember(f, m, 4096));  // the header only
    return parseNpyHeader(head, path + ":" + m.name);
  });
}

Expected<std::map<std::string, NdArray>> readNpz(const std::string& path) {
  return readMembers<NdArray>(path, [&](const MappedFile& f, const ZipMember& m) -> Expected<NdArray> {
    ASSIGN_OR_RETURN(auto bytes, readMember(f, m, 0));
    return parseNpy(bytes, path + ":" + m.name);
  });
}

}  // namespace onnxpress
