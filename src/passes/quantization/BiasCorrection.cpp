#include "onnxpress/passes/quantization/BiasCorrection.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "onnxpress/passes/PassUtil.h"
#include "onnxpress/passes/fusion/FusionUtil.h"
#include "onnxpress/passes/quantization/Calibration.h"
#include "onnxpress/passes/quantization/CrossLayerEqualization.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"

namespace onnxpress::quant {
namespace {

using fusion::isOp;
using fusion::producerOp;

// One quantized Conv/Gemm whose bias is corrected, and its running output sums.
struct BiasTarget {
  Node* node = nullptr;
  int64_t channels = 0;
  bool channelLast = false;    // Gemm [M, C]; Conv [N, C, ...] otherwise
  double beta = 1;             // Gemm adds beta * C
  Value* codes = nullptr;      // the existing int32 b_q; null: a bias is added
  std::vector<double> scale;   // b_scale per channel
  bool perChannelScale = false;  // a new bias gets a [C] scale (else a scalar)
  std::vector<double> floatSum, quantSum;
  int64_t floatCount = 0, quantCount = 0;  // values summed per channel
};

// The values of a float constant of 1 or `channels` elements, broadcast to `channels`.
std::optional<std::vector<double>> channelScale(const Node& dq, int64_t channels) {
  std::optional<FloatConstant> s = floatConstantInput(dq, 1);
  if (!s || (s->values.size() != 1 && static_cast<int64_t>(s->values.size()) != channels)) return std::nullopt;
  std::vector<double> out(static_cast<size_t>(channels));
  for (size_t c = 0; c < out.size(); ++c) out[c] = s->values[s->values.size() == 1 ? 0 : c];
  return out;
}

// The weight's output-channel axis: Conv W[M, ...] axis 0, Gemm op(B) the N axis.
int64_t outputChannelAxis(const Node& layer) {
  return isOp(&layer, "Gemm") && layer.intAttr("transB", 0) == 0 ? 1 : 0;
}

enum class Skip { None, NotQuantized, UnsupportedBias, SharedBias, NoScales };

// Fills the bias side of `t` from its existing DequantizeLinear bias.
Skip readExistingBias(BiasTarget& t) {
  Value* bias = t.node->input(2);
  Node* dq = producerOp(bias, "DequantizeLinear");
  if (!dq) return Skip::UnsupportedBias;
  Value* codes = dq->input(0);
  Tensor* tensor = mutableConstantTensor(codes);
  std::optional<std::vector<double>> scale = channelScale(*dq, t.channels);
  if (!tensor || tensor->dtype() != DataType::Int32 || tensor->numElements() != t.channels || !scale)
    return Skip::UnsupportedBias;
  if (!readByOneNode(bias) || !readByOneNode(codes)) return Skip::SharedBias;
  t.codes = codes;
  t.scale = std::move(*scale);
  return Skip::None;
}

// Fills the bias side of `t` for a layer without bias: b_scale = input scale * weight scale.
Skip planNewBias(BiasTarget& t, const Node& weightDq) {
  Node* inputDq = producerOp(t.node->input(0), "DequantizeLinear");
  std::optional<std::vector<double>> inputScale = inputDq ? channelScale(*inputDq, 1) : std::nullopt;
  std::optional<std::vector<double>> weightScale = channelScale(weightDq, t.channels);
  std::optional<FloatConstant> rawWeightScale = floatConstantInput(weightDq, 1);
  if (!inputScale || !weightScale || !rawWeightScale) return Skip::NoScales;
  t.perChannelScale = rawWeightScale->values.size() > 1;
  if (t.perChannelScale) {  // per-axis weight scale: it must be along the output channels
    const int64_t rank = static_cast<int64_t>(fusion::constantDims(weightDq.input(0))->size());
    int64_t axis = weightDq.intAttr("axis", 1);
    if (axis < 0) axis += rank;
    if (axis != outputChannelAxis(*t.node)) return Skip::NoScales;
  }
  t.scale = std::move(*weightScale);
  for (double& s : t.scale) s *= (*inputScale)[0];
  return Skip::None;
}

Skip planTarget(Node* n, BiasTarget& t) {
  const bool gemm = isOp(n, "Gemm");
  if (!(gemm || isOp(n, "Conv")) || !n->output(0)) return Skip::NotQuantized;
  Node* weightDq = producerOp(n->input(1), "DequantizeLinear");
  std::optional<std::vector<int64_t>> dims = weightDq ? fusion::constantDims(weightDq->input(0)) : std::nullopt;
  if (!dims || dims->size() < 2 || (gemm && dims->size() != 2)) return Skip::NotQuantized;
  t.node = n;
  t.channels = (*dims)[static_cast<size_t>(outputChannelAxis(*n))];
  t.channelLast = gemm;
  t.beta = gemm ? n->floatAttr("beta", 1.0f) : 1.0;
  if (t.channels <= 0 || t.beta == 0) return Skip::NotQuantized;
  return n->input(2) ? readExistingBias(t) : planNewBias(t, *weightDq);
}

std::vector<BiasTarget> findTargets(const Model& floatModel, Model& quantized, PassResult& result) {
  std::vector<BiasTarget> targets;
  for (Node* n : quantized.graph().nodes()) {
    BiasTarget t;
    switch (planTarget(n, t)) {
      case Skip::NotQuantized: continue;
      case Skip::UnsupportedBias: result.bump("skipped layers with an unsupported bias"); continue;
      case Skip::SharedBias: result.bump("skipped layers with a shared bias"); continue;
      case Skip::NoScales: result.bump("skipped layers without quantization scales"); continue;
      case Skip::None: break;
    }
    const Value* reference = floatModel.graph().findValue(n->output(0)->name());
    if (!reference || !reference->producer()) {
      result.bump("skipped layers missing from the float model");
      continue;
    }
    t.floatSum.assign(static_cast<size_t>(t.channels), 0.0);
    t.quantSum.assign(static_cast<size_t>(t.channels), 0.0);
    targets.push_back(std::move(t));
  }
  return targets;
}

// Adds each channel's values of layer output `y` to `sums`; `count` grows by the
// values per channel. Outputs of an unexpected type or shape are ignored.
void accumulate(const runtime::TensorData& y, const BiasTarget& t, std::vector<double>& sums, int64_t& count) {
  const int64_t c = t.channels, n = y.numElements();
  if (y.dtype() != DataType::Float || n == 0) return;
  const float* p = y.data<float>();
  if (t.channelLast) {
    if (y.rank() < 1 || y.dim(-1) != c) return;
    for (int64_t i = 0; i < n; ++i) sums[static_cast<size_t>(i % c)] += p[i];
  } else {
    if (y.rank() < 2 || y.dim(1) != c) return;
    const int64_t batch = y.dim(0), spatial = n / (batch * c);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t ch = 0; ch < c; ++ch) {
        const float* row = p + (b * c + ch) * spatial;
        double s = 0;
        for (int64_t i = 0; i < spatial; ++i) s += row[i];
        sums[static_cast<size_t>(ch)] += s;
      }
  }
  count += n / c;
}

int32_t saturateInt32(double v) {
  constexpr double lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(std::clamp(v, lo, hi));
}

// round(delta_c / (beta * b_scale[c])) per channel; nullopt when the layer was not measured.
std::optional<std::vector<int32_t>> codeShifts(const BiasTarget& t) {
  if (t.floatCount == 0 || t.floatCount != t.quantCount) return std::nullopt;
  std::vector<int32_t> shift(static_cast<size_t>(t.channels), 0);
  for (size_t c = 0; c < shift.size(); ++c) {
    const double delta = (t.floatSum[c] - t.quantSum[c]) / static_cast<double>(t.floatCount);
    const double step = t.beta * t.scale[c];
    if (std::isfinite(delta) && std::isfinite(step) && step != 0) shift[c] = saturateInt32(std::nearbyint(delta / step));
  }
  return shift;
}

void shiftExistingCodes(const BiasTarget& t, const std::vector<int32_t>& shift) {
  std::span<int32_t> codes = mutableConstantTensor(t.codes)->mutableData<int32_t>();
  for (size_t c = 0; c < shift.size(); ++c)
    codes[c] = saturateInt32(static_cast<double>(codes[c]) + static_cast<double>(shift[c]));
}

// Bias = DequantizeLinear(shift as int32, b_scale, 0), wired to input 2.
void addBias(const BiasTarget& t, const std::vector<int32_t>& shift) {
  Graph& graph = *t.node->graph();
  const std::string base = t.node->output(0)->name() + "_bias";
  const std::vector<int64_t> scaleDims =
      t.perChannelScale ? std::vector<int64_t>{t.channels} : std::vector<int64_t>{};
  const std::vector<float> scale(t.scale.begin(), t.scale.begin() + (t.perChannelScale ? t.channels : 1));
  Value* codes = addInitializer(graph, base + "_quantized",
                                Tensor::fromValues<int32_t>(DataType::Int32, {t.channels}, shift));
  Value* scaleValue = addInitializer(graph, base + "_scale", makeFloatTensor(DataType::Float, scaleDims, scale));
  Value* zeroPoint = addInitializer(graph, base + "_zero_point",
                                    Tensor::fromValues<int32_t>(DataType::Int32, scaleDims,
                                                                std::vector<int32_t>(scale.size(), 0)));
  Node* dq = makeDequantizeLinear(graph, codes, scaleValue, zeroPoint, t.perChannelScale ? 0 : -1, 0, t.node,
                                  base + "_DequantizeLinear");
  Value* bias = dq->output(0);
  bias->setType(Type::tensor(DataType::Float, {Dim::fixed(t.channels)}));
  if (t.node->numInputs() > 2) t.node->setInput(2, bias);
  else t.node->addInput(bias);
}

}  // namespace

