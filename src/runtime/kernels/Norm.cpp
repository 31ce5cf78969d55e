// Normalizations: BatchNormalization (inference, and training_mode at opset 14+),
// InstanceNormalization, LayerNormalization (with optional Mean/InvStdDev outputs),
// GroupNormalization, LRN, MeanVarianceNormalization. Statistics accumulate in double.
#include "Families.h"
#include "KernelUtil.h"

namespace onnxpress::runtime {
namespace {

// y = (x - mean[c]) * scale[c] / sqrt(var[c] + eps) + bias[c], over [N, C, inner].
template <typename T>
void normalizeChannels(const T* x, T* y, int64_t N, int64_t C, int64_t inner, const std::vector<double>& mean,
                       const std::vector<double>& var, const T* scale, const T* bias, double eps, int threads) {
  parallelFor(N * C, threads, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % C;
      const double a = static_cast<double>(scale[c]) / std::sqrt(var[c] + eps);
      const double shift = static_cast<double>(bias[c]) - mean[c] * a;
      const T* src = x + p * inner;
      T* dst = y + p * inner;
      for (int64_t i = 0; i < inner; ++i) dst[i] = static_cast<T>(static_cast<double>(src[i]) * a + shift);
    }
  }, 1);
}

Expected<KernelFn> makeBatchNorm(const KernelBuildContext& b) {
  const double eps = b.node.floatAttr("epsilon", 1e-5f);
  const double momentum = b.node.floatAttr("momentum", 0.9f);
  const bool training = b.opset >= 14 && b.node.intAttr("training_mode", 0) != 0;
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& X = ctx.input(0);
    if (X.rank() < 2) return kernelError(ctx, "input must have rank >= 2");
    const int64_t N = X.dim(0), C = X.dim(1), inner = X.numElements() / std::max<int64_t>(N * C, 1);
    TensorData Y = TensorData::allocate(X.dtype(), X.shape());
    const bool ok = dispatch<TypeList<float, double, half>>(X.dtype(), [&](auto tag) {
      using T = decltype(tag);
      std::vector<double> mean(C), var(C);
      auto read = [&](size_t input, int64_t c) { return ctx.input(input).doubleAt(c); };
      if (training) {
        for (int64_t c = 0; c < C; ++c) {
          double s = 0, ss = 0;
          for (int64_t n = 0; n < N; ++n) {
            const T* src = X.data<T>() + (n * C + c) * inner;
            for (int64_t i = 0; i < inner; ++i) {
              const double v = static_cast<double>(src[i]);
              s += v;
              ss += v * v;
            }
          }
          const double count = static_cast<double>(N * inner);
          mean[c] = s / count;
          var[c] = ss / count - mean[c] * mean[c];
        }
      } else {
        for (int64_t c = 0; c < C; ++c) {
          mean[c] = read(3, c);
          var[c] = read(4, c);
        }
      }
      normalizeChannels(X.data<T>(), Y.data<T>(), N, C, inner, mean, var, ctx.input(1).data<T>(),
                        ctx.input(2).data<T>(), eps, ctx.threads);
      if (training) {
        for (size_t k = 1; k <= 2 && k < ctx.outputs.size(); ++k) {
          if (!ctx.node.output(k)) continue;
          TensorData out = TensorData::allocate(X.dtype(), {C});
          for (int64_t c = 0; c < C; ++c) {
            const double running = read(k == 1 ? 3 : 4, c);
            const double batch = k == 1 ? mean[c] : var[c];
            out.data<T>()[c] = static_cast<T>(running * momentum + batch * (1 - momentum));
          }
          ctx.outputs[k] = std::move(out);
        }
      }
    });
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(X.dtype()));
    ctx.outputs[0] = std::move(Y);
    return Status::ok();
  });
}

Expected<KernelFn> makeInstanceNorm(const KernelBuildContext& b) {
  const double eps = b.node.floatAttr("epsilon", 1e-5f);
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& X = ctx.input(0);
    if (X.rank() < 3) return kernelError(ctx, "input must have rank >= 3");
    const int64_t N = X.dim(0), C = X.dim(1), inner = X.numElements() / std::max<int64_t>(N * C, 1);
    TensorData Y = TensorData::allocate(X.dtype(), X.shape());
    const bool ok = dispatch<TypeList<float, double, half>>(X.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* scale = ctx.input(1).data<T>();
      const T* bias = ctx.input(2).data<T>();
      parallelFor(N * C, ctx.threads, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          const T* src = X.data<T>() + p * inner;
          double s = 0, ss = 0;
          for (int64_t i = 0; i < inner; ++i) s += static_cast<double>(src[i]);
          const double mean = s / static_cast<double>(inner);
          for (int64_t i = 0; i < inner; ++i) {
            const double d = static_cast<double>(src[i]) - mean;
            ss += d * d;
          }
          const double inv = 1.0 / std::sqrt(ss / static_cast<double>(inner) + eps);
          const int64_t c = p % C;
          T* dst = Y.data<T>() + p * inner;
          for (int64_t i = 0; i < inner; ++i)
            dst[i] = static_cast<T>((static_cast<double>(src[i]) - mean) * inv * static_cast<double>(scale[c]) +
                                    static_cast<double>(bias[c]));
        }
      }, 1);
    });
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(X.dtype()));
    ctx.outputs[0] = std::move(Y);
    return Status::ok();
  });
}

