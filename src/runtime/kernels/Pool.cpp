// Pools: MaxPool (with optional Indices), AveragePool, LpPool, GlobalAveragePool,
// GlobalMaxPool, GlobalLpPool. N-d windows with pads, strides, dilations,
// auto_pad and ceil_mode (ConvGeometry). AveragePool divides by the window's
// in-bounds size unless count_include_pad=1.
#include "onnxpress/ir/ConvGeometry.h"
#include "Families.h"
#include "KernelUtil.h"

namespace onnxpress::runtime {
namespace {

enum class PoolKind { Max, Average, Lp };

// Visits every in-bounds input offset of the window of output position `p`;
// returns how many positions the window has including padding.
template <typename Fn>
int64_t forEachInWindow(int64_t p, const std::vector<int64_t>& in, const WindowGeometry& g, Fn&& fn) {
  const size_t n = in.size();
  int64_t o[8], start[8];
  int64_t r = p;
  for (size_t d = n; d-- > 0;) {
    o[d] = r % g.out[d];
    r /= g.out[d];
    start[d] = o[d] * g.strides[d] - g.padBegin[d];
  }
  int64_t kSize = 1;
  for (size_t d = 0; d < n; ++d) kSize *= g.kernel[d];
  int64_t counted = 0;
  for (int64_t kk = 0; kk < kSize; ++kk) {
    int64_t rem = kk, offset = 0, stride = 1;
    bool inside = true;
    int64_t k[8];
    for (size_t d = n; d-- > 0;) {
      k[d] = rem % g.kernel[d];
      rem /= g.kernel[d];
    }
    for (size_t d = n; d-- > 0;) {
      const int64_t pos = start[d] + k[d] * g.dilations[d];
      if (pos < 0 || pos >= in[d]) inside = false;
      offset += pos * stride;
      stride *= in[d];
    }
    if (inside) fn(offset);
    ++counted;
  }
  return counted;
}

// Window size counted with padding but clipped to the padded extent (ONNX count_include_pad).
int64_t paddedWindowSize(int64_t p, const std::vector<int64_t>& in, const WindowGeometry& g,
                         const std::vector<int64_t>& padEnd) {
  const size_t n = in.size();
  int64_t r = p, size = 1;
  std::vector<int64_t> o(n);
  for (size_t d = n; d-- > 0;) {
    o[d] = r % g.out[d];
    r /= g.out[d];
  }
  for (size_t d = 0; d < n; ++d) {
    const int64_t start = o[d] * g.strides[d] - g.padBegin[d];
    int64_t count = 0;
    for (int64_t k = 0; k < g.kernel[d]; ++k) {
      const int64_t pos = start + k * g.dilations[d];
      if (pos >= -g.padBegin[d] && pos < in[d] + padEnd[d]) ++count;
    }
    size *= count;
  }
  return size;
}

// 2-D max / average pooling of one plane with the window clamped to the input
// once per output position (the common case; N-d and Lp use forEachInWindow).
template <typename T>
void pool2dPlane(const T* src, T* dst, int64_t* indices, int64_t indexBase, PoolKind kind, const std::vector<int64_t>& in,
                 const WindowGeometry& g, const std::vector<int64_t>& padEnd, bool countIncludePad) {
  const int64_t H = in[0], W = in[1], OH = g.out[0], OW = g.out[1];
  const int64_t KH = g.kernel[0], KW = g.kernel[1], sh = g.strides[0], sw = g.strides[1];
  const int64_t dh = g.dilations[0], dw = g.dilations[1], ph = g.padBegin[0], pw = g.padBegin[1];
  // In-bounds taps [lo, hi) of the window starting at `start` (0 <= start + k*d < size).
  auto tapRange = [](int64_t start, int64_t k, int64_t d, int64_t size) {
    const int64_t lo = start >= 0 ? 0 : (-start + d - 1) / d;
    const int64_t hi = std::min(k, start < size ? (size - start + d - 1) / d : 0);
    return std::pair<int64_t, int64_t>{lo, hi};
  };
  std::vector<std::pair<int64_t, int64_t>> cols(static_cast<size_t>(OW));
  for (int64_t ow = 0; ow < OW; ++ow) cols[ow] = tapRange(ow * sw - pw, KW, dw, W);
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t h0 = oh * sh - ph;
    const auto [khLo, khHi] = tapRange(h0, KH, dh, H);
    for (int64_t ow = 0; ow < OW; ++ow) {
      const int64_t w0 = ow * sw - pw;
      const auto [kwLo, kwHi] = cols[ow];
      if (kind == PoolKind::Max) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t bestAt = -1;
        for (int64_t kh = khLo; kh < khHi; ++kh) {
          const T* row = src + (h0 + kh * dh) * W + w0;
          for (int64_t kw = kwLo; kw < kwHi; ++kw) {
            const float v = static_cast<float>(row[kw * dw]);
            if (v > best || bestAt < 0) {
              best = v;
              bestAt = (h0 + kh * dh) * W + w0 + kw * dw;
            }
          }
        }
        dst[oh * OW + ow] = bestAt >= 0 ? src[bestAt] : T(best);
        if (indices) indices[oh * OW + ow] = indexBase + bestAt;
      } else {
        double sum = 0;
        for (int64_t kh = khLo; kh < khHi; ++kh) {
          const T* row = src + (h0 + kh * dh) * W + w0;
          for (int64_t kw = kwLo; kw < kwHi; ++kw) sum += static_cast<double>(row[kw * dw]);
        }
        int64_t divisor = std::max<int64_t>(0, khHi - khLo) * std::max<int64_t>(0, kwHi - kwLo);
        if (countIncludePad) {  // taps inside the padded extent [-pad, in + padEnd)
          auto padded = [](int64_t start, int64_t k, int64_t d, int64_t lo, int64_t hi) {
            int64_t n = 0;
            for (int64_t t = 0; t < k; ++t) n += (start + t * d >= lo && start + t * d < hi);
            return n;
          };
          divisor = padded(h0, KH, dh, -ph, H + padEnd[0]) * padded(w0, KW, dw, -pw, W + padEnd[1]);
        }
        dst[oh * OW + ow] = static_cast<T>(divisor > 0 ? sum / static_cast<double>(divisor) : 0.0);
      }
    }
  }
}

