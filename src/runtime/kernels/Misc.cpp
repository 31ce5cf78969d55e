// Miscellaneous kernels (ai.onnx):
//   Unique           (11)    sorted / first-occurrence order, optional axis; outputs Y, indices,
//                            inverse_indices, counts. NaNs compare equal and sort last (numpy).
//   Compress         (9, 11) optional axis (none = flatten); condition may be shorter than the axis.
//   ReverseSequence  (10)    batch_axis / time_axis in {0, 1}.
//   MaxUnpool        (9, 11) kernel_shape, strides, pads, optional output_shape input; indices are
//                            flat offsets into the whole output (as MaxPool's Indices output).
//   Det              (11)    batched [*, M, M], partial-pivot LU in double (Eigen).
//   RandomUniform, RandomNormal, RandomNormalLike, Multinomial: correct shape and dtype, values
//                            from std::mt19937 (seeded by `seed` when given); they cannot match
//                            another runtime's generator. RandomUniformLike and Bernoulli are left
//                            out on purpose (their conformance cases compare reference values).
// Ops that only move data (Compress, ReverseSequence) dispatch on the element size and accept
// STRING tensors; Unique compares typed values.
#include <Eigen/LU>

#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <string>

#include "KernelUtil.h"
#include "Families.h"

namespace onnxpress::runtime {
namespace {

// ---- element helpers (as in Shape.cpp) ----------------------------------------------------



bool isFloatType(DataType t) {
  return t == DataType::Float || t == DataType::Double || t == DataType::Float16 || t == DataType::BFloat16;
}

int64_t prod(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= s[i];
  return p;
}

// ---- Unique -------------------------------------------------------------------------------


// Strict weak order with NaN after every number and NaNs equal to each other.
template <typename T>
inline bool lessValue(const T& a, const T& b) {
  if constexpr (kHalfLike<T>) {
    return lessValue(static_cast<float>(a), static_cast<float>(b));
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
    return a < b;
  } else {
    return a < b;
  }
}

template <typename T>
Status runUnique(KernelContext& ctx, bool hasAxis, int64_t axisAttr, bool sorted) {
  const TensorData& x = ctx.input(0);
  const Shape& xs = x.shape();
  int64_t K, outer = 1, inner = 1, axis = 0;
  if (hasAxis) {
    ASSIGN_OR_RETURN(axis, normalizeAxis(axisAttr, x.rank(), ctx.where()));
    if (x.rank() == 0) return kernelError(ctx, "axis given for a scalar input");
    K = xs[axis];
    outer = prod(xs, 0, static_cast<size_t>(axis));
    inner = prod(xs, static_cast<size_t>(axis) + 1, xs.size());
  } else {
    K = x.numElements();
  }
  const int64_t L = outer * inner;  // elements per slice
  const T* px = elems<T>(x);

  // Slice k as a contiguous row: direct when outer == 1, gathered otherwise.
  std::unique_ptr<T[]> gathered;  // not std::vector: vector<bool> has no data()
  const T* rows = px;
  if (outer != 1) {
    gathered = std::make_unique<T[]>(static_cast<size_t>(K * L));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < K; ++k)
        std::copy_n(px + (o * K + k) * inner, inner, gathered.get() + k * L + o * inner);
    rows = gathered.get();
  }
  auto rowLess = [&](int64_t a, int64_t b) {
    const T* ra = rows + a * L;
    const T* rb = rows + b * L;
    for (int64_t j = 0; j < L; ++j) {
      if (lessValue(ra[j], rb[j])) return true;
      if (lessValue(rb[j], ra[j])) return false;
    }
    return false;
  };

