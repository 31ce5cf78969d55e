// Conv and ConvTranspose, N-d, with groups, dilations, strides, pads and auto_pad.
//
// Conv: per image and group, Y_g[M/g, P] = W_g[M/g, C/g*K] x col[C/g*K, P], where
// col is the im2col expansion of X (skipped for 1x1 stride-1 unpadded kernels,
// where X already is col). Depthwise 2-D convolution (group == C == M) runs as a
// direct per-channel loop instead. ConvTranspose is the adjoint: col = W_g^T x X_g,
// then col2im scatter-adds col into Y.
#include <Eigen/Core>

#include "onnxpress/ir/ConvGeometry.h"
#include "Families.h"
#include "KernelUtil.h"

namespace onnxpress::runtime {
namespace {


// Expands one image-group X[C, in...] into col[C*K, out...] (zeros where padded).
template <typename T>
void im2col(const T* x, int64_t channels, const std::vector<int64_t>& in, const WindowGeometry& g, T* col) {
  const size_t n = in.size();
  int64_t inSize = 1, outSize = 1, kSize = 1;
  for (size_t i = 0; i < n; ++i) {
    inSize *= in[i];
    outSize *= g.out[i];
    kSize *= g.kernel[i];
  }
  if (n == 2) {
    const int64_t H = in[0], W = in[1], OH = g.out[0], OW = g.out[1], KH = g.kernel[0], KW = g.kernel[1];
    const int64_t sh = g.strides[0], sw = g.strides[1], dh = g.dilations[0], dw = g.dilations[1];
    const int64_t ph = g.padBegin[0], pw = g.padBegin[1];
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw) {
          T* row = col + ((c * KH + kh) * KW + kw) * outSize;
          const T* plane = x + c * inSize;
          for (int64_t oh = 0; oh < OH; ++oh) {
            const int64_t ih = oh * sh - ph + kh * dh;
            T* dst = row + oh * OW;
            if (ih < 0 || ih >= H) {
              std::fill(dst, dst + OW, T(0));
              continue;
            }
            const T* src = plane + ih * W;
            const int64_t base = kw * dw - pw;
            if (sw == 1) {
              const int64_t lo = std::clamp<int64_t>(-base, 0, OW), hi = std::clamp<int64_t>(W - base, 0, OW);
              std::fill(dst, dst + lo, T(0));
              if (hi > lo) std::copy(src + base + lo, src + base + hi, dst + lo);
              std::fill(dst + std::max(lo, hi), dst + OW, T(0));
            } else {
              for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t iw = ow * sw + base;
                dst[ow] = (iw >= 0 && iw < W) ? src[iw] : T(0);
              }
            }
          }
        }
    return;
  }
  // Generic N-d: odometer over kernel offsets and output positions.
  std::vector<int64_t> k(n, 0), o(n, 0);
  for (int64_t c = 0; c < channels; ++c) {
    const T* plane = x + c * inSize;
    for (int64_t kk = 0; kk < kSize; ++kk) {
      int64_t rem = kk;
      for (size_t d = n; d-- > 0;) {
        k[d] = rem % g.kernel[d];
        rem /= g.kernel[d];
      }
      T* row = col + (c * kSize + kk) * outSize;
      for (int64_t p = 0; p < outSize; ++p) {
        int64_t r = p, offset = 0;
        bool inside = true;
        for (size_t d = n; d-- > 0;) {
          o[d] = r % g.out[d];
          r /= g.out[d];
        }
        int64_t stride = 1;
        for (size_t d = n; d-- > 0;) {
          const int64_t pos = o[d] * g.strides[d] - g.padBegin[d] + k[d] * g.dilations[d];
          if (pos < 0 || pos >= in[d]) inside = false;
          offset += pos * stride;
          stride *= in[d];
        }
        row[p] = inside ? plane[offset] : T(0);
      }
    }
  }
}