Expected<KernelFn> makePool(const KernelBuildContext& b, PoolKind kind) {
  WindowAttrs attrs = WindowAttrs::read(b.node);
  if (attrs.kernel.empty()) return buildError(b, "kernel_shape is required");
  const bool countIncludePad = b.node.intAttr("count_include_pad", 0) != 0;
  const int64_t storageOrder = b.node.intAttr("storage_order", 0);
  const float p = static_cast<float>(b.node.intAttr("p", 2));
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& X = ctx.input(0);
    if (X.rank() < 3 || static_cast<size_t>(X.rank() - 2) != attrs.kernel.size() || X.rank() > 10)
      return kernelError(ctx, "input {} does not match kernel_shape", shapeToString(X.shape()));
    std::vector<int64_t> in(X.shape().begin() + 2, X.shape().end());
    ASSIGN_OR_RETURN(WindowGeometry g, resolveWindow(attrs, in, attrs.kernel, ctx.where()));
    const size_t n = in.size();
    std::vector<int64_t> padEnd(n, 0);
    for (size_t d = 0; d < n; ++d) padEnd[d] = attrs.pads.empty() ? 0 : attrs.pads[d + n];
    if (attrs.autoPad != "NOTSET" && attrs.autoPad != "VALID")
      for (size_t d = 0; d < n; ++d)
        padEnd[d] = std::max<int64_t>(0, (g.out[d] - 1) * g.strides[d] + (g.kernel[d] - 1) * g.dilations[d] + 1 -
                                             in[d] - g.padBegin[d]);
    Shape outShape = {X.dim(0), X.dim(1)};
    outShape.insert(outShape.end(), g.out.begin(), g.out.end());
    TensorData Y = TensorData::allocate(X.dtype(), outShape);
    const bool wantIndices = ctx.outputs.size() > 1 && ctx.node.output(1);
    TensorData I = wantIndices ? TensorData::allocate(DataType::Int64, outShape) : TensorData();
    int64_t inSize = 1, outSize = 1;
    for (size_t d = 0; d < n; ++d) {
      inSize *= in[d];
      outSize *= g.out[d];
    }
    const int64_t planes = X.dim(0) * X.dim(1);
    const bool ok = dispatch<TypeList<float, double, half, int8_t, uint8_t>>(X.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* x = X.data<T>();
      T* y = Y.data<T>();
      const bool fast2d = n == 2 && kind != PoolKind::Lp && !(wantIndices && storageOrder == 1);
      parallelFor(planes, ctx.threads, [&](int64_t p0, int64_t p1) {
        for (int64_t plane = p0; plane < p1; ++plane) {
          const T* src = x + plane * inSize;
          if (fast2d) {
            pool2dPlane(src, y + plane * outSize, wantIndices ? I.data<int64_t>() + plane * outSize : nullptr,
                        plane * inSize, kind, in, g, padEnd, countIncludePad);
            continue;
          }
          for (int64_t q = 0; q < outSize; ++q) {
            T* dst = y + plane * outSize + q;
            if (kind == PoolKind::Max) {
              float best = -std::numeric_limits<float>::infinity();
              int64_t bestAt = -1;
              forEachInWindow(q, in, g, [&](int64_t off) {
                const float v = static_cast<float>(src[off]);
                if (v > best || bestAt < 0) {
                  best = v;
                  bestAt = off;
                }
              });
              *dst = bestAt >= 0 ? src[bestAt] : T(best);
              if (wantIndices) {
                int64_t index = plane * inSize + bestAt;
                if (storageOrder == 1 && n == 2) {  // column-major within the plane
                  const int64_t h = bestAt / in[1], w = bestAt % in[1];
                  index = plane * inSize + w * in[0] + h;
                }
                I.data<int64_t>()[plane * outSize + q] = index;
              }
            } else if (kind == PoolKind::Average) {
              double sum = 0;
              int64_t count = 0;
              forEachInWindow(q, in, g, [&](int64_t off) {
                sum += static_cast<double>(src[off]);
                ++count;
              });
              const int64_t divisor = countIncludePad ? paddedWindowSize(q, in, g, padEnd) : count;
              *dst = static_cast<T>(divisor > 0 ? sum / static_cast<double>(divisor) : 0.0);
            } else {
              double sum = 0;
              forEachInWindow(q, in, g, [&](int64_t off) { sum += std::pow(std::abs(static_cast<double>(src[off])), p); });
              *dst = static_cast<T>(std::pow(sum, 1.0 / p));
            }
          }
        }
      }, 1);
    });
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(X.dtype()));
    ctx.outputs[0] = std::move(Y);
    if (wantIndices) ctx.outputs[1] = std::move(I);
    return Status::ok();
  });
}

