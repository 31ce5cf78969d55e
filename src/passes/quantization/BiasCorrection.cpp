#include "onnxpress/passes/quantization/BiasCorrection.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "onnxpress/ir/ConvGeometry.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/quantization/Calibration.h"
#include "onnxpress/passes/quantization/CrossLayerEqualization.h"
#include "onnxpress/passes/quantization/QuantizeCommon.h"

namespace onnxpress::quant {
namespace {


// One quantized Conv/Gemm whose bias is corrected, and the running sums of its input.
struct BiasTarget {
  Node* node = nullptr;
  const Node* weightDq = nullptr;   // DequantizeLinear of the quantized weight
  const Node* reference = nullptr;  // the same layer in the float model
  std::vector<int64_t> weightDims;
  int64_t channels = 0;        // output channels (Conv M, Gemm N)
  bool gemm = false;
  double alpha = 1, beta = 1;  // Gemm: alpha op(A) op(B) + beta C
  Value* codes = nullptr;      // the existing int32 b_q; null: a bias is added
  std::vector<double> scale;   // b_scale per channel
  bool perChannelScale = false;  // a new bias gets a [C] scale (else a scalar)
  // Conv: the window attributes and kernel dims; group.
  WindowAttrs window;
  std::vector<int64_t> kernel;
  int64_t group = 1;
  // Running sums of the input: Conv [C, prod(kernel)] (what each kernel offset reads of
  // each input channel, summed over output positions), Gemm [K]; `windows` counts the
  // output positions (Conv) or rows (Gemm) summed into every entry.
  std::vector<double> inputSum;
  int64_t windows = 0;
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

enum class BiasSkip { None, NotQuantized, UnsupportedBias, SharedBias, NoScales, Geometry };

// Fills the bias side of `t` from its existing DequantizeLinear bias.
BiasSkip readExistingBias(BiasTarget& t) {
  Value* bias = t.node->input(2);
  Node* dq = producerOp(bias, "DequantizeLinear");
  if (!dq) return BiasSkip::UnsupportedBias;
  Value* codes = dq->input(0);
  Tensor* tensor = mutableConstantTensor(codes);
  std::optional<std::vector<double>> scale = channelScale(*dq, t.channels);
  if (!tensor || tensor->dtype() != DataType::Int32 || tensor->numElements() != t.channels || !scale)
    return BiasSkip::UnsupportedBias;
  if (!readByOneNode(bias) || !readByOneNode(codes)) return BiasSkip::SharedBias;
  t.codes = codes;
  t.scale = std::move(*scale);
  return BiasSkip::None;
}

// Fills the bias side of `t` for a layer without bias: b_scale = input scale * weight scale.
BiasSkip planNewBias(BiasTarget& t) {
  Node* inputDq = producerOp(t.node->input(0), "DequantizeLinear");
  std::optional<std::vector<double>> inputScale = inputDq ? channelScale(*inputDq, 1) : std::nullopt;
  std::optional<std::vector<double>> weightScale = channelScale(*t.weightDq, t.channels);
  std::optional<FloatConstant> rawWeightScale = floatConstantInput(*t.weightDq, 1);
  if (!inputScale || !weightScale || !rawWeightScale) return BiasSkip::NoScales;
  t.perChannelScale = rawWeightScale->values.size() > 1;
  if (t.perChannelScale) {  // per-axis weight scale: it must be along the output channels
    int64_t axis = t.weightDq->intAttr("axis", 1);
    if (axis < 0) axis += static_cast<int64_t>(t.weightDims.size());
    if (axis != outputChannelAxis(*t.node) || t.weightDq->intAttr("block_size", 0) > 0) return BiasSkip::NoScales;
  }
  t.scale = std::move(*weightScale);
  for (double& s : t.scale) s *= (*inputScale)[0];
  return BiasSkip::None;
}

// Conv: group and window attributes consistent with the weight [M, C/group, k...].
BiasSkip planConvGeometry(BiasTarget& t) {
  t.group = t.node->intAttr("group", 1);
  t.kernel.assign(t.weightDims.begin() + 2, t.weightDims.end());
  t.window = WindowAttrs::read(*t.node);
  if (t.group <= 0 || t.channels % t.group != 0 || (!t.window.kernel.empty() && t.window.kernel != t.kernel))
    return BiasSkip::Geometry;
  // Any input extent checks the attributes' lengths, signs and auto_pad.
  if (!resolveWindow(t.window, t.kernel, t.kernel, t.node->describe())) return BiasSkip::Geometry;
  t.inputSum.assign(static_cast<size_t>(t.weightDims[1] * t.group * elementCount(t.kernel)), 0.0);
  return BiasSkip::None;
}

BiasSkip planTarget(Node* n, BiasTarget& t) {
  const bool gemm = isOp(n, "Gemm");
  if (!(gemm || isOp(n, "Conv")) || !n->input(0) || !n->output(0)) return BiasSkip::NotQuantized;
  Node* weightDq = producerOp(n->input(1), "DequantizeLinear");
  std::optional<std::vector<int64_t>> dims = weightDq ? constantDims(weightDq->input(0)) : std::nullopt;
  if (!dims || (gemm ? dims->size() != 2 : dims->size() < 3)) return BiasSkip::NotQuantized;
  t.node = n;
  t.weightDq = weightDq;
  t.weightDims = *dims;
  t.channels = (*dims)[static_cast<size_t>(outputChannelAxis(*n))];
  t.gemm = gemm;
  t.alpha = gemm ? n->floatAttr("alpha", 1.0f) : 1.0;
  t.beta = gemm ? n->floatAttr("beta", 1.0f) : 1.0;
  if (t.channels <= 0 || t.beta == 0) return BiasSkip::NotQuantized;
  if (gemm) {
    t.inputSum.assign(static_cast<size_t>((*dims)[n->intAttr("transB", 0) == 0 ? 0 : 1]), 0.0);
  } else if (BiasSkip s = planConvGeometry(t); s != BiasSkip::None) {
    return s;
  }
  return n->input(2) ? readExistingBias(t) : planNewBias(t);
}

// The layer of `floatModel` computing the same output with a float32 constant weight of
// the same shape; null when there is none.
const Node* floatLayer(const Model& floatModel, const BiasTarget& t, PassResult& result) {
  const Value* output = floatModel.graph().findValue(t.node->output(0)->name());
  const Node* layer = output ? output->producer() : nullptr;
  if (!layer) {
    result.bump("skipped layers missing from the float model");
    return nullptr;
  }
  const Tensor* weight = constantTensor(layer->input(1));
  if (layer->opType() != t.node->opType() || !weight || weight->dtype() != DataType::Float ||
      weight->dims() != t.weightDims) {
    result.bump("skipped layers without a matching float weight");
    return nullptr;
  }
  return layer;
}

std::vector<BiasTarget> findTargets(const Model& floatModel, Model& quantized, PassResult& result) {
  std::vector<BiasTarget> targets;
  for (Node* n : quantized.graph().nodes()) {
    BiasTarget t;
    switch (planTarget(n, t)) {
      case BiasSkip::NotQuantized: continue;
      case BiasSkip::UnsupportedBias: result.bump("skipped layers with an unsupported bias"); continue;
      case BiasSkip::SharedBias: result.bump("skipped layers with a shared bias"); continue;
      case BiasSkip::NoScales: result.bump("skipped layers without quantization scales"); continue;
      case BiasSkip::Geometry: result.bump("skipped layers with an unsupported geometry"); continue;
      case BiasSkip::None: break;
    }
    t.reference = floatLayer(floatModel, t, result);
    if (t.reference) targets.push_back(std::move(t));
  }
  return targets;
}

// Adds to t.inputSum[c * K + k] the elements of input channel c that kernel offset k
// reads over all output positions (padding reads zeros and adds nothing). Inputs of an
// unexpected type or shape are ignored.
void accumulateConvInput(const runtime::TensorData& x, BiasTarget& t) {
  const size_t spatialRank = t.kernel.size();
  const int64_t K = elementCount(t.kernel), C = static_cast<int64_t>(t.inputSum.size()) / K;
  if (x.dtype() != DataType::Float || x.rank() != static_cast<int64_t>(spatialRank) + 2 || x.dim(1) != C) return;
  const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  Expected<WindowGeometry> g = resolveWindow(t.window, in, t.kernel, t.node->describe());
  const int64_t batch = x.dim(0), inSize = elementCount(in);
  if (!g || batch == 0 || inSize == 0 || elementCount(g->out) == 0) return;
  // read[d][k]: the input indices along spatial axis d that kernel offset k reads.
  std::vector<std::vector<std::vector<int64_t>>> read(spatialRank);
  for (size_t d = 0; d < spatialRank; ++d) {
    read[d].resize(static_cast<size_t>(t.kernel[d]));
    for (int64_t k = 0; k < t.kernel[d]; ++k)
      for (int64_t o = 0; o < g->out[d]; ++o) {
        const int64_t i = o * g->strides[d] + k * g->dilations[d] - g->padBegin[d];
        if (i >= 0 && i < in[d]) read[d][static_cast<size_t>(k)].push_back(i);
      }
  }
  const float* p = x.data<float>();
  std::vector<int64_t> offsets, next;
  for (int64_t k = 0; k < K; ++k) {
    // Flat offsets (within one channel) of every element offset k reads, row-major.
    offsets.assign(1, 0);
    for (size_t d = 0, stride = static_cast<size_t>(K); d < spatialRank; ++d) {
      stride /= static_cast<size_t>(t.kernel[d]);
      const std::vector<int64_t>& along = read[d][static_cast<size_t>(k / static_cast<int64_t>(stride)) %
                                                  static_cast<size_t>(t.kernel[d])];
      next.clear();
      for (int64_t o : offsets)
        for (int64_t i : along) next.push_back(o * in[d] + i);
      offsets.swap(next);
    }
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t c = 0; c < C; ++c) {
        const float* plane = p + (b * C + c) * inSize;
        double s = 0;
        for (int64_t o : offsets) s += plane[o];
        t.inputSum[static_cast<size_t>(c * K + k)] += s;
      }
  }
  t.windows += batch * elementCount(g->out);
}

// Adds each column k of op(A) (A [rows, K], or [K, rows] with transA) to t.inputSum[k].
void accumulateGemmInput(const runtime::TensorData& a, BiasTarget& t) {
  const int64_t K = static_cast<int64_t>(t.inputSum.size());
  const bool transA = t.node->intAttr("transA", 0) != 0;
  if (a.dtype() != DataType::Float || a.rank() != 2 || a.dim(transA ? 0 : 1) != K) return;
  const int64_t rows = a.dim(transA ? 1 : 0);
  const float* p = a.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < K; ++k)
      t.inputSum[static_cast<size_t>(k)] += transA ? p[k * rows + r] : p[r * K + k];
  t.windows += rows;
}

// delta = -(eps applied to the mean input) per output channel (see the header), or
// nullopt when a weight cannot be read.
std::optional<std::vector<double>> weightErrorCorrection(const BiasTarget& t) {
  std::optional<FloatConstant> w = floatConstantInput(*t.reference, 1);
  const std::vector<float> wq = dequantizedValues(*t.weightDq);
  if (!w || wq.empty() || wq.size() != w->values.size()) return std::nullopt;
  auto eps = [&](int64_t i) {
    return static_cast<double>(wq[static_cast<size_t>(i)]) - static_cast<double>(w->values[static_cast<size_t>(i)]);
  };
  auto mean = [&](int64_t i) { return t.inputSum[static_cast<size_t>(i)] / static_cast<double>(t.windows); };
  std::vector<double> delta(static_cast<size_t>(t.channels), 0.0);
  if (t.gemm) {
    const int64_t K = static_cast<int64_t>(t.inputSum.size()), N = t.channels;
    const bool transB = t.node->intAttr("transB", 0) != 0;  // W [N, K], else [K, N]
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += eps(transB ? n * K + k : k * N + n) * mean(k);
      delta[static_cast<size_t>(n)] = -t.alpha * s;
    }
  } else {
    const int64_t perGroupIn = t.weightDims[1], K = elementCount(t.kernel), perGroupOut = t.channels / t.group;
    for (int64_t m = 0; m < t.channels; ++m) {
      const int64_t firstInput = m / perGroupOut * perGroupIn;
      double s = 0;
      for (int64_t j = 0; j < perGroupIn; ++j)
        for (int64_t k = 0; k < K; ++k) s += eps((m * perGroupIn + j) * K + k) * mean((firstInput + j) * K + k);
      delta[static_cast<size_t>(m)] = -s;
    }
  }
  return delta;
}

