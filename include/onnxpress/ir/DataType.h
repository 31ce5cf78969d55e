// Element types, numbered exactly as ONNX TensorProto.DataType (IR versions 3 to 10).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace onnxpress {

enum class DataType : int32_t {
  Undefined = 0,
  Float = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Double = 11,
  UInt32 = 12,
  UInt64 = 13,
  Complex64 = 14,
  Complex128 = 15,
  BFloat16 = 16,
  Float8E4M3FN = 17,
  Float8E4M3FNUZ = 18,
  Float8E5M2 = 19,
  Float8E5M2FNUZ = 20,
  UInt4 = 21,
  Int4 = 22,
  Float4E2M1 = 23,
};

/// True for every value ONNX defines (Undefined excluded).
bool isKnownDataType(int32_t raw);
/// Lower-case ONNX-style name: "float32", "int64", "bfloat16", "int4", ...
std::string_view dataTypeName(DataType type);
std::optional<DataType> dataTypeFromName(std::string_view name);
/// Storage bits per element (4 for int4/uint4/float4, 0 for String/Undefined).
int dataTypeBits(DataType type);
/// Product of `dims` (1 for a scalar).
int64_t elementCount(const std::vector<int64_t>& dims);
/// The product of dims[begin, end) (end clamped to dims.size()); 1 for an empty range.
int64_t elementCount(const std::vector<int64_t>& dims, size_t begin, size_t end);
/// The value range of an integer type used by quantization (int4 .. int32, unsigned too);
/// false for other types.
bool integerRange(DataType type, int64_t& lo, int64_t& hi);
/// Bytes needed to store `count` packed elements (rounds 4-bit types up).
size_t dataTypeStorageBytes(DataType type, int64_t count);

}  // namespace onnxpress
