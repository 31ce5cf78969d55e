// What `inspect` reports: interface, parameters by dtype, op histogram.
//
// Parameters are every constant tensor in the model: initializers (dense and
// sparse), Constant nodes (value, value_float(s), value_int(s), ...) and both
// kinds inside If/Loop/Scan bodies at any depth. Each tensor is one Value, so a
// weight read by many nodes counts once. Sparse initializers count their dense
// element count. Strings count one element each and their byte length.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "onnxpress/ir/Model.h"

namespace onnxpress {

struct TensorSlot {
  std::string name;
  std::string dtype;              // "float32", or the kind for non-tensors ("seq(...)")
  std::vector<std::string> dims;  // "1", "batch", "?"; empty with hasShape=false
  bool hasShape = false;
  bool isTensor = false;          // tensor or sparse tensor (others have no shape)
};

struct DtypeTotals {
  int64_t tensors = 0;
  int64_t elements = 0;
  int64_t bytes = 0;
};

struct ModelSummary {
  int64_t irVersion = 0;
  std::string producerName, producerVersion;
  std::vector<OpsetImport> opsets;
  std::vector<TensorSlot> inputs, outputs;

  int64_t parameterCount = 0;
  int64_t parameterBytes = 0;
  int64_t nonzeroParameterCount = 0;  // elements whose stored value is not zero
  std::map<std::string, DtypeTotals> parametersByDtype;
  int64_t initializerTensors = 0;
  int64_t constantNodeTensors = 0;
  int64_t subgraphConstantTensors = 0;  // of the two above, how many sit inside subgraphs

  int64_t nodeCount = 0;          // main graph
  int64_t subgraphNodeCount = 0;  // all nested subgraphs together
  int64_t subgraphCount = 0;
  int64_t functionCount = 0;
  std::map<std::string, int64_t> opHistogram;          // main graph, "domain::Op" for custom domains
  std::map<std::string, int64_t> subgraphOpHistogram;  // nodes inside subgraphs
  std::vector<std::string> externalDataFiles;
};

ModelSummary summarizeModel(const Model& model);
/// Elements whose stored bits are not all zero (4-bit types per nibble; strings: non-empty).
int64_t nonzeroElements(const Tensor& t);

/// Qualified op name: "Conv", or "com.microsoft::MatMulNBits" outside ai.onnx.
std::string qualifiedOpType(const Node& node);

}  // namespace onnxpress
