#include "onnxpress/passes/quantization/WeightOnlyQuantization.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/quantization/OpsetUpgrade.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"

namespace onnxpress::quant {
namespace {

constexpr int64_t kBlockedDequantizeOpset = 21;
constexpr int kNBits = 4;  // MatMulNBits' bits: the 4-bit weight types

enum class Form { DequantizeLinear, MatMulNBits };

// Which input of a node holds its weight and how it is quantized; `skipped` says why not.
struct WeightSite {
  Node* node = nullptr;
  size_t input = 1;
  int64_t axis = 0;  // the block axis: the reduction dim (Gather: the row's)
  std::string role = "weight";
  Form form = Form::DequantizeLinear;
  std::string skipped;  // non-empty: the node stays float
};

bool isSupported(const Node& node) {
  return node.opType() == "MatMul" || node.opType() == "Gemm" || node.opType() == "Gather";
}

WeightSite locateWeight(Node& node, bool matmulNBits) {
  WeightSite site;
  site.node = &node;
  const std::string& op = node.opType();
  auto skip = [&](const std::string& why) {
    site.skipped = op + " " + why;
    return site;
  };
  if (!node.input(0) || !node.input(1)) return skip("with a missing input");
  site.input = op == "Gather" ? 0 : 1;
  const Tensor* weight = constantTensor(node.input(site.input));  // what floatConstantInput() reads
  const std::optional<std::vector<int64_t>> dims =
      weight && weight->dtype() == DataType::Float ? std::optional(weight->dims()) : std::nullopt;
  if (!dims) return skip(op == "Gather" ? "table is not a float32 constant" : "weight is not a float32 constant");
  const auto rank = static_cast<int64_t>(dims->size());
  if (rank == 0 || elementCount(*dims) == 0) return skip("weight is a scalar or empty");
  if (op == "MatMul") {
    site.axis = rank == 1 ? 0 : rank - 2;  // B [..., K, N]
    if (matmulNBits && rank == 2) site.form = Form::MatMulNBits;
  } else if (op == "Gemm") {
    if (rank != 2) return skip("weight is not 2-D");
    site.axis = node.intAttr("transB", 0) != 0 ? 1 : 0;  // [N, K] or [K, N]
  } else {
    site.axis = rank - 1;  // rows of E [V, H] are read whole: blocks along H
    site.role = "embedding";
  }
  return site;
}

// Every node in scope, with where its weight is; nodes of unsupported op types are counted.
std::vector<WeightSite> locateWeights(Model& model, const Scope& scope, bool matmulNBits, PassResult* result) {
  std::vector<WeightSite> sites;
  model.graph().forEachGraph([&](Graph& g) {
    for (Node* n : g.nodes()) {
      if (!scope.contains(*n)) continue;
      if (isSupported(*n)) sites.push_back(locateWeight(*n, matmulNBits));
      else if (result) result->bump("skipped: " + n->opType() + " (weight-only handles MatMul, Gemm, Gather)");
    }
  });
  return sites;
}

// Writes `value`'s low kNBits bits as element `index` of a low-bits-first packed row.
void putBits(uint8_t* row, int64_t index, uint32_t value) {
  const int64_t bit = index * kNBits;
  row[bit / 8] |= static_cast<uint8_t>((value & ((1u << kNBits) - 1)) << (bit % 8));
}

// MatMul(A, W[K,N]) -> com.microsoft MatMulNBits(A, B, scales, zero_points); see the
// header for the layout. A weight read by several MatMuls is packed once.
class MatMulNBitsWriter {
 public:
  MatMulNBitsWriter(const QuantType& type, bool symmetric, int64_t blockSize, QuantizationResult& result)
      : type_(type), symmetric_(symmetric), blockSize_(blockSize), result_(result) {}

  /// False (nothing changed) when input 1 is not a 2-D float32 constant.
  Expected<bool> rewrite(Node& matmul) {
    std::optional<FloatConstant> w = floatConstantInput(matmul, 1);
    if (!w || w->dims.size() != 2) return false;
    Value* weight = w->value;
    const Key key{weight->graph(), weight->name()};
    auto it = packed_.find(key);
    if (it == packed_.end()) it = packed_.emplace(key, pack(*w)).first;
    const Packed& p = it->second;

    Graph& graph = *matmul.graph();
    Node* nbits = graph.createNode("MatMulNBits", {matmul.input(0), p.b, p.scales, p.zeroPoints}, 1, &matmul,
                                   kMicrosoftDomain);
    if (!matmul.name().empty()) nbits->setName(matmul.name() + "_Q4");
    nbits->setAttribute(Attribute::makeInt("K", w->dims[0]));
    nbits->setAttribute(Attribute::makeInt("N", w->dims[1]));
    nbits->setAttribute(Attribute::makeInt("bits", kNBits));
    nbits->setAttribute(Attribute::makeInt("block_size", blockSize_));
    Value* original = matmul.output(0);
    const std::string where = matmul.describe();
    copyType(original, nbits->output(0));
    if (!replaceValue(original, nbits->output(0))) {  // matmul is destroyed on success
      graph.destroyNode(nbits);
      return internalError("node {}: its output '{}' could not move to MatMulNBits", where, original->name());
    }
    if (!weight->hasUses()) {
      packed_.erase(key);
      releaseIfUnused({weight});
    }
    return true;
  }

  bool used() const { return used_; }

 private:
  struct Packed {
    Value *b = nullptr, *scales = nullptr, *zeroPoints = nullptr;
  };
  using Key = std::pair<const Graph*, std::string>;  // the weight, as WeightQuantizer keys it