// Scatter-adds col[C*K, in...] into y[C, out...] (the adjoint of im2col, roles of in/out swapped).
template <typename T>
void col2im(const T* col, int64_t channels, const std::vector<int64_t>& out, const WindowGeometry& g,
            const std::vector<int64_t>& in, T* y) {
  const size_t n = out.size();
  int64_t outSize = 1, inSize = 1, kSize = 1;
  for (size_t i = 0; i < n; ++i) {
    outSize *= out[i];
    inSize *= in[i];
    kSize *= g.kernel[i];
  }
  std::vector<int64_t> k(n), p(n);
  for (int64_t c = 0; c < channels; ++c) {
    T* plane = y + c * outSize;
    for (int64_t kk = 0; kk < kSize; ++kk) {
      int64_t rem = kk;
      for (size_t d = n; d-- > 0;) {
        k[d] = rem % g.kernel[d];
        rem /= g.kernel[d];
      }
      const T* row = col + (c * kSize + kk) * inSize;
      for (int64_t q = 0; q < inSize; ++q) {
        int64_t r = q, offset = 0, stride = 1;
        bool inside = true;
        for (size_t d = n; d-- > 0;) {
          p[d] = r % in[d];
          r /= in[d];
        }
        for (size_t d = n; d-- > 0;) {
          const int64_t pos = p[d] * g.strides[d] - g.padBegin[d] + k[d] * g.dilations[d];
          if (pos < 0 || pos >= out[d]) inside = false;
          offset += pos * stride;
          stride *= out[d];
        }
        if (inside) plane[offset] += row[q];
      }
    }
  }
}

// Direct depthwise 2-D convolution: one filter per channel. For each kernel tap
// the in-bounds output columns form one range, so the inner loop is a plain
// multiply-add over a row that the compiler vectorizes (contiguous for stride 1).
template <typename T>
void depthwise2d(const T* x, const T* w, const T* bias, int64_t channels, const std::vector<int64_t>& in,
                 const WindowGeometry& g, T* y, int threads) {
  const int64_t H = in[0], W = in[1], OH = g.out[0], OW = g.out[1], KH = g.kernel[0], KW = g.kernel[1];
  const int64_t sh = g.strides[0], sw = g.strides[1], dh = g.dilations[0], dw = g.dilations[1];
  const int64_t ph = g.padBegin[0], pw = g.padBegin[1];
  // Output columns [lo, hi) whose input column ow*sw + kw*dw - pw lies in [0, W).
  std::vector<int64_t> lo(KW), hi(KW);
  for (int64_t kw = 0; kw < KW; ++kw) {
    const int64_t base = kw * dw - pw;
    lo[kw] = std::clamp<int64_t>((-base + sw - 1) / sw, 0, OW);
    if (base >= 0) lo[kw] = 0;
    hi[kw] = std::clamp<int64_t>((W - base + sw - 1) / sw, 0, OW);
  }
  parallelFor(channels, threads, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const T* plane = x + c * H * W;
      const T* filter = w + c * KH * KW;
      const T b = bias ? bias[c] : T(0);
      for (int64_t oh = 0; oh < OH; ++oh) {
        T* dst = y + (c * OH + oh) * OW;
        std::fill(dst, dst + OW, b);
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t ih = oh * sh - ph + kh * dh;
          if (ih < 0 || ih >= H) continue;
          const T* src = plane + ih * W;
          for (int64_t kw = 0; kw < KW; ++kw) {
            const T wv = filter[kh * KW + kw];
            const T* s = src + kw * dw - pw;
            if (sw == 1) {
              for (int64_t ow = lo[kw]; ow < hi[kw]; ++ow) dst[ow] += s[ow] * wv;
            } else {
              for (int64_t ow = lo[kw]; ow < hi[kw]; ++ow) dst[ow] += s[ow * sw] * wv;
            }
          }
        }
      }
    }
  }, 1);
}

