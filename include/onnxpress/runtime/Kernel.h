// Kernels: one per op, each a separate unit so that a backward kernel can later
// sit beside it. A factory runs once per node when the Executor is prepared: it
// reads and checks the attributes, and returns the function that computes the
// node. Unsupported attribute values fail there, before any work starts.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "onnxpress/ir/Model.h"
#include "onnxpress/runtime/TensorData.h"
#include "onnxpress/support/Status.h"

namespace onnxpress::runtime {

class Frame;
class Executor;
struct ExecutorOptions;

/// What a kernel sees when it runs.
struct KernelContext {
  const Node& node;
  std::vector<const TensorData*> inputs;  // null for an omitted optional input
  std::vector<TensorData> outputs;        // one per node output; the kernel fills them
  const Frame* frame = nullptr;           // values of the running graph (for subgraphs)
  int threads = 1;

  size_t numInputs() const { return inputs.size(); }
  bool hasInput(size_t i) const { return i < inputs.size() && inputs[i] != nullptr && !inputs[i]->empty(); }
  const TensorData& input(size_t i) const { return *inputs[i]; }
  /// "Conv 'conv1'": for error messages.
  std::string where() const { return node.describe(); }
};

using KernelFn = std::function<Status(KernelContext&)>;

/// What a factory sees when the Executor prepares a node.
struct KernelBuildContext {
  const Node& node;
  int64_t opset;                          // version of the node's domain
  const std::vector<OpsetImport>* opsets; // all of the model's imports (for subgraphs)
  const ExecutorOptions* options;
};

using KernelFactory = Expected<KernelFn> (*)(const KernelBuildContext&);

struct KernelEntry {
  const char* domain;  // "" for ai.onnx
  const char* opType;
  KernelFactory factory;
};

/// The kernel table: the rows of every kernel family (declared in src/runtime/kernels/Families.h,
/// one function per family file), concatenated by src/runtime/KernelRegistry.cpp.
const std::vector<KernelEntry>& registeredKernels();
const KernelEntry* findKernel(const std::string& domain, const std::string& opType);

}  // namespace onnxpress::runtime
