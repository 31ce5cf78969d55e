// Model: the top of the IR. Everything in an ONNX ModelProto that onnxpress does
// not interpret (training_info, fields newer than the linked protobuf schema) is
// kept as opaque serialized bytes and written back unchanged.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "onnxpress/ir/Graph.h"

namespace onnxpress {

struct OpsetImport {
  std::string domain;  // "" is ai.onnx
  int64_t version = 0;
};

using StringPairs = std::vector<std::pair<std::string, std::string>>;

/// A model-local function (FunctionProto). Its body is a Graph whose inputs and
/// outputs are untyped, as in the proto.
struct Function {
  std::string name, domain, docString;
  std::vector<std::string> attributeNames;
  std::vector<OpsetImport> opsetImports;
  std::unique_ptr<Graph> body;
  std::string unknownFields;
};

class Model {
 public:
  Model() : graph_(std::make_unique<Graph>()) {}
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  Model(Model&&) = default;
  Model& operator=(Model&&) = default;

  int64_t irVersion = 0;
  std::string producerName, producerVersion, domain, docString;
  int64_t modelVersion = 0;
  std::vector<OpsetImport> opsetImports;
  StringPairs metadataProps;
  std::vector<Function> functions;
  std::vector<std::string> trainingInfo;  // serialized TrainingInfoProto, opaque
  std::string unknownFields;
  /// Directory of the file the model was read from (external data is relative to it).
  std::string sourceDirectory;

  Graph& graph() { return *graph_; }
  const Graph& graph() const { return *graph_; }
  void setGraph(std::unique_ptr<Graph> g) { graph_ = std::move(g); }

  /// Imported version of `domain` ("" and "ai.onnx" are the same), or 0.
  int64_t opsetVersion(const std::string& domain = "") const;
  Model clone() const;

 private:
  std::unique_ptr<Graph> graph_;
};

}  // namespace onnxpress