Expected<KernelFn> makeConv(const KernelBuildContext& b) {
  WindowAttrs attrs = WindowAttrs::read(b.node);
  const int64_t group = b.node.intAttr("group", 1);
  if (group < 1) return buildError(b, "group must be >= 1");
  return KernelFn([attrs, group](KernelContext& ctx) -> Status {
    const TensorData& X = ctx.input(0);
    const TensorData& Wt = ctx.input(1);
    if (X.rank() < 3 || Wt.rank() != X.rank()) return kernelError(ctx, "X {} and W {} must be N-d with N >= 3",
                                                                  shapeToString(X.shape()), shapeToString(Wt.shape()));
    const int64_t N = X.dim(0), C = X.dim(1), M = Wt.dim(0);
    if (C != Wt.dim(1) * group || M % group != 0)
      return kernelError(ctx, "channels {} do not match W {} with group {}", C, shapeToString(Wt.shape()), group);
    std::vector<int64_t> in(X.shape().begin() + 2, X.shape().end());
    std::vector<int64_t> kernel(Wt.shape().begin() + 2, Wt.shape().end());
    ASSIGN_OR_RETURN(WindowGeometry g, resolveWindow(attrs, in, kernel, ctx.where()));
    Shape outShape = {N, M};
    outShape.insert(outShape.end(), g.out.begin(), g.out.end());
    TensorData Y = TensorData::allocate(X.dtype(), outShape);
    const bool hasBias = ctx.hasInput(2);
    const bool ok = dispatch<TypeList<float, double>>(X.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* x = X.data<T>();
      const T* w = Wt.data<T>();
      const T* bias = hasBias ? ctx.input(2).data<T>() : nullptr;
      T* y = Y.data<T>();
      int64_t inSize = 1, outSize = 1, kSize = 1;
      for (size_t i = 0; i < in.size(); ++i) {
        inSize *= in[i];
        outSize *= g.out[i];
        kSize *= kernel[i];
      }
      const int64_t cg = C / group, mg = M / group;
      if (group == C && M == C && in.size() == 2) {
        for (int64_t n = 0; n < N; ++n)
          depthwise2d(x + n * C * inSize, w, bias, C, in, g, y + n * M * outSize, ctx.threads);
        return;
      }
      bool pointwise = true;
      for (size_t i = 0; i < in.size(); ++i)
        if (kernel[i] != 1 || g.strides[i] != 1 || g.padBegin[i] != 0 || g.out[i] != in[i]) pointwise = false;
      std::vector<T> col(pointwise ? 0 : static_cast<size_t>(cg * kSize * outSize));
      for (int64_t n = 0; n < N; ++n)
        for (int64_t gi = 0; gi < group; ++gi) {
          const T* xg = x + (n * C + gi * cg) * inSize;
          const T* colPtr = xg;
          if (!pointwise) {
            im2col(xg, cg, in, g, col.data());
            colPtr = col.data();
          }
          ConstMatrixMap<T> Wm(w + gi * mg * cg * kSize, mg, cg * kSize);
          ConstMatrixMap<T> Cm(colPtr, cg * kSize, outSize);
          MatrixMap<T> Ym(y + (n * M + gi * mg) * outSize, mg, outSize);
          Ym.noalias() = Wm * Cm;
          if (bias)
            for (int64_t m = 0; m < mg; ++m) Ym.row(m).array() += bias[gi * mg + m];
        }
    });
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(X.dtype()));
    ctx.outputs[0] = std::move(Y);
    return Status::ok();
  });
}

