#include "onnxpress/passes/training/QuantizationAwareTraining.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "onnxpress/data/Dataset.h"
#include "onnxpress/io/ModelIO.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/runtime/TensorData.h"

namespace onnxpress {
namespace {

bool isQuantOp(const Node& node, const char* op) { return isDefaultDomain(node) && node.opType() == op; }

// Element i's scale index for a scale of `count` elements on `axis` of `dims`.
struct ChannelOf {
  int64_t inner = 1, count = 1;
  int64_t operator()(int64_t i) const { return count == 1 ? 0 : (i / inner) % count; }
};

ChannelOf channelOf(const Node& dq, const std::vector<int64_t>& dims, int64_t scaleCount) {
  if (scaleCount == 1) return {};
  int64_t axis = dq.intAttr("axis", 1);
  if (axis < 0) axis += static_cast<int64_t>(dims.size());
  return {elementCount(dims, static_cast<size_t>(axis) + 1, dims.size()), scaleCount};
}

bool isTrainableWeightType(DataType t) {
  return t == DataType::Int8 || t == DataType::UInt8 || t == DataType::Int4 || t == DataType::UInt4;
}

// The zero points of a Q/DQ node (0 without any), per channel or per tensor.
struct ZeroPoints {
  runtime::TensorData values;
  explicit ZeroPoints(const Value* v) {
    if (v) values = runtime::TensorData::view(*v->initializer());
  }
  double at(int64_t channel) const {
    return values.empty() ? 0 : values.doubleAt(values.numElements() == 1 ? 0 : channel);
  }
};

void setElement(Tensor& t, int64_t i, double v) {
  auto bytes = t.mutableBytes();
  const int value = static_cast<int>(v);
  if (t.dtype() == DataType::Int8 || t.dtype() == DataType::UInt8) {
    bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(value);
    return;
  }
  uint8_t& byte = bytes[static_cast<size_t>(i / 2)];
  const int shift = i % 2 ? 4 : 0;
  byte = static_cast<uint8_t>((byte & ~(0xF << shift)) | ((value & 0xF) << shift));
}

// One weight turned float for training: the original int initializer, and what replaced it.
struct Unfolded {
  Node* dequantize;
  Value* integerWeight;
  Node* quantize;
  Value* floatWeight;
  Value* addedZeroPoint;  // created when the weight had none (Q's default type is uint8)
};

// DequantizeLinear(W_q initializer, scale initializer[, zero point initializer]): W_q
// becomes a float initializer followed by QuantizeLinear with the same parameters.
std::optional<Unfolded> unfold(Graph& graph, Node* dq) {
  Value* weight = dq->input(0);
  if (!weight || !weight->initializer() || weight->uses().size() != 1 || weight->isGraphInput()) return std::nullopt;
  const Tensor& q = *weight->initializer();
  if (!isTrainableWeightType(q.dtype())) return std::nullopt;
  const Value* scaleValue = dq->input(1);
  if (!scaleValue || !scaleValue->initializer() || scaleValue->initializer()->dtype() != DataType::Float) return std::nullopt;
  if (dq->intAttr("block_size", 0) != 0) return std::nullopt;
  Value* zeroValue = dq->input(2);
  if (zeroValue && !zeroValue->initializer()) return std::nullopt;
  const Tensor& scale = *scaleValue->initializer();
  const ChannelOf channel = channelOf(*dq, q.dims(), scale.numElements());
  const runtime::TensorData integers = runtime::TensorData::view(q);
  const ZeroPoints zeros(zeroValue);
  std::vector<float> values(static_cast<size_t>(q.numElements()));
  for (int64_t i = 0; i < q.numElements(); ++i) {
    const int64_t c = channel(i);
    values[static_cast<size_t>(i)] =
        static_cast<float>((integers.doubleAt(i) - zeros.at(c)) * scale.data<float>()[static_cast<size_t>(c)]);
  }
  Unfolded u{dq, weight, nullptr, nullptr, nullptr};
  Tensor floatWeight = Tensor::fromValues(DataType::Float, q.dims(), values);
  floatWeight.setName(graph.uniqueName(weight->name() + "_qat"));
  u.floatWeight = graph.addInitializer(std::move(floatWeight));
  if (!zeroValue) {  // Q without a zero point writes uint8; an int8 weight needs an explicit 0
    Tensor z(q.dtype(), scale.dims());  // zero-filled
    z.setName(graph.uniqueName(weight->name() + "_qat_zero_point"));
    u.addedZeroPoint = graph.addInitializer(std::move(z));
    zeroValue = u.addedZeroPoint;
  }
  u.quantize = graph.createNode("QuantizeLinear", {u.floatWeight, const_cast<Value*>(scaleValue), zeroValue}, 1, dq);
  if (const Attribute* axis = dq->attribute("axis")) u.quantize->setAttribute(axis->clone(&graph));
  u.quantize->setName(dq->name() + "_qat");
  Value* out = u.quantize->output(0);
  graph.rename(out, graph.uniqueName(weight->name() + "_qat_quantized"));
  out->setType(weight->type());
  dq->setInput(0, out);
  return u;
}

// Back to DequantizeLinear(W_q') with W_q' = clamp(round(W / s') + z).
void fold(Graph& graph, const Unfolded& u) {
  const Tensor& w = *u.floatWeight->initializer();
  const Value* zeroValue = u.quantize->input(2);
  const Tensor& scale = *u.quantize->input(1)->initializer();
  Tensor& q = *u.integerWeight->initializer();
  const ChannelOf channel = channelOf(*u.dequantize, q.dims(), scale.numElements());
  int64_t lo = 0, hi = 0;
  integerRange(q.dtype(), lo, hi);
  const ZeroPoints zeros(zeroValue);
  for (int64_t i = 0; i < q.numElements(); ++i) {
    const int64_t c = channel(i);
    const double v = std::nearbyint(w.data<float>()[static_cast<size_t>(i)] / scale.data<float>()[static_cast<size_t>(c)]) +
                     zeros.at(c);
    setElement(q, i, std::clamp(v, static_cast<double>(lo), static_cast<double>(hi)));
  }
  u.dequantize->setInput(0, u.integerWeight);
  graph.destroyNode(u.quantize);
  graph.removeInitializer(u.floatWeight);
  if (u.addedZeroPoint) graph.removeInitializer(u.addedZeroPoint);
}

// The scale initializer of a DequantizeLinear producing `v`, or null.
const Tensor* dequantizeScale(const Value* v) {
  const Node* dq = v ? v->producer() : nullptr;
  if (!dq || !isQuantOp(*dq, "DequantizeLinear") || !dq->input(1)) return nullptr;
  return dq->input(1)->initializer();
}

// An int32 bias of Conv/Gemm, trained in float and requantized at s_x·s_w afterwards.
struct UnfoldedBias {
  Node* consumer;
  Node* dequantize;
  Value* floatBias;
};

// Conv/Gemm(DQ(x), DQ(w), DQ(b_q int32, s_b)): input 2 becomes the float b = s_b·b_q.
std::optional<UnfoldedBias> unfoldBias(Graph& graph, Node* node) {
  if (!isDefaultDomain(*node) || (node->opType() != "Conv" && node->opType() != "Gemm") || !node->input(2)) return std::nullopt;
  Node* dq = node->input(2)->producer();
  if (!dq || !isQuantOp(*dq, "DequantizeLinear") || node->input(2)->uses().size() != 1) return std::nullopt;
  const Value* biasValue = dq->input(0);
  const Tensor* scale = dequantizeScale(node->input(2));
  const Tensor* xScale = dequantizeScale(node->input(0));
  const Tensor* wScale = dequantizeScale(node->input(1));
  if (!biasValue || !biasValue->initializer() || biasValue->initializer()->dtype() != DataType::Int32 || !scale || !xScale ||
      !wScale || scale->dtype() != DataType::Float || xScale->numElements() != 1)
    return std::nullopt;
  if (const Value* z = dq->input(2))
    if (!z->initializer() || std::any_of(z->initializer()->data<int32_t>().begin(), z->initializer()->data<int32_t>().end(),
                                         [](int32_t v) { return v != 0; }))
      return std::nullopt;
  const Tensor& bias = *biasValue->initializer();
  const int64_t n = bias.numElements();
  // The requantized bias needs one scale per element where the weight has one per channel.
  if ((scale->numElements() != 1 && scale->numElements() != n) || (wScale->numElements() != 1 && wScale->numElements() != n) ||
      (scale->numElements() == 1 && wScale->numElements() != 1))
    return std::nullopt;
  std::vector<float> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    values[static_cast<size_t>(i)] = static_cast<float>(bias.data<int32_t>()[static_cast<size_t>(i)]) *
                                     scale->data<float>()[scale->numElements() == 1 ? 0 : static_cast<size_t>(i)];
  Tensor floatBias = Tensor::fromValues(DataType::Float, bias.dims(), values);
  floatBias.setName(graph.uniqueName(biasValue->name() + "_qat"));
  UnfoldedBias u{node, dq, graph.addInitializer(std::move(floatBias))};
  node->setInput(2, u.floatBias);
  return u;
}

// b_q' = round(b / (s_x'·s_w')), s_b' = s_x'·s_w', and Conv/Gemm reads DQ(b_q') again.
void foldBias(Graph& graph, const UnfoldedBias& u) {
  u.consumer->setInput(2, u.dequantize->output(0));
  const float xScale = dequantizeScale(u.consumer->input(0))->data<float>()[0];
  const Tensor& wScale = *dequantizeScale(u.consumer->input(1));
  Tensor& scale = *const_cast<Value*>(u.dequantize->input(1))->initializer();
  Tensor& bias = *const_cast<Value*>(u.dequantize->input(0))->initializer();
  const float* b = u.floatBias->initializer()->data<float>().data();
  for (int64_t i = 0; i < bias.numElements(); ++i) {
    const size_t c = scale.numElements() == 1 ? 0 : static_cast<size_t>(i);
    const float s = xScale * wScale.data<float>()[wScale.numElements() == 1 ? 0 : c];
    scale.mutableData<float>()[c] = s;
    bias.mutableData<int32_t>()[static_cast<size_t>(i)] =
        static_cast<int32_t>(std::clamp(std::nearbyint(static_cast<double>(b[i]) / s), -2147483648.0, 2147483647.0));
  }
  graph.removeInitializer(u.floatBias);
}

}  // namespace

Expected<PassResult> QuantizationAwareTrainingPass::run(Model& model, PassContext& context) {
  if (!context.trainingData) return usageError("qat needs training data: give --train-data DATA");
  std::optional<Model> loaded;
  ASSIGN_OR_RETURN(const Model* teacher, options_.teacherModel(context, loaded, kName));
  Graph& graph = model.graph();
  std::vector<Unfolded> unfolded;
  std::vector<UnfoldedBias> biases;
  for (Node* node : graph.nodeList()) {
    if (isQuantOp(*node, "DequantizeLinear"))
      if (auto u = unfold(graph, node)) unfolded.push_back(*u);
    if (auto b = unfoldBias(graph, node)) biases.push_back(*b);
  }
  if (unfolded.empty())
    return invalidInput("qat: no 8- or 4-bit weight behind a DequantizeLinear: run quantize{{format=qdq}} first");

  train::TrainOptions t = options_.distillOptions(context.threads, "qat");
  if (options_.lr == 0) t.optimizer.learningRate = options_.optimizer == "sgd" ? 1e-3 : 1e-4;
  t.sparseFraction = 0.4;  // int8 rounds small weights to 0: only pruned tensors count as sparse
  auto summary = train::trainModel(model, teacher, *context.trainingData, t);
  for (const Unfolded& u : unfolded) fold(graph, u);  // also after a failure: the model stays QDQ
  for (const UnfoldedBias& b : biases) foldBias(graph, b);
  if (!summary) return summary.status();

  auto record = std::make_shared<TrainingRecord>();
  record->pass = std::string(kName);
  record->loss = "fake-quantized; ";
  options_.describe(*record, context.trainingData->hasLabels());
  record->summary = *summary;
  PassResult result = emitTrainingRecord(context, record);
  result.bump("weights fake-quantized", static_cast<int64_t>(unfolded.size()));
  result.bump("biases trained and requantized", static_cast<int64_t>(biases.size()));
  return result;
}

}  // namespace onnxpress