  // Stable sort keeps the first occurrence first within each group of equal slices.
  std::vector<int64_t> order(static_cast<size_t>(K));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), rowLess);
  std::vector<int64_t> first, counts;   // per group, in sorted order
  std::vector<int64_t> groupOf(static_cast<size_t>(K));
  for (int64_t i = 0; i < K; ++i) {
    const int64_t k = order[i];
    if (i == 0 || rowLess(order[i - 1], k)) {
      first.push_back(k);
      counts.push_back(0);
    }
    groupOf[k] = static_cast<int64_t>(first.size()) - 1;
    ++counts.back();
  }
  const int64_t U = static_cast<int64_t>(first.size());
  // Output position of each group.
  std::vector<int64_t> pos(static_cast<size_t>(U));
  std::iota(pos.begin(), pos.end(), int64_t{0});
  if (!sorted) {
    std::vector<int64_t> byFirst(static_cast<size_t>(U));
    std::iota(byFirst.begin(), byFirst.end(), int64_t{0});
    std::sort(byFirst.begin(), byFirst.end(), [&](int64_t a, int64_t b) { return first[a] < first[b]; });
    for (int64_t p = 0; p < U; ++p) pos[byFirst[p]] = p;
  }

  Shape ys = hasAxis ? xs : Shape{U};
  if (hasAxis) ys[axis] = U;
  TensorData y = TensorData::allocate(x.dtype(), ys);
  TensorData indices = TensorData::allocate(DataType::Int64, {U});
  TensorData inverse = TensorData::allocate(DataType::Int64, {K});
  TensorData cnt = TensorData::allocate(DataType::Int64, {U});
  T* py = elems<T>(y);
  int64_t* pi = indices.data<int64_t>();
  int64_t* pc = cnt.data<int64_t>();
  for (int64_t g = 0; g < U; ++g) {
    const int64_t p = pos[g];
    pi[p] = first[g];
    pc[p] = counts[g];
    const T* src = rows + first[g] * L;
    for (int64_t o = 0; o < outer; ++o) copyRun(py + (o * U + p) * inner, src + o * inner, inner);
  }
  int64_t* pinv = inverse.data<int64_t>();
  for (int64_t k = 0; k < K; ++k) pinv[k] = pos[groupOf[k]];

  ctx.outputs[0] = std::move(y);
  auto wanted = [&](size_t j) { return ctx.outputs.size() > j && ctx.node.output(j) != nullptr; };
  if (wanted(1)) ctx.outputs[1] = std::move(indices);
  if (wanted(2)) ctx.outputs[2] = std::move(inverse);
  if (wanted(3)) ctx.outputs[3] = std::move(cnt);
  return Status::ok();
}

Expected<KernelFn> makeUnique(const KernelBuildContext& b) {
  const bool hasAxis = b.node.attribute("axis") != nullptr;
  const int64_t axis = b.node.intAttr("axis", 0);
  const int64_t sortedAttr = b.node.intAttr("sorted", 1);
  if (sortedAttr != 0 && sortedAttr != 1) return buildError(b, "sorted must be 0 or 1, got {}", sortedAttr);
  const bool sorted = sortedAttr == 1;
  return KernelFn([hasAxis, axis, sorted](KernelContext& ctx) -> Status {
    const DataType dt = ctx.input(0).dtype();
    Status st = Status::ok();
    if (dt == DataType::String) return runUnique<std::string>(ctx, hasAxis, axis, sorted);
    const bool ok = dispatch<AllTypes>(dt, [&](auto tag) {
      using T = decltype(tag);
      st = runUnique<T>(ctx, hasAxis, axis, sorted);
    });
    if (!ok) return unsupportedType(ctx, dt);
    return st;
  });
}

// ---- Compress -----------------------------------------------------------------------------