int32_t saturateInt32(double v) {
  constexpr double lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(std::clamp(v, lo, hi));
}

// round(delta_c / (beta * b_scale[c])) per channel.
std::vector<int32_t> codeShifts(const BiasTarget& t, const std::vector<double>& delta) {
  std::vector<int32_t> shift(static_cast<size_t>(t.channels), 0);
  for (size_t c = 0; c < shift.size(); ++c) {
    const double step = t.beta * t.scale[c];
    if (std::isfinite(delta[c]) && std::isfinite(step) && step != 0)
      shift[c] = saturateInt32(std::nearbyint(delta[c] / step));
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
  std::unordered_map<std::string, std::vector<size_t>> byInput;  // several layers may read one input
  for (size_t i = 0; i < targets.size(); ++i) byInput[targets[i].node->input(0)->name()].push_back(i);

  // The observer runs on the calling thread, one tensor at a time.
  RETURN_IF_ERROR(forEachSample(quantized, data, samples, threads,
                                [&](const std::string& tensor, const runtime::TensorData& value) {
                                  auto it = byInput.find(tensor);
                                  if (it == byInput.end()) return;
                                  for (size_t i : it->second) {
                                    BiasTarget& t = targets[i];
                                    if (t.gemm) accumulateGemmInput(value, t);
                                    else accumulateConvInput(value, t);
                                  }
                                })
                      .withContext("bias correction, quantized model"));

  int64_t corrected = 0;
  for (const BiasTarget& t : targets) {
    if (t.windows == 0) {
      result.bump("skipped layers not measured");
      continue;
    }
    std::optional<std::vector<double>> delta = weightErrorCorrection(t);
    if (!delta) {
      result.bump("skipped layers with an unreadable weight");
      continue;
    }
    const std::vector<int32_t> shift = codeShifts(t, *delta);
    if (std::all_of(shift.begin(), shift.end(), [](int32_t s) { return s == 0; })) continue;
    if (t.codes) shiftExistingCodes(t, shift);
    else addBias(t, shift);
    ++corrected;
  }
  result.bump("biases corrected", corrected);
  return corrected;
}

}  // namespace onnxpress::quant
