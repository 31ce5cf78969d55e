#include "onnxpress/passes/conversion/ConvertOpset.h"

#include <onnx/defs/schema.h>
#include <onnx/version_converter/convert.h>

#include "onnxpress/io/Proto.h"

namespace onnxpress {
namespace {

constexpr int64_t kLowestTarget = 7;

int64_t highestKnownOpset() {
  const auto& map = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = map.find("");
  return it != map.end() ? it->second.second : 17;
}

}  // namespace

Status ConvertOpsetOptions::validate() const {
  if (target < kLowestTarget || target > highestKnownOpset())
    return usageError("target {} is outside what the linked onnx converter reaches ({} to {})", target,
                      kLowestTarget, highestKnownOpset());
  return Status::ok();
}

int64_t minimumIrVersionForOpset(int64_t opset) {
  // https://onnx.ai/onnx/repo-docs/Versioning.html: released IR version per opset.
  if (opset <= 8) return 3;
  if (opset == 9) return 4;
  if (opset == 10) return 5;
  if (opset == 11) return 6;
  if (opset <= 13) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

Expected<PassResult> ConvertOpsetPass::run(Model& model, PassContext&) {
  PassResult result;
  const int64_t current = model.opsetVersion("");
  if (current == options_.target) return result;
  if (current == 0) return invalidInput("the model imports no ai.onnx opset to convert from");
  if (current > highestKnownOpset())
    return invalidInput("the model's opset {} is newer than the linked onnx converter knows ({})", current,
                        highestKnownOpset());
  ASSIGN_OR_RETURN(onnx::ModelProto proto, modelToProto(model));
  onnx::ModelProto converted;
  try {
    converted = onnx::version_conversion::ConvertVersion(proto, static_cast<int>(options_.target));
  } catch (const std::exception& e) {
    std::string what = e.what();
    // onnx asserts read "file:line: function: Assertion `false` failed: REASON"; keep REASON.
    if (size_t failed = what.find("failed: "); failed != std::string::npos) what = what.substr(failed + 8);
    for (char& c : what)
      if (c == '\n') c = ' ';
    return invalidInput("cannot convert opset {} to {}: {}", current, options_.target, what);
  }
  if (converted.ir_version() < minimumIrVersionForOpset(options_.target))
    converted.set_ir_version(minimumIrVersionForOpset(options_.target));
  const std::string directory = model.sourceDirectory;
  ASSIGN_OR_RETURN(Model fresh, modelFromProto(converted, directory, "converted model"));
  fresh.sourceDirectory = directory;
  model = std::move(fresh);
  result.bump("opset from", current);
  result.bump("opset to", options_.target);
  return result;
}

}  // namespace onnxpress