Expected<KernelFn> makeConvTranspose(const KernelBuildContext& b) {
  WindowAttrs attrs = WindowAttrs::read(b.node);
  const int64_t group = b.node.intAttr("group", 1);
  const std::vector<int64_t> outputPadding = b.node.intsAttr("output_padding");
  const std::vector<int64_t> outputShape = b.node.intsAttr("output_shape");
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& X = ctx.input(0);
    const TensorData& Wt = ctx.input(1);
    if (X.rank() < 3 || Wt.rank() != X.rank()) return kernelError(ctx, "X and W must be N-d with N >= 3");
    const int64_t N = X.dim(0), C = X.dim(1), M = Wt.dim(1) * group;
    if (Wt.dim(0) != C) return kernelError(ctx, "W {} does not match {} input channels", shapeToString(Wt.shape()), C);
    const size_t n = static_cast<size_t>(X.rank() - 2);
    std::vector<int64_t> in(X.shape().begin() + 2, X.shape().end());
    WindowGeometry g;
    g.kernel.assign(Wt.shape().begin() + 2, Wt.shape().end());
    if (!attrs.kernel.empty()) g.kernel = attrs.kernel;
    g.strides = attrs.strides.empty() ? std::vector<int64_t>(n, 1) : attrs.strides;
    g.dilations = attrs.dilations.empty() ? std::vector<int64_t>(n, 1) : attrs.dilations;
    std::vector<int64_t> pads = attrs.pads.empty() ? std::vector<int64_t>(2 * n, 0) : attrs.pads;
    std::vector<int64_t> opad = outputPadding.empty() ? std::vector<int64_t>(n, 0) : outputPadding;
    std::vector<int64_t> out(n);
    g.padBegin.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const int64_t effective = (g.kernel[i] - 1) * g.dilations[i] + 1;
      const int64_t full = g.strides[i] * (in[i] - 1) + opad[i] + effective;
      int64_t target = -1;
      if (!outputShape.empty()) target = outputShape[outputShape.size() - n + i];
      else if (attrs.autoPad == "SAME_UPPER" || attrs.autoPad == "SAME_LOWER") target = in[i] * g.strides[i];
      if (target >= 0) {
        const int64_t total = full - target;  // may be negative: the output grows at the end
        const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);  // floor(total / 2), as the spec's Python
        g.padBegin[i] = attrs.autoPad == "SAME_UPPER" ? half : total - half;
        out[i] = target;
      } else {
        g.padBegin[i] = pads[i];
        out[i] = full - pads[i] - pads[i + n];
      }
    }
    g.out = in;
    Shape outShape = {N, M};
    outShape.insert(outShape.end(), out.begin(), out.end());
    TensorData Y = TensorData::zeros(X.dtype(), outShape);
    const bool ok = dispatch<TypeList<float, double>>(X.dtype(), [&](auto tag) {
      using T = decltype(tag);
      int64_t inSize = 1, outSize = 1, kSize = 1;
      for (size_t i = 0; i < n; ++i) {
        inSize *= in[i];
        outSize *= out[i];
        kSize *= g.kernel[i];
      }
      const int64_t cg = C / group, mg = M / group;
      std::vector<T> col(static_cast<size_t>(mg * kSize * inSize));
      for (int64_t b0 = 0; b0 < N; ++b0)
        for (int64_t gi = 0; gi < group; ++gi) {
          ConstMatrixMap<T> Wm(Wt.data<T>() + gi * cg * mg * kSize, cg, mg * kSize);
          ConstMatrixMap<T> Xm(X.data<T>() + (b0 * C + gi * cg) * inSize, cg, inSize);
          MatrixMap<T> Cm(col.data(), mg * kSize, inSize);
          Cm.noalias() = Wm.transpose() * Xm;
          col2im(col.data(), mg, out, g, in, Y.data<T>() + (b0 * M + gi * mg) * outSize);
        }
      if (ctx.hasInput(2)) {
        const T* bias = ctx.input(2).data<T>();
        T* y = Y.data<T>();
        for (int64_t b0 = 0; b0 < N; ++b0)
          for (int64_t m = 0; m < M; ++m) {
            T* plane = y + (b0 * M + m) * outSize;
            for (int64_t p = 0; p < outSize; ++p) plane[p] += bias[m];
          }
      }
    });
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(X.dtype()));
    ctx.outputs[0] = std::move(Y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> convKernels() {
  return {
      {"", "Conv", makeConv},
      {"", "ConvTranspose", makeConvTranspose},
  };
}

}  // namespace onnxpress::runtime