Expected<KernelFn> makeCompress(const KernelBuildContext& b) {
  const bool hasAxis = b.node.attribute("axis") != nullptr;
  const int64_t axisAttr = b.node.intAttr("axis", 0);
  return KernelFn([hasAxis, axisAttr](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& cond = ctx.input(1);
    if (cond.dtype() != DataType::Bool) return kernelError(ctx, "condition must be bool");
    if (cond.rank() != 1) return kernelError(ctx, "condition must be 1-D, got {}", shapeToString(cond.shape()));
    int64_t axis = 0, K, outer = 1, inner = 1;
    if (hasAxis) {
      if (x.rank() == 0) return kernelError(ctx, "axis given for a scalar input");
      ASSIGN_OR_RETURN(axis, normalizeAxis(axisAttr, x.rank(), ctx.where()));
      K = x.dim(axis);
      outer = prod(x.shape(), 0, static_cast<size_t>(axis));
      inner = prod(x.shape(), static_cast<size_t>(axis) + 1, x.shape().size());
    } else {
      K = x.numElements();
    }
    const bool* pc = cond.data<bool>();
    const int64_t n = cond.numElements();
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < n; ++i) {
      if (!pc[i]) continue;
      if (i >= K) return kernelError(ctx, "condition selects index {} beyond the axis length {}", i, K);
      keep.push_back(i);
    }
    const int64_t M = static_cast<int64_t>(keep.size());
    Shape os{M};
    if (hasAxis) {
      os = x.shape();
      os[axis] = M;
    }
    TensorData y = TensorData::allocate(x.dtype(), os);
    const bool ok = dispatchElemOrString(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = elems<T>(x);
      T* py = elems<T>(y);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t m = 0; m < M; ++m) copyRun(py + (o * M + m) * inner, px + (o * K + keep[m]) * inner, inner);
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- ReverseSequence ----------------------------------------------------------------------

Expected<KernelFn> makeReverseSequence(const KernelBuildContext& b) {
  const int64_t batchAxis = b.node.intAttr("batch_axis", 1);
  const int64_t timeAxis = b.node.intAttr("time_axis", 0);
  if ((batchAxis != 0 && batchAxis != 1) || (timeAxis != 0 && timeAxis != 1) || batchAxis == timeAxis)
    return buildError(b, "batch_axis ({}) and time_axis ({}) must be 0 and 1 in some order", batchAxis, timeAxis);
  return KernelFn([batchAxis](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& lens = ctx.input(1);
    if (x.rank() < 2) return kernelError(ctx, "input must have rank >= 2, got {}", shapeToString(x.shape()));
    const int64_t B = x.dim(batchAxis), T = x.dim(1 - batchAxis);
    if (lens.rank() != 1 || lens.dim(0) != B)
      return kernelError(ctx, "sequence_lens shape {} should be [{}]", shapeToString(lens.shape()), B);
    const std::vector<int64_t> len = lens.toInt64Vector();
    for (int64_t v : len)
      if (v < 0 || v > T) return kernelError(ctx, "sequence length {} out of range [0, {}]", v, T);
    const int64_t inner = prod(x.shape(), 2, x.shape().size());
    // Element offset of (batch b, time t).
    const int64_t sb = batchAxis == 0 ? T * inner : inner;
    const int64_t stt = batchAxis == 0 ? inner : B * inner;
    TensorData y = TensorData::allocate(x.dtype(), x.shape());
    const bool ok = dispatchElemOrString(x.dtype(), [&](auto tag) {
      using E = decltype(tag);
      const E* px = elems<E>(x);
      E* py = elems<E>(y);
      parallelFor(B * T, ctx.threads, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) {
          const int64_t bi = i / T, t = i % T;
          const int64_t src = t < len[bi] ? len[bi] - 1 - t : t;
          copyRun(py + bi * sb + t * stt, px + bi * sb + src * stt, inner);
        }
      }, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)));
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- MaxUnpool ----------------------------------------------------------------------------

Expected<KernelFn> makeMaxUnpool(const KernelBuildContext& b) {
  const std::vector<int64_t> kernel = b.node.intsAttr("kernel_shape");
  if (kernel.empty()) return buildError(b, "kernel_shape is required");
  const size_t k = kernel.size();
  std::vector<int64_t> strides = b.node.intsAttr("strides", std::vector<int64_t>(k, 1));
  std::vector<int64_t> pads = b.node.intsAttr("pads", std::vector<int64_t>(2 * k, 0));
  if (strides.size() != k) return buildError(b, "strides has {} values for {} spatial dims", strides.size(), k);
  if (pads.size() != 2 * k) return buildError(b, "pads has {} values for {} spatial dims", pads.size(), k);
  for (size_t i = 0; i < k; ++i)
    if (kernel[i] <= 0 || strides[i] <= 0) return buildError(b, "kernel_shape and strides must be positive");
  for (int64_t p : pads)
    if (p < 0) return buildError(b, "pads must be non-negative");
  return KernelFn([kernel, strides, pads](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& ind = ctx.input(1);
    const size_t k = kernel.size();
    if (static_cast<size_t>(x.rank()) != k + 2)
      return kernelError(ctx, "input {} should have {} spatial dims", shapeToString(x.shape()), k);
    if (ind.shape() != x.shape())
      return kernelError(ctx, "indices shape {} differs from input {}", shapeToString(ind.shape()),
                         shapeToString(x.shape()));
    // Indices address the inferred output; an explicit output_shape places the same
    // coordinates in a larger tensor (the spec's and the reference's behaviour).
    Shape inferred = {x.dim(0), x.dim(1)};
    for (size_t i = 0; i < k; ++i) {
      const int64_t d = (x.dim(static_cast<int64_t>(i) + 2) - 1) * strides[i] - (pads[i] + pads[k + i]) + kernel[i];
      if (d < 0) return kernelError(ctx, "negative inferred output dim {}", d);
      inferred.push_back(d);
    }
    Shape os = inferred;
    if (ctx.hasInput(2)) {
      os = ctx.input(2).toInt64Vector();
      if (os.size() != k + 2) return kernelError(ctx, "output_shape {} has the wrong rank", shapeToString(os));
      for (size_t i = 0; i < os.size(); ++i)
        if (os[i] < inferred[i]) return kernelError(ctx, "output_shape {} is smaller than {}", shapeToString(os), shapeToString(inferred));
    }
    const auto inferredStrides = contiguousStrides(inferred), outStrides = contiguousStrides(os);
    auto relocate = [&](int64_t j) {
      if (os == inferred) return j;
      int64_t out = 0;
      for (size_t d = 0; d < os.size(); ++d) out += (j / inferredStrides[d]) % inferred[d] * outStrides[d];
      return out;
    };
    TensorData y = TensorData::zeros(x.dtype(), os);
    const int64_t total = elementCount(inferred), n = x.numElements();
    const std::vector<int64_t> idx = ind.toInt64Vector();
    int64_t bad = -1;
    const bool ok = dispatch<FloatTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* py = y.data<T>();
      for (int64_t i = 0; i < n; ++i) {
        const int64_t j = idx[i];
        if (j < 0 || j >= total) {
          bad = i;
          return;
        }
        py[relocate(j)] = px[i];
      }
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    if (bad >= 0) return kernelError(ctx, "index {} out of range for output {}", idx[bad], shapeToString(os));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- Det ----------------------------------------------------------------------------------

Expected<KernelFn> makeDet(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (x.rank() < 2 || x.dim(-1) != x.dim(-2))
      return kernelError(ctx, "input {} is not a batch of square matrices", shapeToString(x.shape()));
    const int64_t M = x.dim(-1);
    const Shape os(x.shape().begin(), x.shape().end() - 2);
    const int64_t batch = elementCount(os);
    TensorData y = TensorData::allocate(x.dtype(), os);
    const bool ok = dispatch<FloatTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* py = y.data<T>();
      parallelFor(batch, ctx.threads, [&](int64_t s, int64_t e) {
        Eigen::MatrixXd a(M, M);
        Eigen::PartialPivLU<Eigen::MatrixXd> lu(M);  // storage reused across the batch
        for (int64_t bi = s; bi < e; ++bi) {
          if (M == 0) {
            py[bi] = static_cast<T>(1.0f);
            continue;
          }
          const T* src = px + bi * M * M;
          for (int64_t r = 0; r < M; ++r)
            for (int64_t c = 0; c < M; ++c) {
              if constexpr (kHalfLike<T>) a(r, c) = static_cast<double>(static_cast<float>(src[r * M + c]));
              else a(r, c) = static_cast<double>(src[r * M + c]);
            }
          const double det = lu.compute(a).determinant();
          if constexpr (kHalfLike<T>) py[bi] = static_cast<T>(static_cast<float>(det));
          else py[bi] = static_cast<T>(det);
        }
      }, std::max<int64_t>(1, 4096 / std::max<int64_t>(M * M * M, 1)));
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- random generators --------------------------------------------------------------------

// One generator per node, advanced by every run (guarded for concurrent runs).
struct RngState {
  std::mutex mutex;
  std::mt19937_64 gen;
};

std::shared_ptr<RngState> makeRng(const KernelBuildContext& b) {
  auto rng = std::make_shared<RngState>();
  if (const Attribute* a = b.node.attribute("seed")) {
    rng->gen.seed(static_cast<uint64_t>(static_cast<int64_t>(a->f)));
  } else {
    std::random_device rd;
    rng->gen.seed((static_cast<uint64_t>(rd()) << 32) ^ rd());
  }
  return rng;
}

// Fills `out` (a float type) with draws of `dist` (a double distribution).
template <typename Dist>
bool fillRandom(TensorData& out, RngState& rng, Dist dist) {
  std::lock_guard<std::mutex> lock(rng.mutex);
  return dispatch<FloatTypes>(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    const int64_t n = out.numElements();
    for (int64_t i = 0; i < n; ++i) {
      const double v = dist(rng.gen);
      if constexpr (kHalfLike<T>) p[i] = static_cast<T>(static_cast<float>(v));
      else p[i] = static_cast<T>(v);
    }
  });
}

Expected<DataType> randomDtype(const KernelBuildContext& b, int64_t value) {
  const DataType dt = static_cast<DataType>(value);
  if (!isFloatType(dt)) return buildError(b, "dtype {} is not a float type", value);
  return dt;
}

// RandomUniform / RandomNormal: shape and dtype from attributes.
template <bool kNormal>
Expected<KernelFn> makeRandom(const KernelBuildContext& b) {
  const Attribute* shapeAttr = b.node.attribute("shape");
  if (!shapeAttr) return buildError(b, "shape is required");
  Shape shape = shapeAttr->ints;
  for (int64_t d : shape)
    if (d < 0) return buildError(b, "negative dim in shape {}", shapeToString(shape));
  ASSIGN_OR_RETURN(DataType dt, randomDtype(b, b.node.intAttr("dtype", static_cast<int64_t>(DataType::Float))));
  const double p0 = kNormal ? b.node.floatAttr("mean", 0.f) : b.node.floatAttr("low", 0.f);
  const double p1 = kNormal ? b.node.floatAttr("scale", 1.f) : b.node.floatAttr("high", 1.f);
  if (!kNormal && !(p0 <= p1)) return buildError(b, "low {} > high {}", p0, p1);
  if (kNormal && !(p1 >= 0)) return buildError(b, "negative scale {}", p1);
  auto rng = makeRng(b);
  return KernelFn([shape, dt, p0, p1, rng](KernelContext& ctx) -> Status {
    TensorData y = TensorData::allocate(dt, shape);
    if constexpr (kNormal) fillRandom(y, *rng, std::normal_distribution<double>(p0, p1));
    else fillRandom(y, *rng, std::uniform_real_distribution<double>(p0, p1));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// RandomNormalLike: shape of the input, dtype from the attribute or the input.
Expected<KernelFn> makeRandomNormalLike(const KernelBuildContext& b) {
  const bool hasDtype = b.node.attribute("dtype") != nullptr;
  DataType dt = DataType::Undefined;
  if (hasDtype) {
    ASSIGN_OR_RETURN(dt, randomDtype(b, b.node.intAttr("dtype", 1)));
  }
  const double mean = b.node.floatAttr("mean", 0.f), scale = b.node.floatAttr("scale", 1.f);
  if (!(scale >= 0)) return buildError(b, "negative scale {}", scale);
  auto rng = makeRng(b);
  return KernelFn([dt, mean, scale, rng](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const DataType odt = dt == DataType::Undefined ? x.dtype() : dt;
    if (!isFloatType(odt)) return kernelError(ctx, "output dtype {} is not a float type", dataTypeName(odt));
    TensorData y = TensorData::allocate(odt, x.shape());
    fillRandom(y, *rng, std::normal_distribution<double>(mean, scale));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// Multinomial: input [batch, classes] of unnormalized log-probabilities -> [batch, sample_size].
Expected<KernelFn> makeMultinomial(const KernelBuildContext& b) {
  const int64_t samples = b.node.intAttr("sample_size", 1);
  if (samples < 0) return buildError(b, "negative sample_size {}", samples);
  const DataType dt = static_cast<DataType>(b.node.intAttr("dtype", static_cast<int64_t>(DataType::Int32)));
  if (dt != DataType::Int32 && dt != DataType::Int64) return buildError(b, "dtype must be int32 or int64");
  auto rng = makeRng(b);
  return KernelFn([samples, dt, rng](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (x.rank() != 2) return kernelError(ctx, "input must be 2-D, got {}", shapeToString(x.shape()));
    const int64_t batch = x.dim(0), classes = x.dim(1);
    if (classes == 0 && samples > 0) return kernelError(ctx, "no classes to sample from");
    TensorData y = TensorData::allocate(dt, {batch, samples});
    std::vector<double> cdf(static_cast<size_t>(classes));
    std::lock_guard<std::mutex> lock(rng->mutex);
    std::uniform_real_distribution<double> uni(0.0, 1.0);
    const bool ok = dispatch<FloatTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      for (int64_t bi = 0; bi < batch; ++bi) {
        const T* row = px + bi * classes;
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t c = 0; c < classes; ++c) mx = std::max(mx, static_cast<double>(static_cast<float>(row[c])));
        double acc = 0;
        for (int64_t c = 0; c < classes; ++c) {
          acc += std::exp(static_cast<double>(static_cast<float>(row[c])) - mx);
          cdf[c] = acc;
        }
        for (int64_t s = 0; s < samples; ++s) {
          const double u = uni(rng->gen) * acc;
          int64_t c = std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin();
          c = std::min(c, classes - 1);
          if (dt == DataType::Int32) y.data<int32_t>()[bi * samples + s] = static_cast<int32_t>(c);
          else y.data<int64_t>()[bi * samples + s] = c;
        }
      }
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> miscKernels() {
  return {
      {"", "Unique", makeUnique},
      {"", "Compress", makeCompress},
      {"", "ReverseSequence", makeReverseSequence},
      {"", "MaxUnpool", makeMaxUnpool},
      {"", "Det", makeDet},
      {"", "RandomUniform", makeRandom<false>},
      {"", "RandomNormal", makeRandom<true>},
      {"", "RandomNormalLike", makeRandomNormalLike},
      {"", "Multinomial", makeMultinomial},
  };
}

}  // namespace onnxpress::runtime
