#include "onnxpress/passes/substitution/LowRank.h"


#include <algorithm>
#include <cmath>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/substitution/SubstitutionUtil.h"

namespace onnxpress {
namespace {

using substitution::BalancedFactors;
using substitution::ConvGeometry;
using substitution::Weight;
using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<double> rowMajorValues(const Eigen::MatrixXd& m) {
  RowMajorMatrix r = m;
  return std::vector<double>(r.data(), r.data() + r.size());
}

Eigen::MatrixXd asMatrix(const Weight& w, int64_t rows, int64_t cols) {
  return Eigen::Map<const RowMajorMatrix>(w.values.data(), rows, cols);
}

class LowRankRewriter {
 public:
  LowRankRewriter(const LowRankOptions& options, int64_t opset) : options_(options), opset_(opset) {}

  bool wants(const Node& n) const {
    if (!isDefaultDomain(n)) return false;
    return std::find(options_.opTypes.begin(), options_.opTypes.end(), n.opType()) != options_.opTypes.end();
  }

  void rewrite(Node* n) {
    if (n->opType() == "Gemm") rewriteGemm(n);
    else if (n->opType() == "MatMul") rewriteMatMul(n);
    else if (n->opType() == "Conv") rewriteConv(n);
  }

  const substitution::LayerReplacer& replacer() const { return replacer_; }

 private:
  // Truncated SVD of `m` at the rank the options ask for; nullopt when the layer
  // should stay (factors not smaller under only-if-smaller, or a zero matrix).
  std::optional<BalancedFactors> factorize(const Eigen::MatrixXd& m) {
    const int64_t rows = m.rows(), cols = m.cols(), full = std::min(rows, cols);
    auto tooBig = [&](int64_t rank) { return options_.onlyIfSmaller && rank * (rows + cols) >= rows * cols; };
    if (options_.energy <= 0 && tooBig(rankFromRatio(full))) return std::nullopt;  // decided before the SVD

    const substitution::ThinSvd svd = substitution::thinSvd(m);
    const Eigen::VectorXd& singular = svd.singular;
    const double total = singular.squaredNorm();
    if (!(total > 0)) return std::nullopt;
    const int64_t rank = options_.energy > 0 ? rankFromEnergy(singular, total) : rankFromRatio(full);
    if (tooBig(rank)) return std::nullopt;
    replacer_.addWeightError(singular.tail(full - rank).squaredNorm(), total);
    return substitution::balancedFactors(svd.u, singular, svd.v, rank);
  }

  int64_t rankFromRatio(int64_t full) const {
    // The small slack keeps ratio*full from rounding up past an exact integer (0.3*10).
    const auto rank = static_cast<int64_t>(std::ceil(options_.ratio * static_cast<double>(full) - 1e-9));
    return std::clamp<int64_t>(rank, 1, full);
  }

  int64_t rankFromEnergy(const Eigen::VectorXd& singular, double total) const {
    double kept = 0;
    for (Eigen::Index r = 0; r < singular.size(); ++r) {
      kept += singular[r] * singular[r];
      if (kept >= options_.energy * total * (1 - 1e-12)) return r + 1;
    }
    return singular.size();
  }

  void rewriteGemm(Node* gemm) {
    Value* b = gemm->input(1);
    Value* c = gemm->input(2);
    std::optional<Weight> w = substitution::readWeight(b);
    if (!w || w->dims.size() != 2 || w->numElements() < options_.minParams) return;
    const bool transB = gemm->intAttr("transB", 0) != 0;
    const int64_t k = transB ? w->dims[1] : w->dims[0], n = transB ? w->dims[0] : w->dims[1];
    Eigen::MatrixXd m = transB ? Eigen::MatrixXd(asMatrix(*w, n, k).transpose()) : asMatrix(*w, k, n);
    std::optional<BalancedFactors> f = factorize(m);
    if (!f) return;
    const int64_t rank = f->left.cols();

    Graph& g = *gemm->graph();
    Value* p = substitution::addWeight(g, b->name() + "_lowrank_p", w->dtype, {k, rank}, rowMajorValues(f->left));
    Value* q = substitution::addWeight(g, b->name() + "_lowrank_q", w->dtype, {rank, n}, rowMajorValues(f->right));
    std::vector<Value*> firstInputs{gemm->input(0), p};
    int64_t extraParams = 0;
    if (opset_ < 11) {  // Gemm's C is required before opset 11
      firstInputs.push_back(substitution::addWeight(g, b->name() + "_lowrank_zero", w->dtype, {1}, {0.0}));
      extraParams = 1;
    }
    Node* first = g.createNode("Gemm", firstInputs, 1, gemm);
    if (gemm->intAttr("transA", 0) != 0) first->setAttribute(Attribute::makeInt("transA", 1));
    std::vector<Value*> secondInputs{first->output(), q};
    if (c) secondInputs.push_back(c);
    Node* second = g.createNode("Gemm", secondInputs, 1, gemm);
    for (const char* name : {"alpha", "beta"})
      if (const Attribute* a = gemm->attribute(name)) second->setAttribute(a->clone(&g));
    nameParts(gemm, first, second);

    const int64_t bias = substitution::constantElements(c);
    replacer_.replace(gemm, {first, second}, b, k * n + bias, rank * (k + n) + bias + extraParams);
  }

