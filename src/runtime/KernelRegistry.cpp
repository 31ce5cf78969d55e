#include <string>

#include "kernels/Families.h"

namespace onnxpress::runtime {

const std::vector<KernelEntry>& registeredKernels() {
  static const std::vector<KernelEntry> table = [] {
    std::vector<KernelEntry> all;
    for (auto family : {unaryKernels, binaryKernels, elementwiseKernels, reduceKernels, reshapeKernels, generateKernels,
                        transposeKernels, padKernels, gatherKernels, resizeKernels, convKernels, poolKernels, normKernels,
                        matmulKernels, rnnKernels, controlFlowKernels, quantizeLinearKernels, quantizedConvKernels,
                        quantizedMatMulKernels, quantContribKernels, quantizedRnnKernels, lossKernels, miscKernels,
                        signalKernels, detectionKernels}) {
      auto rows = family();
      all.insert(all.end(), rows.begin(), rows.end());
    }
    return all;
  }();
  return table;
}

const KernelEntry* findKernel(const std::string& domain, const std::string& opType) {
  for (const auto& k : registeredKernels())
    if (domain == k.domain && opType == k.opType) return &k;
  return nullptr;
}

}  // namespace onnxpress::runtime
