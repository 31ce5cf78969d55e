#include "onnxpress/passes/substitution/SubstitutionUtil.h"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cassert>
#include <cmath>

#include "onnxpress/analysis/Macs.h"
#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"

namespace onnxpress::substitution {

std::optional<Weight> readWeight(const Value* v) {
  std::optional<Tensor> copy;
  const Tensor* t = v ? constantTensor(v) : nullptr;
  if (v && !t && (copy = constantValue(v))) t = &*copy;
  if (!t) return std::nullopt;
  std::optional<std::vector<double>> values = doubleValues(*t);
  if (!values || static_cast<int64_t>(values->size()) != t->numElements()) return std::nullopt;
  for (double x : *values)
    if (!std::isfinite(x)) return std::nullopt;
  return Weight{t->dtype(), t->dims(), std::move(*values)};
}

Value* addWeight(Graph& graph, const std::string& base, DataType dtype, std::vector<int64_t> dims,
                 const std::vector<double>& values) {
  return addInitializer(graph, base, makeTensorFromDoubles(dtype, std::move(dims), values));
}

int64_t constantElements(const Value* v) {
  if (!v) return 0;
  if (const Tensor* t = constantTensor(v)) return t->numElements();
  if (auto t = constantValue(v)) return t->numElements();
  return 0;
}

std::optional<ConvGeometry> readConvGeometry(const Node& conv, const std::vector<int64_t>& weightDims) {
  if (weightDims.size() < 3) return std::nullopt;
  const size_t rank = weightDims.size() - 2;
  const ConvAttrs read = ConvAttrs::read(conv);
  ConvGeometry g;
  static_cast<WindowAttrs&>(g) = read.withDefaults(rank, {weightDims.begin() + 2, weightDims.end()});
  g.group = read.group;
  if (g.kernel != std::vector<int64_t>(weightDims.begin() + 2, weightDims.end()) || g.strides.size() != rank ||
      g.dilations.size() != rank || g.pads.size() != 2 * rank)
    return std::nullopt;
  return g;
}

ConvGeometry pointwiseGeometry(size_t spatialRank) {
  ConvGeometry g;
  static_cast<WindowAttrs&>(g) = WindowAttrs{}.withDefaults(spatialRank, std::vector<int64_t>(spatialRank, 1));
  return g;
}

Node* createConv(Node* before, const std::string& suffix, Value* x, Value* w, Value* bias,
                 const ConvGeometry& geometry) {
  std::vector<Value*> inputs{x, w};
  if (bias) inputs.push_back(bias);
  Node* conv = before->graph()->createNode("Conv", inputs, 1, before);
  if (!before->name().empty()) conv->setName(before->name() + suffix);
  conv->setAttribute(Attribute::makeInts("kernel_shape", geometry.kernel));
  conv->setAttribute(Attribute::makeInts("strides", geometry.strides));
  conv->setAttribute(Attribute::makeInts("dilations", geometry.dilations));
  if (geometry.group != 1) conv->setAttribute(Attribute::makeInt("group", geometry.group));
  if (geometry.autoPad == "NOTSET") conv->setAttribute(Attribute::makeInts("pads", geometry.pads));
  else conv->setAttribute(Attribute::makeString("auto_pad", geometry.autoPad));
  return conv;
}

// Through the eigen-decomposition of the smaller Gram matrix: M^T M = V S^2 V^T,
// then U = M V S^-1. Squaring limits the resolution to sqrt(eps) * S_max, so smaller
// singular values are rounding noise: they become 0 and their U columns zero. The
// leading values, the ones a truncation keeps, are accurate in double precision; an
// SVD solver cost half a minute of compile time for no difference in kept factors.
ThinSvd thinSvd(const Eigen::MatrixXd& m) {
  const bool tall = m.rows() >= m.cols();
  const Eigen::MatrixXd gram = tall ? Eigen::MatrixXd(m.transpose() * m) : Eigen::MatrixXd(m * m.transpose());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(gram);
  const Eigen::Index r = gram.rows();
  ThinSvd out;
  out.singular.resize(r);
  Eigen::MatrixXd small(r, r);  // eigenvectors, largest eigenvalue first
  for (Eigen::Index i = 0; i < r; ++i) {
    out.singular(i) = std::sqrt(std::max(0.0, eig.eigenvalues()(r - 1 - i)));
    small.col(i) = eig.eigenvectors().col(r - 1 - i);
  }
  Eigen::MatrixXd large = (tall ? m : Eigen::MatrixXd(m.transpose())) * small;
  const double floor = out.singular.size() ? out.singular(0) * 1e-7 : 0.0;
  for (Eigen::Index i = 0; i < r; ++i) {
    if (out.singular(i) > floor) {
      large.col(i) /= out.singular(i);
    } else {
      out.singular(i) = 0;
      large.col(i).setZero();
    }
  }
  out.u = tall ? large : small;
  out.v = tall ? small : large;
  return out;
}

BalancedFactors balancedFactors(const Eigen::MatrixXd& u, const Eigen::VectorXd& singular,
                                const Eigen::MatrixXd& v, int64_t rank) {
  const Eigen::VectorXd root = singular.head(rank).cwiseSqrt();
  BalancedFactors f;
  f.left = u.leftCols(rank) * root.asDiagonal();
  f.right = root.asDiagonal() * v.leftCols(rank).transpose();
  return f;
}

void LayerReplacer::replace(Node* original, std::vector<Node*> replacements, Value* oldWeight, int64_t paramsBefore,
                            int64_t paramsAfter) {
  Value* out = original->output(0);
  Value* replacement = replacements.back()->output(0);
  copyType(out, replacement);
  layers_.push_back({nodeMacs(*original), std::move(replacements)});
  paramsBefore_ += paramsBefore;
  paramsAfter_ += paramsAfter;
  [[maybe_unused]] bool replaced = replaceValue(out, replacement);  // a fresh value can always take the place
  assert(replaced);
  releaseIfUnused({oldWeight});
}

void LayerReplacer::addWeightError(double errorSquared, double normSquared) {
  errorSquared_ += std::max(errorSquared, 0.0);
  normSquared_ += normSquared;
}

void LayerReplacer::report(Model& model, PassResult& result) const {
  if (layers_.empty()) return;
  result.bump("layers replaced", static_cast<int64_t>(layers_.size()));
  result.bump("parameters before", paramsBefore_);
  result.bump("parameters after", paramsAfter_);
  if (normSquared_ > 0)
    result.bump("relative weight error (ppm)", std::llround(1e6 * std::sqrt(errorSquared_ / normSquared_)));

  bool anyKnown = false;
  for (const Layer& layer : layers_) anyKnown |= layer.macsBefore.has_value();
  if (!anyKnown) return;
  (void)inferShapes(model);  // best effort: layers whose new shapes stay unknown are left out
  int64_t macsBefore = 0, macsAfter = 0;
  for (const Layer& layer : layers_) {
    if (!layer.macsBefore) continue;
    int64_t after = 0;
    bool known = true;
    for (const Node* n : layer.replacements) {
      std::optional<int64_t> macs = nodeMacs(*n);
      if (!macs) known = false;
      else after += *macs;
    }
    if (!known) continue;
    macsBefore += *layer.macsBefore;
    macsAfter += after;
  }
  result.bump("MACs before", macsBefore);
  result.bump("MACs after", macsAfter);
}

}  // namespace onnxpress::substitution
