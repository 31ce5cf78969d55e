#include "onnxpress/passes/fusion/FuseBatchNorm.h"

#include <cmath>

#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/fusion/FusionUtil.h"

namespace onnxpress {
namespace {
using namespace fusion;

// y = x * scale[c] + shift[c] per channel c: what the BatchNormalization computes.
struct ChannelAffine {
  std::vector<double> scale, shift;
};

std::optional<ChannelAffine> batchNormAffine(const Node* bn) {
  if (bn->numInputs() < 5 || bn->intAttr("training_mode", 0) != 0 || bn->intAttr("spatial", 1) != 1 ||
      bn->intAttr("is_test", 1) == 0)
    return std::nullopt;
  for (size_t i = 1; i < bn->numOutputs(); ++i)
    if (bn->output(i) && bn->output(i)->hasUses()) return std::nullopt;
  std::vector<double> params[4];  // scale, B, mean, var
  for (size_t k = 0; k < 4; ++k) {
    std::optional<Tensor> t = constantValue(bn->input(k + 1));
    std::optional<std::vector<double>> v = t ? doubleValues(*t) : std::nullopt;
    if (!v || v->empty() || (k > 0 && v->size() != params[0].size())) return std::nullopt;
    params[k] = std::move(*v);
  }
  const double epsilon = bn->floatAttr("epsilon", 1e-5f);
  ChannelAffine a;
  for (size_t c = 0; c < params[0].size(); ++c) {
    const double s = params[0][c] / std::sqrt(params[3][c] + epsilon);
    a.scale.push_back(s);
    a.shift.push_back(params[1][c] - params[2][c] * s);
  }
  return a;
}

// The producer's new weight and bias.
struct FusedParameters {
  Tensor weight, bias;
};

struct ConstantFloats {
  DataType dtype;
  std::vector<int64_t> dims;
  std::vector<double> values;
};
std::optional<ConstantFloats> readFloatConstant(const Value* v) {
  std::optional<Tensor> t = v ? constantValue(v) : std::nullopt;
  if (!t || !isFloatType(t->dtype())) return std::nullopt;
  std::optional<std::vector<double>> values = doubleValues(*t);
  if (!values) return std::nullopt;
  return ConstantFloats{t->dtype(), t->dims(), std::move(*values)};
}

// b' = b * s + shift with b the producer's 1-D bias (zero when absent).
std::optional<Tensor> fusedChannelBias(const Node* producer, DataType dtype, const ChannelAffine& a) {
  const size_t channels = a.scale.size();
  std::vector<double> bias(channels, 0.0);
  if (const Value* b = producer->input(2)) {
    std::optional<ConstantFloats> old = readFloatConstant(b);
    if (!old || old->values.size() != channels) return std::nullopt;
    bias = std::move(old->values);
  }
  for (size_t c = 0; c < channels; ++c) bias[c] = bias[c] * a.scale[c] + a.shift[c];
  return makeTensorFromDoubles(dtype, {static_cast<int64_t>(channels)}, bias);
}

std::optional<FusedParameters> fuseIntoConv(const Node* conv, const ChannelAffine& a) {
  std::optional<ConstantFloats> w = readFloatConstant(conv->input(1));
  const int64_t channels = static_cast<int64_t>(a.scale.size());
  if (!w || w->dims.size() < 2 || w->dims[0] != channels) return std::nullopt;
  const int64_t perChannel = elementCount(w->dims) / channels;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < perChannel; ++i) w->values[c * perChannel + i] *= a.scale[c];
  std::optional<Tensor> bias = fusedChannelBias(conv, w->dtype, a);
  if (!bias) return std::nullopt;
  return FusedParameters{makeTensorFromDoubles(w->dtype, w->dims, w->values), std::move(*bias)};
}

std::optional<FusedParameters> fuseIntoConvTranspose(const Node* convT, const ChannelAffine& a) {
  std::optional<ConstantFloats> w = readFloatConstant(convT->input(1));
  const int64_t group = convT->intAttr("group", 1);
  if (!w || w->dims.size() < 2 || group < 1 || w->dims[0] % group != 0) return std::nullopt;
  const int64_t inChannels = w->dims[0], outPerGroup = w->dims[1];
  if (group * outPerGroup != static_cast<int64_t>(a.scale.size())) return std::nullopt;
  const int64_t inPerGroup = inChannels / group;
  const int64_t kernel = elementCount(w->dims) / (inChannels * outPerGroup);
  for (int64_t i = 0; i < inChannels; ++i)
    for (int64_t j = 0; j < outPerGroup; ++j) {
      const double s = a.scale[(i / inPerGroup) * outPerGroup + j];
      double* k = w->values.data() + (i * outPerGroup + j) * kernel;
      for (int64_t e = 0; e < kernel; ++e) k[e] *= s;
    }
  std::optional<Tensor> bias = fusedChannelBias(convT, w->dtype, a);
  if (!bias) return std::nullopt;
  return FusedParameters{makeTensorFromDoubles(w->dtype, w->dims, w->values), std::move(*bias)};
}

std::optional<FusedParameters> fuseIntoGemm(const Node* gemm, const ChannelAffine& a) {
  std::optional<ConstantFloats> w = readFloatConstant(gemm->input(1));
  if (!w || w->dims.size() != 2) return std::nullopt;
  const bool transB = gemm->intAttr("transB", 0) != 0;
  const int64_t n = transB ? w->dims[0] : w->dims[1];
  if (n != static_cast<int64_t>(a.scale.size())) return std::nullopt;
  for (int64_t row = 0; row < w->dims[0]; ++row)
    for (int64_t col = 0; col < w->dims[1]; ++col) w->values[row * w->dims[1] + col] *= a.scale[transB ? row : col];

  // C' = s * (beta * C) + shift, broadcast over the N output features.
  const double beta = gemm->floatAttr("beta", 1.0f);
  std::vector<int64_t> cDims;
  std::vector<double> c{0.0};
  if (const Value* cValue = gemm->input(2)) {
    std::optional<ConstantFloats> old = readFloatConstant(cValue);
    if (!old || old->dims.size() > 2) return std::nullopt;
    cDims = old->dims;
    c = std::move(old->values);
  }
  const int64_t cCols = cDims.empty() ? 1 : cDims.back();
  const int64_t rows = cDims.size() == 2 ? cDims[0] : 1;
  if (cCols != 1 && cCols != n) return std::nullopt;
  std::vector<double> fused(static_cast<size_t>(rows * n));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t col = 0; col < n; ++col)
      fused[r * n + col] = a.scale[col] * beta * c[r * cCols + (cCols == 1 ? 0 : col)] + a.shift[col];
  std::vector<int64_t> fusedDims = rows == 1 ? std::vector<int64_t>{n} : std::vector<int64_t>{rows, n};
  return FusedParameters{makeTensorFromDoubles(w->dtype, w->dims, w->values),
                         makeTensorFromDoubles(w->dtype, fusedDims, fused)};
}

