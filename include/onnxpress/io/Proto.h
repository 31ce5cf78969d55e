// Conversion between onnx::ModelProto and the IR, for io/ and for tests that
// compare protos. Passes never include this header.
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <string>

#include "onnxpress/ir/Model.h"
#include "onnxpress/support/Status.h"

namespace onnxpress {

/// Parses a serialized ModelProto from `path` (files up to protobuf's 2 GB limit).
Expected<onnx::ModelProto> readModelProto(const std::string& path);

/// Converts `proto` to the IR. Raw tensor bytes are moved out of `proto`.
/// `sourceDirectory` resolves external data; `fileLabel` prefixes error messages.
Expected<Model> modelFromProto(onnx::ModelProto& proto, const std::string& sourceDirectory,
                               const std::string& fileLabel);

/// Decides where a tensor's bytes go on export: return true after filling the
/// proto's external_data fields, or false to keep the tensor inline.
using ExternalTensorWriter = std::function<Expected<bool>(const Tensor&, onnx::TensorProto&)>;

/// The IR form of a TypeProto (used by shape inference to read onnx's results).
Type typeFromProto(const onnx::TypeProto& proto);
/// Converts the IR to a ModelProto. Tensors keep their original encoding.
Expected<onnx::ModelProto> modelToProto(const Model& model, const ExternalTensorWriter& external = {});

}  // namespace onnxpress