// LayerNormalization: normalize over dims [axis, rank); scale/bias broadcast over them.
Expected<KernelFn> makeLayerNorm(const KernelBuildContext& b) {
  const int64_t axisAttr = b.node.intAttr("axis", -1);
  const double eps = b.node.floatAttr("epsilon", 1e-5f);
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& X = ctx.input(0);
    ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(axisAttr, X.rank(), ctx.where()));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < X.rank(); ++d) (d < axis ? outer : inner) *= X.dim(d);
    TensorData Y = TensorData::allocate(X.dtype(), X.shape());
    Shape statShape = X.shape();
    for (int64_t d = axis; d < X.rank(); ++d) statShape[d] = 1;
    const bool wantMean = ctx.outputs.size() > 1 && ctx.node.output(1);
    const bool wantInv = ctx.outputs.size() > 2 && ctx.node.output(2);
    TensorData Mean = TensorData::allocate(DataType::Float, statShape);
    TensorData Inv = TensorData::allocate(DataType::Float, statShape);
    const bool hasBias = ctx.hasInput(2);
    const TensorData& S = ctx.input(1);
    if (S.numElements() != inner && S.numElements() != 1)
      return kernelError(ctx, "scale {} does not match the normalized size {}", shapeToString(S.shape()), inner);
    const bool ok = dispatch<TypeList<float, double, half, bfloat16>>(X.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* scale = S.data<T>();
      const T* bias = hasBias ? ctx.input(2).data<T>() : nullptr;
      const bool scalarScale = S.numElements() == 1;
      const bool scalarBias = hasBias && ctx.input(2).numElements() == 1;
      parallelFor(outer, ctx.threads, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const T* src = X.data<T>() + r * inner;
          double s = 0;
          for (int64_t i = 0; i < inner; ++i) s += static_cast<double>(src[i]);
          const double mean = s / static_cast<double>(inner);
          double ss = 0;
          for (int64_t i = 0; i < inner; ++i) {
            const double d = static_cast<double>(src[i]) - mean;
            ss += d * d;
          }
          const double inv = 1.0 / std::sqrt(ss / static_cast<double>(inner) + eps);
          T* dst = Y.data<T>() + r * inner;
          for (int64_t i = 0; i < inner; ++i) {
            double v = (static_cast<double>(src[i]) - mean) * inv * static_cast<double>(scale[scalarScale ? 0 : i]);
            if (bias) v += static_cast<double>(bias[scalarBias ? 0 : i]);
            dst[i] = static_cast<T>(v);
          }
          Mean.data<float>()[r] = static_cast<float>(mean);
          Inv.data<float>()[r] = static_cast<float>(inv);
        }
      }, 8);
    });
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(X.dtype()));
    ctx.outputs[0] = std::move(Y);
    if (wantMean) ctx.outputs[1] = std::move(Mean);
    if (wantInv) ctx.outputs[2] = std::move(Inv);
    return Status::ok();
  });
}

Expected<KernelFn> makeGroupNorm(const KernelBuildContext& b) {
  const int64_t groups = b.node.intAttr("num_groups", 1);
  const double eps = b.node.floatAttr("epsilon", 1e-5f);
  const bool perChannelScale = b.opset >= 21;
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& X = ctx.input(0);
    if (X.rank() < 3 || groups < 1 || X.dim(1) % groups != 0)
      return kernelError(ctx, "channels {} are not divisible into {} groups", X.rank() > 1 ? X.dim(1) : 0, groups);
    const int64_t N = X.dim(0), C = X.dim(1), inner = X.numElements() / std::max<int64_t>(N * C, 1);
    const int64_t cpg = C / groups;
    TensorData Y = TensorData::allocate(X.dtype(), X.shape());
    const bool ok = dispatch<TypeList<float, double, half>>(X.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* scale = ctx.input(1).data<T>();
      const T* bias = ctx.input(2).data<T>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t gi = 0; gi < groups; ++gi) {
          const T* src = X.data<T>() + (n * C + gi * cpg) * inner;
          const int64_t count = cpg * inner;
          double s = 0, ss = 0;
          for (int64_t i = 0; i < count; ++i) s += static_cast<double>(src[i]);
          const double mean = s / static_cast<double>(count);
          for (int64_t i = 0; i < count; ++i) ss += (static_cast<double>(src[i]) - mean) * (static_cast<double>(src[i]) - mean);
          const double inv = 1.0 / std::sqrt(ss / static_cast<double>(count) + eps);
          T* dst = Y.data<T>() + (n * C + gi * cpg) * inner;
          for (int64_t i = 0; i < count; ++i) {
            const int64_t k = perChannelScale ? gi * cpg + i / inner : gi;
            dst[i] = static_cast<T>((static_cast<double>(src[i]) - mean) * inv * static_cast<double>(scale[k]) +
                                    static_cast<double>(bias[k]));
          }
        }
    });
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(X.dtype()));
    ctx.outputs[0] = std::move(Y);
    return Status::ok();
  });
}

