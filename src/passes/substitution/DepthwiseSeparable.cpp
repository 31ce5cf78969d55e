#include "onnxpress/passes/substitution/DepthwiseSeparable.h"
#include "onnxpress/ir/GraphUtil.h"


#include <cmath>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/passes/substitution/SubstitutionUtil.h"

namespace onnxpress {
namespace {

using substitution::ConvGeometry;
using substitution::Weight;

struct SeparableWeights {
  std::vector<double> depthwise;  // [Ci, 1, k...]
  std::vector<double> pointwise;  // [Co, Ci, 1...]
  double errorSquared = 0, normSquared = 0;
};

// Best rank-1 approximation of every input channel's Co×k slice.
SeparableWeights separate(const Weight& w) {
  const int64_t co = w.dims[0], ci = w.dims[1], kernel = w.numElements() / (co * ci);
  SeparableWeights out;
  out.depthwise.assign(ci * kernel, 0.0);
  out.pointwise.assign(co * ci, 0.0);
  Eigen::MatrixXd slice(co, kernel);
  for (int64_t i = 0; i < ci; ++i) {
    for (int64_t o = 0; o < co; ++o)
      for (int64_t s = 0; s < kernel; ++s) slice(o, s) = w.values[(o * ci + i) * kernel + s];
    const double norm = slice.squaredNorm();
    out.normSquared += norm;
    if (!(norm > 0)) continue;
    const substitution::ThinSvd svd = substitution::thinSvd(slice);
    const double sigma = svd.singular[0], root = std::sqrt(sigma);
    out.errorSquared += norm - sigma * sigma;
    for (int64_t s = 0; s < kernel; ++s) out.depthwise[i * kernel + s] = root * svd.v(s, 0);
    for (int64_t o = 0; o < co; ++o) out.pointwise[o * ci + i] = root * svd.u(o, 0);
  }
  return out;
}

}  // namespace

Status DepthwiseSeparableOptions::validate() const {
  if (minParams < 0) return usageError("option 'min-params' must be >= 0, got {}", minParams);
  return Status::ok();
}

Expected<PassResult> DepthwiseSeparablePass::run(Model& model, PassContext&) {
  RETURN_IF_ERROR(options_.validate());
  (void)inferShapes(model);  // shapes for the MAC statistics; unknown shapes only leave MACs uncounted
  substitution::LayerReplacer replacer;
  std::vector<Graph*> graphs;
  model.graph().forEachGraph([&](Graph& g) { graphs.push_back(&g); });
  for (Graph* g : graphs) {
    std::vector<Node*> convs;
    for (Node* n : g->nodes())
      if (isOp(n, "Conv")) convs.push_back(n);
    for (Node* conv : convs) {
      Value* wv = conv->input(1);
      Value* bias = conv->input(2);
      std::optional<Weight> w = substitution::readWeight(wv);
      if (!w || w->dims.size() < 3 || w->numElements() < options_.minParams) continue;
      std::optional<ConvGeometry> geometry = substitution::readConvGeometry(*conv, w->dims);
      if (!geometry || geometry->group != 1) continue;
      const int64_t co = w->dims[0], ci = w->dims[1], kernel = w->numElements() / (co * ci);
      if (kernel <= 1) continue;  // already pointwise
      const int64_t paramsAfter = ci * kernel + co * ci;
      if (options_.onlyIfSmaller && paramsAfter >= w->numElements()) continue;

      SeparableWeights parts = separate(*w);
      replacer.addWeightError(parts.errorSquared, parts.normSquared);
      std::vector<int64_t> depthwiseDims = w->dims, pointwiseDims(w->dims.size(), 1);
      depthwiseDims[0] = ci;
      depthwiseDims[1] = 1;
      pointwiseDims[0] = co;
      pointwiseDims[1] = ci;
      Value* dw = substitution::addWeight(*g, wv->name() + "_depthwise", w->dtype, depthwiseDims, parts.depthwise);
      Value* pw = substitution::addWeight(*g, wv->name() + "_pointwise", w->dtype, pointwiseDims, parts.pointwise);
      ConvGeometry depthwiseGeometry = *geometry;
      depthwiseGeometry.group = ci;
      Node* depthwise = substitution::createConv(conv, "_depthwise", conv->input(0), dw, nullptr, depthwiseGeometry);
      Node* pointwise = substitution::createConv(conv, "_pointwise", depthwise->output(), pw, bias,
                                                 substitution::pointwiseGeometry(geometry->kernel.size()));
      const int64_t biasParams = substitution::constantElements(bias);
      replacer.replace(conv, {depthwise, pointwise}, wv, w->numElements() + biasParams, paramsAfter + biasParams);
    }
  }
  PassResult result;
  replacer.report(model, result);
  return result;
}

}  // namespace onnxpress
