#include "onnxpress/analysis/Macs.h"

#include <algorithm>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"

namespace onnxpress {
namespace {

bool carriesMacs(const std::string& op) {
  static const char* kOps[] = {"Conv", "ConvTranspose", "Gemm", "MatMul", "MatMulInteger", "ConvInteger",
                               "QLinearConv", "QLinearMatMul"};
  return std::any_of(std::begin(kOps), std::end(kOps), [&](const char* k) { return op == k; });
}

std::optional<int64_t> convMacs(const Node& node, size_t weightIndex) {
  auto w = staticShape(node.input(weightIndex));
  auto y = staticShape(node.output(0));
  if (!w || !y || w->size() < 2 || y->size() != w->size()) return std::nullopt;
  // Per output element: (Cin/group) * prod(kernel) = prod(w[1:]).
  return elementCount(*y) * elementCount(*w, 1, w->size());
}

std::optional<int64_t> convTransposeMacs(const Node& node) {
  auto x = staticShape(node.input(0));
  auto w = staticShape(node.input(1));
  if (!x || !w || w->size() < 2 || x->size() != w->size()) return std::nullopt;
  // Every input element scatters into (Cout/group) * prod(kernel) outputs = prod(w[1:]).
  return elementCount(*x) * elementCount(*w, 1, w->size());
}

std::optional<int64_t> matMulMacs(const Node& node, size_t a, size_t b) {
  auto y = staticShape(node.output(0));
  auto sa = staticShape(node.input(a));
  if (!y || !sa || sa->empty()) return std::nullopt;
  return elementCount(*y) * sa->back();  // every output element sums over K = last dim of A
}

std::optional<int64_t> gemmMacs(const Node& node) {
  auto sa = staticShape(node.input(0));
  auto y = staticShape(node.output(0));
  if (!sa || !y || sa->size() != 2) return std::nullopt;
  const int64_t k = node.intAttr("transA", 0) ? (*sa)[0] : (*sa)[1];
  return elementCount(*y) * k;
}

}  // namespace

std::optional<int64_t> nodeMacs(const Node& node) {
  if (!isDefaultDomain(node)) return 0;
  const std::string& op = node.opType();
  if (!carriesMacs(op)) return 0;
  if (op == "Conv" || op == "ConvInteger") return convMacs(node, 1);
  if (op == "QLinearConv") return convMacs(node, 3);
  if (op == "ConvTranspose") return convTransposeMacs(node);
  if (op == "Gemm") return gemmMacs(node);
  if (op == "QLinearMatMul") return matMulMacs(node, 0, 3);
  return matMulMacs(node, 0, 1);
}

MacTotals countMacs(const Graph& graph) {
  MacTotals totals;
  graph.forEachGraph([&](const Graph& g) {
    for (const Node* node : g.nodes()) {
      auto macs = nodeMacs(*node);
      if (macs) totals.macs += *macs;
      else ++totals.unknownNodes;
    }
  });
  return totals;
}

Expected<MacTotals> countMacsForInputs(const Model& model, const InputShapes& shapes) {
  Model copy = model.clone();
  RETURN_IF_ERROR(bindInputShapes(copy.graph(), shapes));
  copy.graph().forEachGraph([](Graph& g) {
    for (Node* node : g.nodes())
      for (Value* out : node->outputs())
        if (out) out->setType(Type{});
  });
  ASSIGN_OR_RETURN(auto inferred, inferShapes(copy));
  (void)inferred;
  return countMacs(copy.graph());
}

}  // namespace onnxpress