Expected<int64_t> correctBias(const Model& floatModel, Model& quantized, Dataset& data, int64_t samples, int threads,
                              PassResult& result) {
  std::vector<BiasTarget> targets = findTargets(floatModel, quantized, result);
  if (targets.empty()) return int64_t{0};
  std::unordered_map<std::string, size_t> byOutput;
  for (size_t i = 0; i < targets.size(); ++i) byOutput.emplace(targets[i].node->output(0)->name(), i);

  // Observers run on the calling thread, one node output at a time.
  auto observer = [&](bool quantizedRun) {
    return [&, quantizedRun](const std::string& tensor, const runtime::TensorData& value) {
      auto it = byOutput.find(tensor);
      if (it == byOutput.end()) return;
      BiasTarget& t = targets[it->second];
      if (quantizedRun) accumulate(value, t, t.quantSum, t.quantCount);
      else accumulate(value, t, t.floatSum, t.floatCount);
    };
  };
  RETURN_IF_ERROR(forEachSample(floatModel, data, samples, threads, observer(false))
                      .withContext("bias correction, float model"));
  RETURN_IF_ERROR(forEachSample(quantized, data, samples, threads, observer(true))
                      .withContext("bias correction, quantized model"));

  int64_t corrected = 0;
  for (const BiasTarget& t : targets) {
    std::optional<std::vector<int32_t>> shift = codeShifts(t);
    if (!shift) {
      result.bump("skipped layers not measured");
      continue;
    }
    if (std::all_of(shift->begin(), shift->end(), [](int32_t s) { return s == 0; })) continue;
    if (t.codes) shiftExistingCodes(t, *shift);
    else addBias(t, *shift);
    ++corrected;
  }
  result.bump("biases corrected", corrected);
  return corrected;
}

}  // namespace onnxpress::quant