bool fuseBatchNorm(Node* bn, int64_t opset) {
  if (!isOp(bn, "BatchNormalization") || !bn->input(0)) return false;
  Value* produced = bn->input(0);
  Node* producer = produced->producer();
  if (!producer || producer->output(0) != produced || onlyUser(produced) != bn) return false;
  const bool isGemm = isOp(producer, "Gemm");
  if (!isOp(producer, "Conv") && !isOp(producer, "ConvTranspose") && !(isGemm && opset >= 7)) return false;

  std::optional<ChannelAffine> affine = batchNormAffine(bn);
  if (!affine) return false;
  std::optional<FusedParameters> fused = isGemm                          ? fuseIntoGemm(producer, *affine)
                                         : isOp(producer, "Conv")         ? fuseIntoConv(producer, *affine)
                                                                          : fuseIntoConvTranspose(producer, *affine);
  if (!fused) return false;

  Value* weight = producer->input(1);
  std::vector<Value*> replacedConstants{weight, producer->input(2)};
  for (size_t i = 1; i < bn->numInputs(); ++i) replacedConstants.push_back(bn->input(i));
  Value* normalized = bn->output(0);
  if (normalized->type().isTensor()) copyType(normalized, produced);
  if (!replaceValue(normalized, produced)) return false;  // bn is destroyed from here on

  Graph& g = *producer->graph();
  const std::string biasBase = producer->input(2) ? producer->input(2)->name() : weight->name() + "_bias";
  producer->setInput(1, addInitializer(g, weight->name() + "_bn", std::move(fused->weight)));
  Value* bias = addInitializer(g, biasBase + "_bn", std::move(fused->bias));
  if (producer->numInputs() > 2) producer->setInput(2, bias);
  else producer->addInput(bias);
  if (isGemm) producer->removeAttribute("beta");  // folded into C'
  releaseIfUnused(replacedConstants);
  return true;
}

}  // namespace

Expected<PassResult> FuseBatchNormPass::run(Model& model, PassContext&) {
  PassResult result;
  const int64_t opset = model.opsetVersion();
  forEachFusionSweep(model, [&](Node* n) {
    if (!fuseBatchNorm(n, opset)) return false;
    result.bump("BatchNormalization fused");
    return true;
  });
  return result;
}

}  // namespace onnxpress