  Packed pack(const FloatConstant& w) {
    const QuantizedWeight q = quantizeWeight(w.values, w.dims, type_, symmetric_, 0, blockSize_);
    const int64_t K = w.dims[0], N = w.dims[1];
    const int64_t blocks = (K + blockSize_ - 1) / blockSize_;
    const int64_t blob = blockSize_ * kNBits / 8;
    const int64_t zeroPointRow = (blocks * kNBits + 7) / 8;
    const int32_t offset = type_.isSigned() ? 1 << (kNBits - 1) : 0;  // int4 [-8, 7] -> [0, 15]
    Tensor b(DataType::UInt8, {N, blocks, blob});
    Tensor zeroPoints(DataType::UInt8, {N * zeroPointRow});
    std::vector<float> scales(static_cast<size_t>(N * blocks));
    uint8_t* pb = b.mutableData<uint8_t>().data();
    uint8_t* pz = zeroPoints.mutableData<uint8_t>().data();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const auto s = static_cast<size_t>(blk * N + n);  // q's scales are [blocks, N]
        scales[static_cast<size_t>(n * blocks + blk)] = q.scales[s];
        const auto z = static_cast<uint32_t>(q.zeroPoints[s] + offset);
        putBits(pz + n * zeroPointRow, blk, z);
        uint8_t* row = pb + (n * blocks + blk) * blob;
        for (int64_t j = 0; j < blockSize_; ++j) {
          const int64_t k = blk * blockSize_ + j;
          putBits(row, j, k < K ? static_cast<uint32_t>(q.codes[static_cast<size_t>(k * N + n)] + offset) : z);
        }
      }

    Graph& home = *w.value->graph();
    const std::string base = w.value->name();
    Packed p;
    p.b = addInitializer(home, base + "_Q4", std::move(b));
    p.scales = addInitializer(home, base + "_scales", Tensor::fromValues<float>(DataType::Float, {N * blocks}, scales));
    p.zeroPoints = addInitializer(home, base + "_zero_points", std::move(zeroPoints));
    QuantizedTensorInfo info = describeTensor(base, "weight", type_.dtype, 0, blockSize_, q.scales, q.zeroPoints);
    info.sqnrDb = q.sqnrDb;
    result_.quantized.push_back(std::move(info));
    result_.bump("weights quantized");
    used_ = true;
    return p;
  }

  QuantType type_;
  bool symmetric_;
  int64_t blockSize_;
  QuantizationResult& result_;
  std::map<Key, Packed> packed_;
  bool used_ = false;
};

void importMicrosoftDomain(Model& model) {
  for (const OpsetImport& i : model.opsetImports)
    if (i.domain == kMicrosoftDomain) return;
  model.opsetImports.push_back({kMicrosoftDomain, 1});
}

}  // namespace

Expected<QuantizationResult> quantizeWeightOnly(Model& model, const QuantizeOptions& options) {
  std::optional<QuantType> type = quantTypeFromName(options.weightType, options.reduceRange);
  if (!type || type->dtype == DataType::Int32)
    return usageError("weight-only mode supports int8, uint8, int4 and uint4 weights (got weight-type={})",
                      options.weightType);
  if (options.matmulNBits && dataTypeBits(type->dtype) != kNBits)
    return usageError("matmul-nbits writes 4-bit MatMulNBits: use weight-type int4 or uint4 (got {})",
                      options.weightType);
  if (options.blockSize <= 0) return usageError("weight-only mode needs block-size > 0 (got {})", options.blockSize);
  const bool symmetric = type->isSigned() || options.symmetric;
  ASSIGN_OR_RETURN(Scope scope, Scope::create(options, {"MatMul", "Gemm", "Gather"}));

  QuantizationResult result;
  bool needsOpset21 = false;
  for (const WeightSite& site : locateWeights(model, scope, options.matmulNBits, nullptr))
    needsOpset21 = needsOpset21 || (site.skipped.empty() && site.form == Form::DequantizeLinear);
  if (needsOpset21)
    RETURN_IF_ERROR(upgradeOpset(model, kBlockedDequantizeOpset, result)
                        .withContext("weight-only DequantizeLinear with block_size needs ai.onnx opset 21 "
                                     "(matmul-nbits needs no upgrade for MatMul)"));

  // Located again: the upgrade may have replaced the graph. DequantizeLinear sites first,
  // so a weight that MatMulNBits also reads is released by the writer, after both.
  const std::vector<WeightSite> sites = locateWeights(model, scope, options.matmulNBits, &result);
  WeightQuantizer dequantized(result);
  for (const WeightSite& site : sites) {
    if (!site.skipped.empty()) {
      result.bump("skipped: " + site.skipped);
      continue;
    }
    if (site.form != Form::DequantizeLinear) continue;
    if (model.opsetVersion("") < kBlockedDequantizeOpset)
      return internalError("node {}: blocked DequantizeLinear at opset {}", site.node->describe(),
                           model.opsetVersion(""));
    if (!dequantized.quantizeInput(*site.node, site.input, *type, symmetric, site.axis, options.blockSize,
                                   site.role)) {
      result.bump("skipped: " + site.node->opType() + " weight is not a float32 constant");
      continue;
    }
    result.bump(site.node->opType());
  }

  MatMulNBitsWriter nbits(*type, symmetric, options.blockSize, result);
  for (const WeightSite& site : sites) {
    if (!site.skipped.empty() || site.form != Form::MatMulNBits) continue;
    ASSIGN_OR_RETURN(bool rewritten, nbits.rewrite(*site.node));
    if (!rewritten) {
      result.bump("skipped: MatMul weight is not a 2-D float32 constant");
      continue;
    }
    result.bump("MatMul");
    result.bump("MatMul as MatMulNBits");
  }
  if (nbits.used()) importMicrosoftDomain(model);
  return result;
}

}  // namespace onnxpress::quant