Expected<KernelFn> makeMaxPool(const KernelBuildContext& b) { return makePool(b, PoolKind::Max); }
Expected<KernelFn> makeAveragePool(const KernelBuildContext& b) { return makePool(b, PoolKind::Average); }
Expected<KernelFn> makeLpPool(const KernelBuildContext& b) { return makePool(b, PoolKind::Lp); }

Expected<KernelFn> makeGlobalPool(const KernelBuildContext& b, PoolKind kind) {
  const double p = static_cast<double>(b.node.intAttr("p", 2));
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& X = ctx.input(0);
    if (X.rank() < 2) return kernelError(ctx, "input must have rank >= 2");
    Shape outShape = {X.dim(0), X.dim(1)};
    int64_t inner = 1;
    for (int64_t d = 2; d < X.rank(); ++d) {
      outShape.push_back(1);
      inner *= X.dim(d);
    }
    TensorData Y = TensorData::allocate(X.dtype(), outShape);
    const int64_t planes = X.dim(0) * X.dim(1);
    const bool ok = dispatch<TypeList<float, double, half>>(X.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* x = X.data<T>();
      T* y = Y.data<T>();
      parallelFor(planes, ctx.threads, [&](int64_t p0, int64_t p1) {
        for (int64_t plane = p0; plane < p1; ++plane) {
          const T* src = x + plane * inner;
          double acc = kind == PoolKind::Max ? -std::numeric_limits<double>::infinity() : 0.0;
          for (int64_t i = 0; i < inner; ++i) {
            const double v = static_cast<double>(src[i]);
            if (kind == PoolKind::Max) acc = std::max(acc, v);
            else if (kind == PoolKind::Average) acc += v;
            else acc += std::pow(std::abs(v), p);
          }
          if (kind == PoolKind::Average) acc /= static_cast<double>(std::max<int64_t>(inner, 1));
          if (kind == PoolKind::Lp) acc = std::pow(acc, 1.0 / p);
          y[plane] = static_cast<T>(acc);
        }
      }, 64);
    });
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(X.dtype()));
    ctx.outputs[0] = std::move(Y);
    return Status::ok();
  });
}

Expected<KernelFn> makeGlobalAveragePool(const KernelBuildContext& b) { return makeGlobalPool(b, PoolKind::Average); }
Expected<KernelFn> makeGlobalMaxPool(const KernelBuildContext& b) { return makeGlobalPool(b, PoolKind::Max); }
Expected<KernelFn> makeGlobalLpPool(const KernelBuildContext& b) { return makeGlobalPool(b, PoolKind::Lp); }

}  // namespace

std::vector<KernelEntry> poolKernels() {
  return {
      {"", "MaxPool", makeMaxPool},
      {"", "AveragePool", makeAveragePool},
      {"", "LpPool", makeLpPool},
      {"", "GlobalAveragePool", makeGlobalAveragePool},
      {"", "GlobalMaxPool", makeGlobalMaxPool},
      {"", "GlobalLpPool", makeGlobalLpPool},
  };
}

}  // namespace onnxpress::runtime