  void rewriteMatMul(Node* matmul) {
    Value* b = matmul->input(1);
    std::optional<Weight> w = substitution::readWeight(b);
    if (!w || w->dims.size() != 2 || w->numElements() < options_.minParams) return;
    const int64_t k = w->dims[0], n = w->dims[1];
    std::optional<BalancedFactors> f = factorize(asMatrix(*w, k, n));
    if (!f) return;
    const int64_t rank = f->left.cols();

    Graph& g = *matmul->graph();
    Value* p = substitution::addWeight(g, b->name() + "_lowrank_p", w->dtype, {k, rank}, rowMajorValues(f->left));
    Value* q = substitution::addWeight(g, b->name() + "_lowrank_q", w->dtype, {rank, n}, rowMajorValues(f->right));
    Node* first = g.createNode("MatMul", {matmul->input(0), p}, 1, matmul);
    Node* second = g.createNode("MatMul", {first->output(), q}, 1, matmul);
    nameParts(matmul, first, second);
    replacer_.replace(matmul, {first, second}, b, k * n, rank * (k + n));
  }

  void rewriteConv(Node* conv) {
    Value* wv = conv->input(1);
    Value* bias = conv->input(2);
    std::optional<Weight> w = substitution::readWeight(wv);
    if (!w || w->dims.size() < 3 || w->numElements() < options_.minParams) return;
    std::optional<ConvGeometry> geometry = substitution::readConvGeometry(*conv, w->dims);
    if (!geometry || geometry->group != 1) return;
    const bool spatial = options_.convMode == "spatial" && geometry->kernel.size() == 2 &&
                         geometry->kernel[0] > 1 && geometry->kernel[1] > 1;
    if (spatial) rewriteConvSpatial(conv, wv, bias, *w, *geometry);
    else rewriteConvChannel(conv, wv, bias, *w, *geometry);
  }

  void rewriteConvChannel(Node* conv, Value* wv, Value* bias, const Weight& w, const ConvGeometry& geometry) {
    const int64_t co = w.dims[0], fanIn = w.numElements() / co;
    std::optional<BalancedFactors> f = factorize(asMatrix(w, co, fanIn));
    if (!f) return;
    const int64_t rank = f->left.cols();

    Graph& g = *conv->graph();
    std::vector<int64_t> firstDims = w.dims;
    firstDims[0] = rank;
    std::vector<int64_t> secondDims(w.dims.size(), 1);
    secondDims[0] = co;
    secondDims[1] = rank;
    Value* firstW = substitution::addWeight(g, wv->name() + "_lowrank_in", w.dtype, firstDims, rowMajorValues(f->right));
    Value* secondW = substitution::addWeight(g, wv->name() + "_lowrank_out", w.dtype, secondDims, rowMajorValues(f->left));
    Node* first = substitution::createConv(conv, "_lowrank_0", conv->input(0), firstW, nullptr, geometry);
    Node* second = substitution::createConv(conv, "_lowrank_1", first->output(), secondW, bias,
                                            substitution::pointwiseGeometry(geometry.kernel.size()));
    const int64_t biasParams = substitution::constantElements(bias);
    replacer_.replace(conv, {first, second}, wv, w.numElements() + biasParams, rank * (co + fanIn) + biasParams);
  }

