#include "onnxpress/report/EnergyEstimate.h"

#include "onnxpress/analysis/Macs.h"
#include "onnxpress/analysis/ModelSummary.h"
#include "onnxpress/ir/GraphUtil.h"

namespace onnxpress {
namespace {

MacClass macClassOf(DataType type) {
  switch (type) {
    case DataType::Float16:
    case DataType::BFloat16:
      return MacClass::Fp16;
    case DataType::Int8:
    case DataType::UInt8:
    case DataType::Int4:
    case DataType::UInt4:
      return MacClass::Int8;
    case DataType::Int16:
    case DataType::UInt16:
    case DataType::Int32:
    case DataType::UInt32:
    case DataType::Int64:
    case DataType::UInt64:
      return MacClass::Int32;
    default:
      return MacClass::Fp32;
  }
}

/// A DequantizeLinear whose quantized input is a constant: in QDQ form, a weight.
bool isWeightDequantize(const Node* node) {
  return node && node->opType() == "DequantizeLinear" && node->domain().empty() && isConstant(node->input(0));
}

/// The constant tensor that stands behind `v` as a weight, directly or through a
/// DequantizeLinear; null when `v` is an activation.
const Value* weightSource(const Value* v) {
  if (!v) return nullptr;
  if (isConstant(v)) return v;
  if (isWeightDequantize(v->producer())) return v->producer()->input(0);
  return nullptr;
}

int64_t staticBytes(const Value* v) {
  auto count = v->type().staticElementCount();
  return count ? static_cast<int64_t>(dataTypeStorageBytes(v->type().elemType, *count)) : -1;
}

/// Class of a MAC-carrying node: the dtype of its largest weight, else of its first input.
MacClass nodeMacClass(const Node& node) {
  const Value* largest = nullptr;
  int64_t largestElements = -1;
  for (const Value* in : node.inputs()) {
    const Value* w = weightSource(in);
    if (!w) continue;
    const Tensor* t = constantTensor(w);
    const int64_t elements = t ? t->numElements() : w->type().staticElementCount().value_or(0);
    if (elements > largestElements) largest = w, largestElements = elements;
  }
  return macClassOf(elementType(largest ? largest : node.input(0)));
}

}  // namespace

std::string_view macClassName(MacClass c) {
  static constexpr std::string_view kNames[] = {"fp32", "fp16", "int32", "int8"};
  return kNames[static_cast<size_t>(c)];
}

int64_t EnergyEstimate::totalMacs() const {
  int64_t total = 0;
  for (int64_t m : counts.macs) total += m;
  return total;
}

EnergyEstimate estimateEnergy(const EnergyCounts& counts) {
  EnergyEstimate e;
  e.counts = counts;
  for (size_t c = 0; c < kMacClasses; ++c)
    e.computePj += static_cast<double>(counts.macs[c]) * (kOperationEnergy[c].multPj + kOperationEnergy[c].addPj);
  e.weightPj = static_cast<double>(counts.weightBytes) * kDramRead32Pj / 4.0;
  e.activationPj = static_cast<double>(counts.activationBytes) * kSramRead32Pj / 4.0;
  return e;
}

EnergyCounts countEnergyEvents(const Model& model) {
  EnergyCounts counts;
  counts.weightBytes = summarizeModel(model).parameterBytes;
  model.graph().forEachGraph([&](const Graph& g) {
    for (const Node* node : g.nodes()) {
      if (node->opType() == "Constant" || isWeightDequantize(node)) continue;  // part of a weight
      bool unknown = false;
      auto addBytes = [&](const Value* v) {
        const int64_t bytes = staticBytes(v);
        if (bytes < 0) unknown = true;
        else counts.activationBytes += bytes;
      };
      for (const Value* in : node->inputs())
        if (in && !weightSource(in)) addBytes(in);
      for (const Value* out : node->outputs())
        if (out) addBytes(out);
      const auto macs = nodeMacs(*node);
      if (!macs) unknown = true;
      else if (*macs > 0) counts.macs[static_cast<size_t>(nodeMacClass(*node))] += *macs;
      if (unknown) ++counts.unknownNodes;
    }
  });
  return counts;
}

}  // namespace onnxpress
