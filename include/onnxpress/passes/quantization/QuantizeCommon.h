// What every quantization mode shares: integer types and their ranges, scale and
// zero point from a range, weight quantization (per tensor, per channel, blockwise),
// the DequantizeLinear that stands for a quantized weight (one per weight and layout,
// so shared weights stay shared), node selection, and the SQNR of a rounding.
//
// Math (ONNX QuantizeLinear): q = clamp(round_half_even(x / s) + z, qmin, qmax),
// x' = (q - z) * s. Asymmetric: s = (hi - lo) / (qmax - qmin), z = qmin - round(lo / s),
// with [lo, hi] widened to contain 0 so that 0 is exact (zero padding, Relu).
// Symmetric: s = max(|lo|, |hi|) / ((qmax - qmin) / 2), z = 0 for signed types and
// (qmin + qmax + 1) / 2 for unsigned ones.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "onnxpress/ir/Model.h"
#include "onnxpress/passes/quantization/QuantizationRecord.h"
#include "onnxpress/pass/Pass.h"
#include "onnxpress/passes/quantization/Quantize.h"

namespace onnxpress::quant {

inline constexpr const char* kMicrosoftDomain = "com.microsoft";

/// An integer code: its ONNX element type and the range used.
struct QuantType {
  DataType dtype = DataType::UInt8;
  int64_t qmin = 0, qmax = 255;
  bool isSigned() const { return qmin < 0; }
};

/// "int8", "uint8", "int4", "uint4" (and "int32" for biases); reduceRange drops one
/// bit (int8 -> [-64, 63], uint8 -> [0, 127]). nullopt for other names.
std::optional<QuantType> quantTypeFromName(const std::string& name, bool reduceRange = false);

struct QuantParams {
  float scale = 1;
  int32_t zeroPoint = 0;
};

/// Scale and zero point that map [lo, hi] onto `t` (see the header comment). A
/// degenerate range (hi == lo == 0) gives scale 1.
QuantParams paramsForRange(float lo, float hi, const QuantType& t, bool symmetric);
/// round_half_even(x / scale) + zeroPoint, clamped to [qmin, qmax].
int32_t quantizeValue(float x, const QuantParams& p, const QuantType& t);

/// A float weight as integer codes with one scale per tensor, per channel or per block.
struct QuantizedWeight {
  Tensor values;      // t.dtype, the weight's dims (4-bit types packed two per byte)
  Tensor scale;       // float32: scalar, [dims[axis]], or the weight's dims with dims[axis] -> blocks
  Tensor zeroPoint;   // t.dtype, the scale's shape
  int64_t axis = -1;  // DequantizeLinear's axis; -1: per tensor
  int64_t blockSize = 0;
  std::vector<float> scales;        // row-major over the scale's shape
  std::vector<int32_t> zeroPoints;
  std::vector<int32_t> codes;       // unpacked, row-major over the weight's dims
  double sqnrDb = 0;                // dequantized weight against the float one
};

/// axis = -1: one scale. blockSize = 0: one scale per index of `axis` (per channel).
/// blockSize > 0: blocks of blockSize consecutive elements along `axis` (the last
/// block may be shorter), one scale per block and per index of every other dim.
QuantizedWeight quantizeWeight(std::span<const float> weights, const std::vector<int64_t>& dims, const QuantType& t,
                               bool symmetric, int64_t axis, int64_t blockSize);

/// Integer codes as a tensor of `dtype` (4-bit: two per byte, low nibble first).
Tensor packCodes(std::span<const int32_t> codes, DataType dtype, std::vector<int64_t> dims);

/// The float values of a DequantizeLinear whose inputs are all constants: (q - z) * s
/// for int8/uint8/int4/uint4/int32 codes q, per tensor (one scale), per axis (scale
/// [dims[axis]]) or blocked (block_size > 0: the scale has q's dims with dims[axis] ->
/// ceil(dims[axis] / block_size)); row-major over q's dims. Empty when an input is not
/// a constant, a type is unsupported (float8, 16-bit codes) or the shapes disagree.
std::vector<float> dequantizedValues(const Node& dequantizeLinear);

/// 10 log10(sum x^2 / sum (x - y)^2); 200 dB when the two are equal.
double sqnrDb(std::span<const float> reference, std::span<const float> approximation);

/// The summary of one quantized tensor for the report (first kMaxListed scales).
QuantizedTensorInfo describeTensor(const std::string& tensor, const std::string& role, DataType dtype, int64_t axis,
                                   int64_t blockSize, std::span<const float> scales,
                                   std::span<const int32_t> zeroPoints);

/// Error naming the first node if `model` is already quantized (QuantizeLinear,
/// DequantizeLinear, QLinear*, MatMulInteger, ConvInteger, DynamicQuantize*,
/// MatMulNBits, or float16/bfloat16 weights for the fp16/bf16 modes).
Status requireUnquantized(const Model& model, const std::string& mode);

/// The nodes a mode works on: default-domain op type in `opTypes` (or the mode's
/// defaults when the option is empty), name not matching `excludeNodes`, op type not
/// in `excludeOpTypes`.
class Scope {
 public:
  static Expected<Scope> create(const QuantizeOptions& options, std::vector<std::string> defaultOpTypes);
  bool contains(const Node& node) const;
  const std::vector<std::string>& opTypes() const { return opTypes_; }

