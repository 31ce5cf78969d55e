#include "onnxpress/ir/DataType.h"

#include <limits>

#include <array>

namespace onnxpress {
namespace {
struct TypeInfo {
  DataType type;
  std::string_view name;
  int bits;
};
constexpr std::array<TypeInfo, 23> kTypes{{
    {DataType::Float, "float32", 32},       {DataType::UInt8, "uint8", 8},
    {DataType::Int8, "int8", 8},            {DataType::UInt16, "uint16", 16},
    {DataType::Int16, "int16", 16},         {DataType::Int32, "int32", 32},
    {DataType::Int64, "int64", 64},         {DataType::String, "string", 0},
    {DataType::Bool, "bool", 8},            {DataType::Float16, "float16", 16},
    {DataType::Double, "float64", 64},      {DataType::UInt32, "uint32", 32},
    {DataType::UInt64, "uint64", 64},       {DataType::Complex64, "complex64", 64},
    {DataType::Complex128, "complex128", 128}, {DataType::BFloat16, "bfloat16", 16},
    {DataType::Float8E4M3FN, "float8e4m3fn", 8}, {DataType::Float8E4M3FNUZ, "float8e4m3fnuz", 8},
    {DataType::Float8E5M2, "float8e5m2", 8},  {DataType::Float8E5M2FNUZ, "float8e5m2fnuz", 8},
    {DataType::UInt4, "uint4", 4},          {DataType::Int4, "int4", 4},
    {DataType::Float4E2M1, "float4e2m1", 4},
}};

const TypeInfo* find(DataType type) {
  for (const auto& info : kTypes)
    if (info.type == type) return &info;
  return nullptr;
}
}  // namespace

bool isKnownDataType(int32_t raw) { return find(static_cast<DataType>(raw)) != nullptr; }

std::string_view dataTypeName(DataType type) {
  const TypeInfo* info = find(type);
  return info ? info->name : "undefined";
}

std::optional<DataType> dataTypeFromName(std::string_view name) {
  for (const auto& info : kTypes)
    if (info.name == name) return info.type;
  if (name == "float") return DataType::Float;
  if (name == "double") return DataType::Double;
  return std::nullopt;
}

int dataTypeBits(DataType type) {
  const TypeInfo* info = find(type);
  return info ? info->bits : 0;
}

int64_t elementCount(const std::vector<int64_t>& dims, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < dims.size(); ++i) p *= dims[i];
  return p;
}

bool integerRange(DataType type, int64_t& lo, int64_t& hi) {
  switch (type) {
    case DataType::UInt8: lo = 0; hi = 255; return true;
    case DataType::Int8: lo = -128; hi = 127; return true;
    case DataType::UInt16: lo = 0; hi = 65535; return true;
    case DataType::Int16: lo = -32768; hi = 32767; return true;
    case DataType::Int32: lo = std::numeric_limits<int32_t>::min(); hi = std::numeric_limits<int32_t>::max(); return true;
    case DataType::UInt4: lo = 0; hi = 15; return true;
    case DataType::Int4: lo = -8; hi = 7; return true;
    default: return false;
  }
}

int64_t elementCount(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

size_t dataTypeStorageBytes(DataType type, int64_t count) {
  return (static_cast<size_t>(count) * static_cast<size_t>(dataTypeBits(type)) + 7) / 8;
}

}  // namespace onnxpress
