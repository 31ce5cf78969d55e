#include "onnxpress/data/Dataset.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace onnxpress {
namespace fs = std::filesystem;

namespace {
std::string shapeText(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}
bool isIntegerType(DataType t) {
  switch (t) {
    case DataType::Int8: case DataType::Int16: case DataType::Int32: case DataType::Int64:
    case DataType::UInt8: case DataType::UInt16: case DataType::UInt32: case DataType::UInt64:
      return true;
    default:
      return false;
  }
}
}  // namespace

Expected<Dataset> Dataset::open(const std::string& path) {
  Dataset ds;
  ds.path_ = path;
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec))
      if (e.path().extension() == ".npz") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    if (files.empty()) return invalidInput("{}: DATA directory holds no .npz files", path);
  } else if (fs::exists(path, ec)) {
    files.push_back(path);
  } else {
    return invalidInput("{}: DATA file not found", path);
  }
  for (const auto& file : files) {
    ASSIGN_OR_RETURN(auto headers, readNpzHeaders(file));
    if (headers.empty()) return invalidInput("{}: DATA file holds no arrays", file);
    int64_t count = -1;
    std::map<std::string, ArraySpec> specs;
    bool labels = false;
    for (const auto& [name, h] : headers) {
      if (h.shape.empty()) return invalidInput("{}: array '{}' is a scalar; DATA arrays have shape [S, ...]", file, name);
      if (count >= 0 && h.shape[0] != count)
        return invalidInput("{}: array '{}' has {} samples but others have {}", file, name, h.shape[0], count);
      count = h.shape[0];
      if (name == kLabels) {
        if (h.shape.size() != 1 || !isIntegerType(h.dtype))
          return invalidInput("{}: 'labels' must be an integer array of shape [S], got {} {}", file,
                              dataTypeName(h.dtype), shapeText(h.shape));
        labels = true;
        continue;
      }
      specs[name] = {h.dtype, std::vector<int64_t>(h.shape.begin() + 1, h.shape.end())};
    }
    if (specs.empty()) return invalidInput("{}: DATA file holds only labels, no input arrays", file);
    if (ds.parts_.empty()) {
      ds.arrays_ = specs;
      ds.hasLabels_ = labels;
    } else if (specs.size() != ds.arrays_.size() || labels != ds.hasLabels_ ||
               !std::equal(specs.begin(), specs.end(), ds.arrays_.begin(), [](const auto& a, const auto& b) {
                 return a.first == b.first && a.second.dtype == b.second.dtype && a.second.sampleShape == b.second.sampleShape;
               })) {
      return invalidInput("{}: arrays differ from those of {}; every file of a DATA directory must match", file,
                          ds.parts_.front().path);
    }
    ds.parts_.push_back({file, ds.size_, count});
    ds.size_ += count;
  }
  return ds;
}

Status Dataset::validateFor(const Graph& graph) const {
  std::vector<std::string> expected;
  for (Value* in : graph.inputs())
    if (!in->initializer()) expected.push_back(in->name());
  for (const auto& [name, spec] : arrays_)
    if (std::find(expected.begin(), expected.end(), name) == expected.end()) {
      std::string list;
      for (const auto& e : expected) list += (list.empty() ? "" : ", ") + e;
      return invalidInput("{}: array '{}' matches no model input (inputs: {})", path_, name, list);
    }
  for (Value* in : graph.inputs()) {
    if (in->initializer()) continue;
    auto it = arrays_.find(in->name());
    if (it == arrays_.end()) return invalidInput("{}: no array for model input '{}'", path_, in->name());
    const Type& t = in->type();
    if (!t.isTensor()) continue;
    if (t.elemType != it->second.dtype)
      return invalidInput("{}: array '{}' is {} but the model input is {}", path_, in->name(),
                          dataTypeName(it->second.dtype), dataTypeName(t.elemType));
    if (!t.hasShape) continue;
    const auto& shape = it->second.sampleShape;
    bool ok = shape.size() == t.dims.size();
    for (size_t i = 0; ok && i < shape.size(); ++i)
      if (t.dims[i].isFixed() && t.dims[i].value != shape[i]) ok = false;
    if (!ok)
      return invalidInput("{}: array '{}' holds samples of shape {} but the model input is {} (arrays are [S, ...] "
                          "with one inference's full input per sample)",
                          path_, in->name(), shapeText(shape), t.toString());
  }
  return Status::ok();
}

Status Dataset::load(int64_t index) {
  if (index < 0 || index >= size_) return usageError("{}: sample {} out of range [0, {})", path_, index, size_);
  int part = 0;
  while (index >= parts_[part].first + parts_[part].count) ++part;
  if (part == loadedPart_) return Status::ok();
  ASSIGN_OR_RETURN(loaded_, readNpz(parts_[part].path));
  loadedPart_ = part;
  return Status::ok();
}

Expected<Tensor> Dataset::sample(const std::string& name, int64_t index) {
  RETURN_IF_ERROR(load(index));
  auto it = loaded_.find(name);
  if (it == loaded_.end()) return invalidInput("{}: no array '{}'", path_, name);
  const NdArray& a = it->second;
  const int64_t local = index - parts_[loadedPart_].first;
  const size_t perSample = a.bytes.size() / static_cast<size_t>(a.shape[0]);
  std::vector<uint8_t> bytes(a.bytes.begin() + static_cast<ptrdiff_t>(local * perSample),
                             a.bytes.begin() + static_cast<ptrdiff_t>((local + 1) * perSample));
  Tensor t;
  t.setName(name);
  t.setBytes(a.dtype, std::vector<int64_t>(a.shape.begin() + 1, a.shape.end()), std::move(bytes));
  return t;
}

Expected<int64_t> Dataset::label(int64_t index) {
  if (!hasLabels_) return usageError("{}: DATA has no 'labels' array", path_);
  RETURN_IF_ERROR(load(index));
  const NdArray& a = loaded_.at(kLabels);
  const int64_t local = index - parts_[loadedPart_].first;
  const int bytes = dataTypeBits(a.dtype) / 8;
  int64_t v = 0;
  std::memcpy(&v, a.bytes.data() + local * bytes, bytes);
  const bool isSigned = a.dtype == DataType::Int8 || a.dtype == DataType::Int16 || a.dtype == DataType::Int32;
  if (isSigned && bytes < 8 && (v >> (bytes * 8 - 1)) & 1) v |= ~int64_t{0} << (bytes * 8);
  return v;
}

}  // namespace onnxpress