  void rewriteConvSpatial(Node* conv, Value* wv, Value* bias, const Weight& w, const ConvGeometry& geometry) {
    const int64_t co = w.dims[0], ci = w.dims[1], kh = w.dims[2], kw = w.dims[3];
    Eigen::MatrixXd m(ci * kh, co * kw);  // M[(ci,y),(co,x)] = W[co,ci,y,x]
    for (int64_t o = 0; o < co; ++o)
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t y = 0; y < kh; ++y)
          for (int64_t x = 0; x < kw; ++x) m(i * kh + y, o * kw + x) = w.values[((o * ci + i) * kh + y) * kw + x];
    std::optional<BalancedFactors> f = factorize(m);
    if (!f) return;
    const int64_t rank = f->left.cols();

    std::vector<double> vertical(rank * ci * kh), horizontal(co * rank * kw);
    for (int64_t r = 0; r < rank; ++r)
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t y = 0; y < kh; ++y) vertical[(r * ci + i) * kh + y] = f->left(i * kh + y, r);
    for (int64_t o = 0; o < co; ++o)
      for (int64_t r = 0; r < rank; ++r)
        for (int64_t x = 0; x < kw; ++x) horizontal[(o * rank + r) * kw + x] = f->right(r, o * kw + x);

    // Each conv takes one axis' kernel, stride, dilation and pads; the other axis is 1 and unpadded.
    ConvGeometry vg = geometry, hg = geometry;
    vg.kernel = {kh, 1};
    vg.strides = {geometry.strides[0], 1};
    vg.dilations = {geometry.dilations[0], 1};
    vg.pads = {geometry.pads[0], 0, geometry.pads[2], 0};
    hg.kernel = {1, kw};
    hg.strides = {1, geometry.strides[1]};
    hg.dilations = {1, geometry.dilations[1]};
    hg.pads = {0, geometry.pads[1], 0, geometry.pads[3]};

    Graph& g = *conv->graph();
    Value* vw = substitution::addWeight(g, wv->name() + "_lowrank_v", w.dtype, {rank, ci, kh, 1}, vertical);
    Value* hw = substitution::addWeight(g, wv->name() + "_lowrank_h", w.dtype, {co, rank, 1, kw}, horizontal);
    Node* first = substitution::createConv(conv, "_lowrank_v", conv->input(0), vw, nullptr, vg);
    Node* second = substitution::createConv(conv, "_lowrank_h", first->output(), hw, bias, hg);
    const int64_t biasParams = substitution::constantElements(bias);
    replacer_.replace(conv, {first, second}, wv, w.numElements() + biasParams, rank * (ci * kh + co * kw) + biasParams);
  }

  static void nameParts(const Node* original, Node* first, Node* second) {
    if (original->name().empty()) return;
    first->setName(original->name() + "_lowrank_0");
    second->setName(original->name() + "_lowrank_1");
  }

  const LowRankOptions& options_;
  int64_t opset_;
  substitution::LayerReplacer replacer_;
};

}  // namespace

Status LowRankOptions::validate() const {
  if (!(ratio > 0 && ratio <= 1)) return usageError("option 'ratio' must be in (0, 1], got {}", ratio);
  if (!(energy >= 0 && energy <= 1))
    return usageError("option 'energy' must be in [0, 1] (0 means: use ratio), got {}", energy);
  for (const std::string& op : opTypes)
    if (op != "Gemm" && op != "MatMul" && op != "Conv")
      return usageError("option 'op-types': unsupported op '{}' (supported: Gemm, MatMul, Conv)", op);
  if (minParams < 0) return usageError("option 'min-params' must be >= 0, got {}", minParams);
  if (convMode != "channel" && convMode != "spatial")
    return usageError("option 'conv-mode' must be channel or spatial, got '{}'", convMode);
  return Status::ok();
}

Expected<PassResult> LowRankPass::run(Model& model, PassContext&) {
  RETURN_IF_ERROR(options_.validate());
  (void)inferShapes(model);  // shapes for the MAC statistics; unknown shapes only leave MACs uncounted
  LowRankRewriter rewriter(options_, model.opsetVersion(""));
  std::vector<Graph*> graphs;
  model.graph().forEachGraph([&](Graph& g) { graphs.push_back(&g); });
  for (Graph* g : graphs) {
    std::vector<Node*> candidates;
    for (Node* n : g->nodes())
      if (rewriter.wants(*n)) candidates.push_back(n);
    for (Node* n : candidates) rewriter.rewrite(n);
  }
  PassResult result;
  rewriter.replacer().report(model, result);
  return result;
}

}  // namespace onnxpress
