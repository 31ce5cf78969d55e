// Helpers shared by the substitution passes (lowrank, dwsep, swap-activation,
// drop-layers): constant weights widened to double, Conv geometry, the thin SVD and
// balanced factors, and the before/after statistics every weight rewrite reports.
// Generic constant helpers (scalarConstant, doubleValues, makeTensorFromDoubles,
// releaseIfUnused, eraseIfDead) come from ir/GraphUtil.h.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "onnxpress/ir/ConvGeometry.h"
#include "onnxpress/ir/Model.h"
#include "onnxpress/pass/Pass.h"

namespace onnxpress::substitution {

/// A constant float weight of any float dtype, its elements widened to double (row-major).
struct Weight {
  DataType dtype = DataType::Undefined;
  std::vector<int64_t> dims;
  std::vector<double> values;
  int64_t numElements() const { return static_cast<int64_t>(values.size()); }
};

/// The constant behind `v` (initializer or Constant node) if it is float32/float64/
/// float16/bfloat16 and every element is finite; nullopt otherwise.
std::optional<Weight> readWeight(const Value* v);

/// Stores `values` in `dtype` as a new initializer of `graph`, named after `base`.
Value* addWeight(Graph& graph, const std::string& base, DataType dtype, std::vector<int64_t> dims,
                 const std::vector<double>& values);

/// Element count of a constant input such as a bias; 0 when absent or not constant.
int64_t constantElements(const Value* v);

/// A Conv's geometry attributes, defaults filled in for every spatial axis.
using ConvGeometry = ConvAttrs;

/// The geometry of `conv` given its weight dims [Cout, Cin/group, k...]; nullopt when the
/// attributes contradict the weight (wrong lengths).
std::optional<ConvGeometry> readConvGeometry(const Node& conv, const std::vector<int64_t>& weightDims);

/// A 1x..x1, stride-1, unpadded geometry over `spatialRank` axes.
ConvGeometry pointwiseGeometry(size_t spatialRank);

/// Creates Conv(x, w[, bias]) with `geometry` right before `before`, named `before`'s
/// name plus `suffix` (unnamed if `before` is). The output is fresh and untyped.
Node* createConv(Node* before, const std::string& suffix, Value* x, Value* w, Value* bias,
                 const ConvGeometry& geometry);

/// m = u * diag(singular) * v^T with singular descending, u: rows x k, v: cols x k,
/// k = min(rows, cols). Computed from the eigen-decomposition of the smaller Gram
/// matrix (the leading singular values, which truncation keeps, are exact to double
/// precision; an SVD solver's instantiation was the slowest code in the project to compile).
struct ThinSvd {
  Eigen::MatrixXd u;
  Eigen::VectorXd singular;
  Eigen::MatrixXd v;
};
ThinSvd thinSvd(const Eigen::MatrixXd& m);

/// m ≈ left * right with left = U_r sqrt(S_r) and right = sqrt(S_r) V_r^T (the optimal
/// rank-r approximation, its energy split evenly between the factors).
struct BalancedFactors {
  Eigen::MatrixXd left;   // rows x r
  Eigen::MatrixXd right;  // r x cols
};
BalancedFactors balancedFactors(const Eigen::MatrixXd& u, const Eigen::VectorXd& singular,
                                const Eigen::MatrixXd& v, int64_t rank);

/// Replaces single-output layers and accumulates the statistics every
/// weight-rewriting substitution reports.
class LayerReplacer {
 public:
  /// Makes the last of `replacements` (already created, reading what they need) stand
  /// for `original`'s output: copies its type, records the statistics (shapes must have
  /// been inferred), destroys `original` and then `oldWeight` if nothing reads it
  /// (initializer or Constant node).
  void replace(Node* original, std::vector<Node*> replacements, Value* oldWeight, int64_t paramsBefore,
               int64_t paramsAfter);
  /// Adds one layer's squared approximation error and squared weight norm (Frobenius).
  void addWeightError(double errorSquared, double normSquared);
  /// Re-infers shapes so the replacements have static shapes, then bumps "layers
  /// replaced", "parameters before/after", "MACs before/after" (over the layers whose
  /// MACs are known both before and after) and "relative weight error (ppm)".
  void report(Model& model, PassResult& result) const;

 private:
  struct Layer {
    std::optional<int64_t> macsBefore;
    std::vector<Node*> replacements;
  };
  std::vector<Layer> layers_;
  int64_t paramsBefore_ = 0, paramsAfter_ = 0;
  double errorSquared_ = 0, normSquared_ = 0;
};

}  // namespace onnxpress::substitution
