#include "onnxpress/train/Loss.h"

#include <algorithm>
#include <cmath>

namespace onnxpress::train {
namespace {

float* gradientBuffer(const TensorData& like, TensorData& grad) {
  if (grad.empty()) grad = TensorData::zeros(DataType::Float, like.shape());
  return grad.data<float>();
}

// Softmax of one row of n values divided by temperature, into out.
void softmaxRow(const float* x, int64_t n, double temperature, std::vector<double>& out) {
  out.resize(static_cast<size_t>(n));
  double top = -INFINITY;
  for (int64_t i = 0; i < n; ++i) top = std::max(top, x[i] / temperature);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += out[static_cast<size_t>(i)] = std::exp(x[i] / temperature - top);
  for (double& v : out) v /= sum;
}

}  // namespace

double klDivergenceLoss(const TensorData& student, const TensorData& teacher, double temperature, double weight,
                        TensorData& grad) {
  const int64_t classes = student.dim(-1), rows = student.numElements() / std::max<int64_t>(1, classes);
  const float *s = student.data<float>(), *t = teacher.data<float>();
  float* g = gradientBuffer(student, grad);
  std::vector<double> ps, pt;
  double loss = 0;
  for (int64_t r = 0; r < rows; ++r) {
    softmaxRow(s + r * classes, classes, temperature, ps);
    softmaxRow(t + r * classes, classes, temperature, pt);
    for (int64_t c = 0; c < classes; ++c) {
      const double p = pt[static_cast<size_t>(c)], q = ps[static_cast<size_t>(c)];
      if (p > 0) loss += p * (std::log(p) - std::log(std::max(q, 1e-30)));
      g[r * classes + c] += static_cast<float>(weight * temperature * (q - p) / static_cast<double>(rows));
    }
  }
  return weight * temperature * temperature * loss / static_cast<double>(rows);
}

double crossEntropyLoss(const TensorData& student, const std::vector<int64_t>& labels, double weight, TensorData& grad) {
  const int64_t classes = student.dim(-1), rows = student.numElements() / std::max<int64_t>(1, classes);
  const float* s = student.data<float>();
  float* g = gradientBuffer(student, grad);
  std::vector<double> p;
  double loss = 0;
  for (int64_t r = 0; r < rows; ++r) {
    softmaxRow(s + r * classes, classes, 1.0, p);
    const int64_t y = labels[static_cast<size_t>(r)];
    loss -= std::log(std::max(p[static_cast<size_t>(y)], 1e-30));
    for (int64_t c = 0; c < classes; ++c)
      g[r * classes + c] += static_cast<float>(weight * (p[static_cast<size_t>(c)] - (c == y ? 1.0 : 0.0)) / static_cast<double>(rows));
  }
  return weight * loss / static_cast<double>(rows);
}

double meanSquaredLoss(const TensorData& student, const TensorData& teacher, double weight, TensorData& grad) {
  const int64_t n = student.numElements();
  const float *s = student.data<float>(), *t = teacher.data<float>();
  float* g = gradientBuffer(student, grad);
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(s[i]) - t[i];
    loss += d * d;
    g[i] += static_cast<float>(weight * 2 * d / static_cast<double>(n));
  }
  return weight * loss / static_cast<double>(std::max<int64_t>(1, n));
}

double cosineLoss(const TensorData& student, const TensorData& teacher, double weight, TensorData& grad) {
  const int64_t rows = student.rank() > 0 ? student.dim(0) : 1, n = student.numElements() / std::max<int64_t>(1, rows);
  const float *s = student.data<float>(), *t = teacher.data<float>();
  float* g = gradientBuffer(student, grad);
  double loss = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float *a = s + r * n, *b = t + r * n;
    double dot = 0, aa = 0, bb = 0;
    for (int64_t i = 0; i < n; ++i) {
      dot += a[i] * b[i];
      aa += a[i] * a[i];
      bb += b[i] * b[i];
    }
    const double na = std::sqrt(aa) + 1e-12, nb = std::sqrt(bb) + 1e-12, cos = dot / (na * nb);
    loss += 1 - cos;
    // d(1 - cos)/da = -(b / (|a||b|) - cos · a / |a|²)
    for (int64_t i = 0; i < n; ++i)
      g[r * n + i] += static_cast<float>(-weight * (b[i] / (na * nb) - cos * a[i] / (na * na)) / static_cast<double>(rows));
  }
  return weight * loss / static_cast<double>(rows);
}

}  // namespace onnxpress::train
