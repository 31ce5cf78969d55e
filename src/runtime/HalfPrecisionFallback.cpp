#include "HalfPrecisionFallback.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "kernels/KernelUtil.h"
#include "onnxpress/ir/GraphUtil.h"

namespace onnxpress::runtime {
namespace {

constexpr std::string_view kTypeAgnosticOps[] = {
    "Identity", "Reshape", "Flatten", "Squeeze",        "Unsqueeze", "Transpose",    "Expand",
    "Tile",     "Concat",  "Split",   "Slice",          "Gather",    "GatherElements", "GatherND",
    "DepthToSpace", "SpaceToDepth", "Shape", "Size",    "Cast",      "CastLike",     "ConstantOfShape",
    "Where",    "If",      "Loop",    "Scan"};

bool isTypeAgnostic(const Node& node) {
  if (!isDefaultDomain(node)) return false;
  return std::find(std::begin(kTypeAgnosticOps), std::end(kTypeAgnosticOps), node.opType()) !=
         std::end(kTypeAgnosticOps);
}

bool is16Bit(DataType t) { return t == DataType::Float16 || t == DataType::BFloat16; }

template <typename From, typename To>
TensorData convertElements(const TensorData& x, DataType to, int threads) {
  TensorData out = TensorData::allocate(to, x.shape());
  const From* src = x.data<From>();
  To* dst = out.data<To>();
  parallelFor(x.numElements(), threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dst[i] = static_cast<To>(static_cast<float>(src[i]));
  });
  return out;
}

TensorData widen(const TensorData& x, int threads) {
  return x.dtype() == DataType::Float16 ? convertElements<half, float>(x, DataType::Float, threads)
                                        : convertElements<bfloat16, float>(x, DataType::Float, threads);
}

TensorData narrow(const TensorData& x, DataType to, int threads) {
  return to == DataType::Float16 ? convertElements<float, half>(x, to, threads)
                                 : convertElements<float, bfloat16>(x, to, threads);
}

// Widens the 16-bit inputs, runs `kernel`, rounds its float32 outputs back to `half`.
Status runInFloat(KernelContext& ctx, const KernelFn& kernel, DataType half, const std::vector<bool>& declaredFloat) {
  const std::vector<const TensorData*> original = ctx.inputs;
  std::vector<TensorData> widened;
  widened.reserve(ctx.inputs.size());  // pointers into it stay valid
  for (const TensorData*& in : ctx.inputs)
    if (in && is16Bit(in->dtype())) {
      widened.push_back(widen(*in, ctx.threads));
      in = &widened.back();
    }
  Status status = kernel(ctx);
  ctx.inputs = original;
  RETURN_IF_ERROR(status);
  for (size_t j = 0; j < ctx.outputs.size(); ++j)
    if (ctx.outputs[j].dtype() == DataType::Float && !(j < declaredFloat.size() && declaredFloat[j]))
      ctx.outputs[j] = narrow(ctx.outputs[j], half, ctx.threads);
  return Status::ok();
}

}  // namespace

TensorData convertFloatElements(const TensorData& x, DataType to, int threads) {
  if (x.dtype() == to) return x;
  const TensorData wide = is16Bit(x.dtype()) ? widen(x, threads) : x;
  return to == DataType::Float ? wide : narrow(wide, to, threads);
}

KernelFn withHalfPrecisionFallback(const Node& node, KernelFn kernel) {
  if (isTypeAgnostic(node)) return kernel;
  std::vector<bool> declaredFloat(node.numOutputs(), false);
  for (size_t j = 0; j < node.numOutputs(); ++j) {
    const Value* out = node.output(j);
    declaredFloat[j] = out && out->type().isTensor() && out->type().elemType == DataType::Float;
  }
  return [kernel = std::move(kernel), declaredFloat = std::move(declaredFloat)](KernelContext& ctx) -> Status {
    for (const TensorData* in : ctx.inputs)
      if (in && is16Bit(in->dtype())) return runInFloat(ctx, kernel, in->dtype(), declaredFloat);
    return kernel(ctx);
  };
}

}  // namespace onnxpress::runtime