 private:
  std::vector<std::string> opTypes_, excluded_;
  std::optional<std::regex> excludeNodes_;
};

/// The float32 constant (initializer or Constant node, any enclosing graph) behind
/// input `index` of `node`, with its values; nullopt for anything else.
struct FloatConstant {
  Value* value = nullptr;
  std::vector<float> values;
  std::vector<int64_t> dims;
};
std::optional<FloatConstant> floatConstantInput(const Node& node, size_t index);

/// Whether a Conv with weight dims `dims` ([M, C/group, k...]) is a filter bank over a raw
/// signal: one input channel and 32 taps or more (an STFT's Fourier basis, a learned
/// audio front end). Both modes keep it float by default: a per-tensor 8-bit signal
/// turns into spectra whose quiet bands drown in the rounding of the loud ones.
bool isSignalFilterBank(const Node& conv, const std::vector<int64_t>& dims);

/// Replaces constant weights by DequantizeLinear(quantized initializer). A weight
/// read by several nodes (or twice with the same layout) is quantized once and its
/// DequantizeLinear is shared; the float constant is dropped once nothing reads it.
/// Every tensor quantized is appended to result.quantized once.
class WeightQuantizer {
 public:
  explicit WeightQuantizer(QuantizationResult& result) : result_(result) {}

  struct Dequantized {
    Value* output = nullptr;             // float: what `node` reads now
    const QuantizedWeight* weight = nullptr;
  };
  /// Quantizes input `index` of `node` (a float constant) and rewires it to the
  /// DequantizeLinear output; nullopt (nothing changed) when it is not a float constant.
  std::optional<Dequantized> quantizeInput(Node& node, size_t index, const QuantType& t, bool symmetric, int64_t axis,
                                           int64_t blockSize, const std::string& role = "weight");
  /// Bias of Conv/Gemm: int32 codes with scale inputScale * weightScale[c] and zero
  /// point 0, as ONNX Runtime's QLinearConv and its QDQ fusion expect. Not shared:
  /// the scale depends on the reading node's input and weight.
  std::optional<Dequantized> quantizeBias(Node& node, size_t index, float inputScale,
                                          std::span<const float> weightScales);

 private:
  // (graph, weight name, type, qmin, axis, block size): names are unique within a graph
  // and, unlike pointers, are never reused by values created later.
  using Key = std::tuple<const Graph*, std::string, DataType, int64_t, int64_t, int64_t>;
  std::optional<Dequantized> rewire(Node& node, size_t index, const FloatConstant& source, QuantizedWeight weight,
                                    const std::string& role, const std::optional<Key>& key);
  QuantizationResult& result_;
  std::map<Key, std::pair<Value*, std::unique_ptr<QuantizedWeight>>> cache_;
  std::vector<std::unique_ptr<QuantizedWeight>> uncached_;
};

/// The table of a Gather embedding lookup (input 0, a float32 constant) as
/// DequantizeLinear(codes): per tensor, or per row (axis 0) when `perRow` (opset 13).
/// ONNX Runtime's quantizers do the same in static and dynamic mode; an embedding is
/// most of a BERT's bytes. False when input 0 is not a float constant.
bool quantizeEmbeddingTable(Node& gather, WeightQuantizer& weights, const QuantType& t, bool symmetric, bool perRow);

/// A DequantizeLinear node of `graph` reading (q, scale, zeroPoint), placed before
/// `before` (appended when null); axis and block_size are set only when used.
Node* makeDequantizeLinear(Graph& graph, Value* q, Value* scale, Value* zeroPoint, int64_t axis, int64_t blockSize,
                           Node* before, const std::string& name);

/// The node of `graph` that holds the first (in node order) reader of `v`: a reader
/// itself, or the If/Loop/Scan node whose subgraph reads it. Null when nothing reads it.
Node* firstReaderIn(Graph& graph, const Value* v);

/// IR < 4 files list every initializer as a graph input too, which makes it an
/// overridable input rather than a constant, so nothing could be quantized. The
/// initializers stop being inputs (the IR version is raised to 4, which allows that);
/// returns how many. Quantized weights cannot stay overridable float inputs anyway.
int64_t unlistInitializerInputs(Model& model);

/// The imported ai.onnx opset, 1 when none is declared.
int64_t defaultOpset(const Model& model);

}  // namespace onnxpress::quant