Expected<KernelFn> makeLrn(const KernelBuildContext& b) {
  const double alpha = b.node.floatAttr("alpha", 1e-4f), beta = b.node.floatAttr("beta", 0.75f);
  const double bias = b.node.floatAttr("bias", 1.0f);
  const int64_t size = b.node.intAttr("size", 0);
  if (size <= 0) return buildError(b, "size must be positive");
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& X = ctx.input(0);
    if (X.rank() < 3) return kernelError(ctx, "input must have rank >= 3");
    const int64_t N = X.dim(0), C = X.dim(1), inner = X.numElements() / std::max<int64_t>(N * C, 1);
    TensorData Y = TensorData::allocate(X.dtype(), X.shape());
    const bool ok = dispatch<TypeList<float, double, half>>(X.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* x = X.data<T>();
      T* y = Y.data<T>();
      const int64_t before = (size - 1) / 2, after = size / 2;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < inner; ++i) {
            double sq = 0;
            for (int64_t k = std::max<int64_t>(0, c - before); k <= std::min(C - 1, c + after); ++k) {
              const double v = static_cast<double>(x[(n * C + k) * inner + i]);
              sq += v * v;
            }
            const int64_t at = (n * C + c) * inner + i;
            y[at] = static_cast<T>(static_cast<double>(x[at]) / std::pow(bias + alpha / static_cast<double>(size) * sq, beta));
          }
    });
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(X.dtype()));
    ctx.outputs[0] = std::move(Y);
    return Status::ok();
  });
}

// MeanVarianceNormalization: (x - mean) / sqrt(var) over `axes` (default 0, 2, 3).
Expected<KernelFn> makeMvn(const KernelBuildContext& b) {
  const std::vector<int64_t> axesAttr = b.node.intsAttr("axes", {0, 2, 3});
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& X = ctx.input(0);
    std::vector<bool> reduced(X.rank(), false);
    for (int64_t a : axesAttr) {
      ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(a, X.rank(), ctx.where()));
      reduced[axis] = true;
    }
    const auto strides = contiguousStrides(X.shape());
    const int64_t total = X.numElements();
    // Group elements by their coordinates on the kept axes.
    std::vector<int64_t> key(total);
    for (int64_t i = 0; i < total; ++i) {
      int64_t k = 0;
      for (int64_t d = 0; d < X.rank(); ++d)
        if (!reduced[d]) k = k * X.dim(d) + (i / strides[d]) % X.dim(d);
      key[i] = k;
    }
    int64_t groups = 1;
    for (int64_t d = 0; d < X.rank(); ++d)
      if (!reduced[d]) groups *= X.dim(d);
    TensorData Y = TensorData::allocate(X.dtype(), X.shape());
    const bool ok = dispatch<TypeList<float, double, half>>(X.dtype(), [&](auto tag) {
      using T = decltype(tag);
      std::vector<double> s(groups, 0), ss(groups, 0), cnt(groups, 0);
      for (int64_t i = 0; i < total; ++i) {
        const double v = static_cast<double>(X.data<T>()[i]);
        s[key[i]] += v;
        ss[key[i]] += v * v;
        cnt[key[i]] += 1;
      }
      for (int64_t i = 0; i < total; ++i) {
        const double mean = s[key[i]] / cnt[key[i]];
        const double var = ss[key[i]] / cnt[key[i]] - mean * mean;
        Y.data<T>()[i] = static_cast<T>((static_cast<double>(X.data<T>()[i]) - mean) / (std::sqrt(var) + 1e-9));
      }
    });
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(X.dtype()));
    ctx.outputs[0] = std::move(Y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> normKernels() {
  return {
      {"", "BatchNormalization", makeBatchNorm},
      {"", "InstanceNormalization", makeInstanceNorm},
      {"", "LayerNormalization", makeLayerNorm},
      {"", "GroupNormalization", makeGroupNorm},
      {"", "LRN", makeLrn},
      {"", "MeanVarianceNormalization", makeMvn},
  };
}

}  // namespace onnxpress::runtime
