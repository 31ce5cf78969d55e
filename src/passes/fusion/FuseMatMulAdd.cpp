#include "onnxpress/passes/fusion/FuseMatMulAdd.h"

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/fusion/FusionUtil.h"

namespace onnxpress {
namespace {
using namespace fusion;

bool gemmSupports(DataType t, int64_t opset) {
  if (t == DataType::BFloat16) return opset >= 13;
  return (t == DataType::Float || t == DataType::Double || t == DataType::Float16) && opset >= 7;
}

// Whether a bias of shape `c` broadcasts onto the [m, n] product without changing its shape.
bool biasFits(const std::vector<int64_t>& c, const Dim& m, int64_t n) {
  if (c.size() > 2) return false;
  if (!c.empty() && c.back() != 1 && c.back() != n) return false;
  if (c.size() == 2 && c[0] != 1 && !(m.isFixed() && m.value == c[0])) return false;
  return true;
}

bool fuseMatMulAdd(Node* add, int64_t opset) {
  if (!isOp(add, "Add") || add->numInputs() != 2) return false;
  for (size_t side = 0; side < 2; ++side) {
    Value* product = add->input(side);
    Value* bias = add->input(1 - side);
    Node* matmul = producerOp(product, "MatMul");
    if (!matmul || onlyUser(product) != add || !isConstant(bias)) continue;
    Value* a = matmul->input(0);
    Value* b = matmul->input(1);
    if (!a || !b || knownRank(a) != 2) continue;
    const Dim m = a->type().hasShape ? a->type().dims[0] : Dim::fixed(constantDims(a)->at(0));
    std::optional<std::vector<int64_t>> bDims = constantDims(b);
    std::optional<std::vector<int64_t>> cDims = constantDims(bias);
    if (!bDims || bDims->size() != 2 || !cDims || !biasFits(*cDims, m, (*bDims)[1])) continue;
    const Tensor* bTensor = constantTensor(b);
    const DataType dtype = bTensor ? bTensor->dtype() : constantValue(b)->dtype();
    if (!gemmSupports(dtype, opset)) continue;

    Node* gemm = add->graph()->createNode("Gemm", {a, b, bias}, 1, add);
    gemm->setName(matmul->name());
    copyType(add->output(0), gemm->output(0));
    if (!replaceValue(add->output(0), gemm->output(0))) {
      add->graph()->destroyNode(gemm);
      return false;
    }
    eraseIfDead({matmul});
    return true;
  }
  return false;
}

}  // namespace

Expected<PassResult> FuseMatMulAddPass::run(Model& model, PassContext&) {
  PassResult result;
  (void)inferShapes(model);  // ranks of A; whatever stays unknown is simply not fused
  const int64_t opset = model.opsetVersion();
  forEachFusionSweep(model, [&](Node* n) {
    if (!fuseMatMulAdd(n, opset)) return false;
    result.bump("MatMul+Add fused");
    return true;
  });
  return result;
}

}  // namespace onnxpress
