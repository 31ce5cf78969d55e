// Signal kernels (ai.onnx):
//   DFT (17: axis attribute, default 1; 20: axis input, default -2): optional dft_length input
//       (zero-pads or truncates), inverse, onesided; real [..., 1] or complex [..., 2] input.
//       onesided=1 forward is an RFFT (floor(n/2)+1 bins); onesided=1 inverse is an IRFFT
//       (half spectrum in, real [..., 1] signal out, default dft_length 2*(n-1)), as the spec says.
//   STFT (17): frame_step, optional window and frame_length, onesided (default 1).
//   HannWindow, HammingWindow, BlackmanWindow (17): periodic, output_datatype.
//   MelWeightMatrix (17): the spec's reference formula, output_datatype.
// Transforms run in double: radix-2 FFT for power-of-two lengths, a direct DFT for short other
// lengths, Bluestein's chirp-z (over a radix-2 FFT) for long other lengths.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "KernelUtil.h"
#include "Families.h"

namespace onnxpress::runtime {
namespace {

// ---- type helpers ------------------------------------------------------------------------



template <typename T>
inline T fromDouble(double v) {
  if constexpr (kHalfLike<T>) return T(static_cast<float>(v));
  else if constexpr (std::is_integral_v<T>) {
    if (!(v == v)) return T(0);
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else return static_cast<T>(v);
}


/// Reads a 1-element numeric input as double.
Expected<double> scalarDouble(const KernelContext& ctx, size_t i, const char* what) {
  const TensorData& t = ctx.input(i);
  if (t.numElements() != 1) return kernelError(ctx, "{} must have one element, got {}", what, shapeToString(t.shape()));
  double v = 0;
  const bool ok = dispatch<NumericTypes>(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    v = toDouble(t.data<T>()[0]);
  });
  if (!ok) return unsupportedType(ctx, t.dtype());
  return v;
}

/// Reads a 1-element numeric input as int64 (integers exactly).
Expected<int64_t> scalarInt(const KernelContext& ctx, size_t i, const char* what) {
  const TensorData& t = ctx.input(i);
  if (t.numElements() != 1) return kernelError(ctx, "{} must have one element, got {}", what, shapeToString(t.shape()));
  int64_t v = 0;
  const bool ok = dispatch<NumericTypes>(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) v = static_cast<int64_t>(t.data<T>()[0]);
    else v = static_cast<int64_t>(std::clamp(toDouble(t.data<T>()[0]), -9.0e18, 9.0e18));
  });
  if (!ok) return unsupportedType(ctx, t.dtype());
  return v;
}

// ---- FFT -----------------------------------------------------------------------------------

struct Cpx {
  double re = 0, im = 0;
};
inline Cpx cmul(Cpx a, Cpx b) { return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re}; }
inline Cpx cconj(Cpx a) { return {a.re, -a.im}; }

inline bool isPow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

// e^{-2 pi i k / n} for k in [0, count).
std::vector<Cpx> twiddles(int64_t n, int64_t count) {
  std::vector<Cpx> tw(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    const double ang = -2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
    tw[static_cast<size_t>(k)] = {std::cos(ang), std::sin(ang)};
  }
  return tw;
}

// In-place forward radix-2 FFT of length m (a power of two); tw holds m/2 twiddles.
void radix2(Cpx* a, int64_t m, const std::vector<Cpx>& tw) {
  for (int64_t i = 1, j = 0; i < m; ++i) {  // bit reversal
    int64_t bit = m >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (int64_t len = 2; len <= m; len <<= 1) {
    const int64_t half = len >> 1, step = m / len;
    for (int64_t s = 0; s < m; s += len)
      for (int64_t k = 0; k < half; ++k) {
        const Cpx w = tw[static_cast<size_t>(k * step)];
        const Cpx u = a[s + k], v = cmul(a[s + k + half], w);
        a[s + k] = {u.re + v.re, u.im + v.im};
        a[s + k + half] = {u.re - v.re, u.im - v.im};
      }
  }
}

// A forward DFT of one length, shared read-only by all lines of a call.
class FftPlan {
 public:
  explicit FftPlan(int64_t n) : n_(n) {
    if (isPow2(n)) {
      kind_ = Kind::Radix2;
      tw_ = twiddles(n, std::max<int64_t>(n / 2, 1));
    } else if (n <= kDirectMax) {
      kind_ = Kind::Direct;
      tw_ = twiddles(n, n);
    } else {
      kind_ = Kind::Bluestein;
      m_ = 1;
      while (m_ < 2 * n - 1) m_ <<= 1;
      tw_ = twiddles(m_, m_ / 2);
      chirp_.resize(static_cast<size_t>(n));
      int64_t k2 = 0;  // k^2 mod 2n, kept exact for accurate angles
      for (int64_t k = 0; k < n; ++k) {  // e^{-pi i k^2 / n}
        const double ang = -std::numbers::pi * static_cast<double>(k2) / static_cast<double>(n);
        chirp_[static_cast<size_t>(k)] = {std::cos(ang), std::sin(ang)};
        k2 = (k2 + 2 * k + 1) % (2 * n);
      }
      kernel_.assign(static_cast<size_t>(m_), Cpx{});
      kernel_[0] = cconj(chirp_[0]);
      for (int64_t k = 1; k < n; ++k) kernel_[static_cast<size_t>(k)] = kernel_[static_cast<size_t>(m_ - k)] =
          cconj(chirp_[static_cast<size_t>(k)]);
      radix2(kernel_.data(), m_, tw_);
    }
  }

  /// Scratch size run() needs.
  int64_t scratchSize() const { return kind_ == Kind::Bluestein ? m_ : kind_ == Kind::Direct ? n_ : 0; }

  /// In-place forward DFT of a[0..n).
  void run(Cpx* a, Cpx* scratch) const {
    const int64_t n = n_;
    if (kind_ == Kind::Radix2) {
      radix2(a, n, tw_);
    } else if (kind_ == Kind::Direct) {
      for (int64_t k = 0; k < n; ++k) {
        double re = 0, im = 0;
        int64_t idx = 0;  // (k * t) mod n
        for (int64_t t = 0; t < n; ++t) {
          const Cpx w = tw_[static_cast<size_t>(idx)];
          re += a[t].re * w.re - a[t].im * w.im;
          im += a[t].re * w.im + a[t].im * w.re;
          idx += k;
          if (idx >= n) idx -= n;
        }
        scratch[k] = {re, im};
      }
      std::copy(scratch, scratch + n, a);
    } else {
      Cpx* b = scratch;
      for (int64_t k = 0; k < n; ++k) b[k] = cmul(a[k], chirp_[static_cast<size_t>(k)]);
      std::fill(b + n, b + m_, Cpx{});
      radix2(b, m_, tw_);
      for (int64_t k = 0; k < m_; ++k) b[k] = cconj(cmul(b[k], kernel_[static_cast<size_t>(k)]));
      radix2(b, m_, tw_);  // inverse via conj(fft(conj(.)))
      const double inv = 1.0 / static_cast<double>(m_);
      for (int64_t k = 0; k < n; ++k) {
        const Cpx c = {b[k].re * inv, -b[k].im * inv};
        a[k] = cmul(c, chirp_[static_cast<size_t>(k)]);
      }
    }
  }

 private:
  enum class Kind { Radix2, Direct, Bluestein };
  static constexpr int64_t kDirectMax = 64;
  int64_t n_;
  Kind kind_ = Kind::Direct;
  int64_t m_ = 0;
  std::vector<Cpx> tw_, chirp_, kernel_;
};

// ---- DFT -------------------------------------------------------------------------------------

struct DftAttrs {
  bool inverse = false, onesided = false;
  bool axisIsInput = false;  // opset 20
  int64_t axis = 1;
};

template <typename T>
void runDft(const TensorData& x, TensorData& y, int64_t axis, int64_t len, bool inverse, bool onesided, int threads) {
  const int64_t rank = x.rank();
  const int64_t cin = x.dim(-1), cout = y.dim(-1);
  const int64_t nIn = x.dim(axis), outLen = y.dim(axis);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int64_t d = axis + 1; d < rank - 1; ++d) inner *= x.dim(d);
  const bool irfft = inverse && onesided;
  const int64_t used = std::min(nIn, irfft ? len / 2 + 1 : len);  // input points read per line
  const T* xp = x.data<T>();
  T* yp = y.data<T>();
  const FftPlan plan(len);
  const int64_t lines = outer * inner;

  parallelFor(lines, threads, [&](int64_t begin, int64_t end) {
    std::vector<Cpx> buf(static_cast<size_t>(len)), scratch(static_cast<size_t>(std::max<int64_t>(plan.scratchSize(), 1)));
    for (int64_t line = begin; line < end; ++line) {
      const int64_t o = line / inner, i = line % inner;
      const T* src = xp + (o * nIn * inner + i) * cin;
      std::fill(buf.begin(), buf.end(), Cpx{});
      for (int64_t t = 0; t < used; ++t) {
        const T* e = src + t * inner * cin;
        buf[static_cast<size_t>(t)] = {toDouble(e[0]), cin == 2 ? toDouble(e[1]) : 0.0};
      }
      if (irfft) {  // rebuild the Hermitian spectrum; DC and Nyquist are taken as real
        buf[0].im = 0;
        if (len % 2 == 0) buf[static_cast<size_t>(len / 2)].im = 0;
        for (int64_t k = len / 2 + 1; k < len; ++k) buf[static_cast<size_t>(k)] = cconj(buf[static_cast<size_t>(len - k)]);
      }
      if (inverse) {
        for (Cpx& c : buf) c.im = -c.im;
        plan.run(buf.data(), scratch.data());
        const double s = 1.0 / static_cast<double>(len);
        for (Cpx& c : buf) c = {c.re * s, -c.im * s};
      } else {
        plan.run(buf.data(), scratch.data());
      }
      T* dst = yp + (o * outLen * inner + i) * cout;
      for (int64_t k = 0; k < outLen; ++k) {
        T* e = dst + k * inner * cout;
        e[0] = fromDouble<T>(buf[static_cast<size_t>(k)].re);
        if (cout == 2) e[1] = fromDouble<T>(buf[static_cast<size_t>(k)].im);
      }
    }
  }, std::max<int64_t>(1, 8192 / std::max<int64_t>(len, 1)));
}

Expected<KernelFn> makeDft(const KernelBuildContext& b) {
  DftAttrs a;
  a.inverse = b.node.intAttr("inverse", 0) != 0;
  a.onesided = b.node.intAttr("onesided", 0) != 0;
  a.axisIsInput = b.opset >= 20;
  a.axis = a.axisIsInput ? -2 : b.node.intAttr("axis", 1);
  return KernelFn([a](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const int64_t rank = x.rank();
    if (rank < 2 || (x.dim(-1) != 1 && x.dim(-1) != 2))
      return kernelError(ctx, "input must be [..., 1] (real) or [..., 2] (complex), got {}", shapeToString(x.shape()));
    int64_t axis = a.axis;
    if (a.axisIsInput && ctx.hasInput(2)) {
      ASSIGN_OR_RETURN(axis, scalarInt(ctx, 2, "axis"));
    }
    if (axis < -rank || axis > rank - 2 || axis == -1)
      return kernelError(ctx, "axis {} out of range for rank {} (the last dimension holds complex parts)", axis, rank);
    if (axis < 0) axis += rank;
    const int64_t nIn = x.dim(axis);
    const bool irfft = a.inverse && a.onesided;
    int64_t len = irfft ? 2 * (nIn - 1) : nIn;
    if (ctx.hasInput(1)) {
      ASSIGN_OR_RETURN(len, scalarInt(ctx, 1, "dft_length"));
    }
    if (len <= 0) return kernelError(ctx, "dft_length must be positive, got {}", len);
    Shape outShape = x.shape();
    outShape[static_cast<size_t>(axis)] = (a.onesided && !a.inverse) ? len / 2 + 1 : len;
    outShape.back() = irfft ? 1 : 2;
    TensorData y = TensorData::allocate(x.dtype(), outShape);
    if (y.numElements() > 0) {
      const bool ok = dispatch<FloatTypes>(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        runDft<T>(x, y, axis, len, a.inverse, a.onesided, ctx.threads);
      });
      if (!ok) return unsupportedType(ctx, x.dtype());
    }
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- STFT ------------------------------------------------------------------------------------

template <typename T>
void runStft(const TensorData& sig, const TensorData* window, TensorData& y, int64_t step, int64_t frameLen,
             int threads) {
  const int64_t batch = sig.dim(0), sigLen = sig.dim(1);
  const int64_t cin = sig.rank() == 3 ? sig.dim(2) : 1;
  const int64_t frames = y.dim(1), bins = y.dim(2);
  const int64_t used = window ? std::min(window->dim(0), frameLen) : frameLen;  // weighted samples per frame
  std::vector<double> win(static_cast<size_t>(used), 1.0);
  if (window)
    for (int64_t t = 0; t < used; ++t) win[static_cast<size_t>(t)] = toDouble(window->data<T>()[t]);
  const T* sp = sig.data<T>();
  T* yp = y.data<T>();
  const FftPlan plan(frameLen);

  parallelFor(batch * frames, threads, [&](int64_t begin, int64_t end) {
    std::vector<Cpx> buf(static_cast<size_t>(frameLen)),
        scratch(static_cast<size_t>(std::max<int64_t>(plan.scratchSize(), 1)));
    for (int64_t line = begin; line < end; ++line) {
      const int64_t bi = line / frames, f = line % frames;
      const int64_t start = f * step;
      std::fill(buf.begin(), buf.end(), Cpx{});
      const int64_t avail = std::min(used, sigLen - start);
      const T* src = sp + (bi * sigLen + start) * cin;
      for (int64_t t = 0; t < avail; ++t) {
        const double w = win[static_cast<size_t>(t)];
        buf[static_cast<size_t>(t)] = {toDouble(src[t * cin]) * w, cin == 2 ? toDouble(src[t * cin + 1]) * w : 0.0};
      }
      plan.run(buf.data(), scratch.data());
      T* dst = yp + line * bins * 2;
      for (int64_t k = 0; k < bins; ++k) {
        dst[2 * k] = fromDouble<T>(buf[static_cast<size_t>(k)].re);
        dst[2 * k + 1] = fromDouble<T>(buf[static_cast<size_t>(k)].im);
      }
    }
  }, std::max<int64_t>(1, 8192 / std::max<int64_t>(frameLen, 1)));
}

Expected<KernelFn> makeStft(const KernelBuildContext& b) {
  const bool onesided = b.node.intAttr("onesided", 1) != 0;
  return KernelFn([onesided](KernelContext& ctx) -> Status {
    const TensorData& sig = ctx.input(0);
    if (sig.rank() != 3 && sig.rank() != 2)
      return kernelError(ctx, "signal must be [batch, length, 1 or 2], got {}", shapeToString(sig.shape()));
    if (sig.rank() == 3 && sig.dim(2) != 1 && sig.dim(2) != 2)
      return kernelError(ctx, "signal's last dimension must be 1 (real) or 2 (complex), got {}", sig.dim(2));
    ASSIGN_OR_RETURN(int64_t step, scalarInt(ctx, 1, "frame_step"));
    if (step <= 0) return kernelError(ctx, "frame_step must be positive, got {}", step);
    const TensorData* window = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
    if (window && window->rank() != 1) return kernelError(ctx, "window must be 1-D, got {}", shapeToString(window->shape()));
    if (window && window->dtype() != sig.dtype()) return kernelError(ctx, "window must have the signal's dtype");
    int64_t frameLen = window ? window->dim(0) : sig.dim(1);
    if (ctx.hasInput(3)) {
      ASSIGN_OR_RETURN(frameLen, scalarInt(ctx, 3, "frame_length"));
    }
    if (frameLen <= 0) return kernelError(ctx, "frame_length must be positive, got {}", frameLen);
    if (frameLen > sig.dim(1))
      return kernelError(ctx, "frame_length {} exceeds the signal length {}", frameLen, sig.dim(1));
    const int64_t frames = 1 + (sig.dim(1) - frameLen) / step;
    const int64_t bins = onesided ? frameLen / 2 + 1 : frameLen;
    TensorData y = TensorData::allocate(sig.dtype(), {sig.dim(0), frames, bins, 2});
    if (y.numElements() > 0) {
      const bool ok = dispatch<FloatTypes>(sig.dtype(), [&](auto tag) {
        using T = decltype(tag);
        runStft<T>(sig, window, y, step, frameLen, ctx.threads);
      });
      if (!ok) return unsupportedType(ctx, sig.dtype());
    }
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- windows and MelWeightMatrix ------------------------------------------------------------

// Writes `values` as a 1-D or 2-D tensor of `dtype`.
Expected<TensorData> fromDoubles(const KernelContext& ctx, DataType dtype, Shape shape, const std::vector<double>& values) {
  TensorData y = TensorData::allocate(dtype, std::move(shape));
  const bool ok = dispatch<NumericTypes>(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = y.data<T>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = fromDouble<T>(values[i]);
  });
  if (!ok) return unsupportedType(ctx, dtype);
  return y;
}

Expected<DataType> outputDatatype(const KernelBuildContext& b) {
  const int64_t od = b.node.intAttr("output_datatype", static_cast<int64_t>(DataType::Float));
  if (!isKnownDataType(static_cast<int32_t>(od))) return buildError(b, "output_datatype {} is unknown", od);
  const DataType dt = static_cast<DataType>(od);
  const bool numeric = dispatch<NumericTypes>(dt, [](auto) {});
  if (!numeric) return buildError(b, "unsupported output_datatype {}", dataTypeName(dt));
  return dt;
}

enum class WindowKind { Hann, Hamming, Blackman };

template <WindowKind K>
Expected<KernelFn> makeWindow(const KernelBuildContext& b) {
  ASSIGN_OR_RETURN(DataType dt, outputDatatype(b));
  const bool periodic = b.node.intAttr("periodic", 1) != 0;
  return KernelFn([dt, periodic](KernelContext& ctx) -> Status {
    ASSIGN_OR_RETURN(int64_t size, scalarInt(ctx, 0, "size"));
    if (size < 0) return kernelError(ctx, "size must be >= 0, got {}", size);
    const int64_t denom = periodic ? size : size - 1;
    std::vector<double> v(static_cast<size_t>(size));
    constexpr double pi = std::numbers::pi;
    for (int64_t i = 0; i < size; ++i) {
      if (denom == 0) {  // a one-point symmetric window is [1], as torch
        v[static_cast<size_t>(i)] = 1.0;
        continue;
      }
      const double n = static_cast<double>(i), N = static_cast<double>(denom);
      double w;
      if constexpr (K == WindowKind::Hann) {
        const double s = std::sin(pi * n / N);
        w = s * s;
      } else if constexpr (K == WindowKind::Hamming) {
        constexpr double alpha = 25.0 / 46.0;
        w = alpha - (1.0 - alpha) * std::cos(2.0 * pi * n / N);
      } else {
        w = 0.42 - 0.5 * std::cos(2.0 * pi * n / N) + 0.08 * std::cos(4.0 * pi * n / N);
      }
      v[static_cast<size_t>(i)] = w;
    }
    ASSIGN_OR_RETURN(TensorData y, fromDoubles(ctx, dt, {size}, v));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makeMelWeightMatrix(const KernelBuildContext& b) {
  ASSIGN_OR_RETURN(DataType dt, outputDatatype(b));
  return KernelFn([dt](KernelContext& ctx) -> Status {
    ASSIGN_OR_RETURN(int64_t numMel, scalarInt(ctx, 0, "num_mel_bins"));
    ASSIGN_OR_RETURN(int64_t dftLen, scalarInt(ctx, 1, "dft_length"));
    ASSIGN_OR_RETURN(int64_t sampleRate, scalarInt(ctx, 2, "sample_rate"));
    ASSIGN_OR_RETURN(double lower, scalarDouble(ctx, 3, "lower_edge_hertz"));
    ASSIGN_OR_RETURN(double upper, scalarDouble(ctx, 4, "upper_edge_hertz"));
    if (numMel <= 0) return kernelError(ctx, "num_mel_bins must be positive, got {}", numMel);
    if (dftLen <= 0) return kernelError(ctx, "dft_length must be positive, got {}", dftLen);
    if (sampleRate <= 0) return kernelError(ctx, "sample_rate must be positive, got {}", sampleRate);
    if (!(lower > -700.0) || !(upper > -700.0) || !std::isfinite(lower) || !std::isfinite(upper))
      return kernelError(ctx, "bad lower_edge_hertz {} or upper_edge_hertz {}", lower, upper);
    const int64_t rows = dftLen / 2 + 1;
    // numMel + 2 band edges, evenly spaced in mel, mapped to spectrogram bins.
    const double lowMel = 2595.0 * std::log10(1.0 + lower / 700.0);
    const double highMel = 2595.0 * std::log10(1.0 + upper / 700.0);
    const double melStep = (highMel - lowMel) / static_cast<double>(numMel + 2);
    std::vector<int64_t> edge(static_cast<size_t>(numMel + 2));
    for (int64_t i = 0; i < numMel + 2; ++i) {
      const double mel = static_cast<double>(i) * melStep + lowMel;
      const double hz = 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
      const double bin = std::floor(static_cast<double>(dftLen + 1) * hz / static_cast<double>(sampleRate));
      if (!std::isfinite(bin) || std::abs(bin) > 1e15) return kernelError(ctx, "band edge {} Hz is out of range", hz);
      edge[static_cast<size_t>(i)] = static_cast<int64_t>(bin);
    }
    std::vector<double> w(static_cast<size_t>(rows * numMel), 0.0);
    auto set = [&](int64_t row, int64_t col, double v) {
      if (row >= 0 && row < rows) w[static_cast<size_t>(row * numMel + col)] = v;
    };
    for (int64_t i = 0; i < numMel; ++i) {
      const int64_t lo = edge[static_cast<size_t>(i)], center = edge[static_cast<size_t>(i + 1)],
                    hi = edge[static_cast<size_t>(i + 2)];
      const int64_t lowToCenter = center - lo;
      if (lowToCenter == 0) {
        set(center, i, 1.0);
      } else {
        for (int64_t j = std::max<int64_t>(lo, 0); j <= std::min(center, rows - 1); ++j)
          set(j, i, static_cast<double>(j - lo) / static_cast<double>(lowToCenter));
      }
      const int64_t centerToHigh = hi - center;
      if (centerToHigh > 0)
        for (int64_t j = std::max<int64_t>(center, 0); j < std::min(hi, rows); ++j)
          set(j, i, static_cast<double>(hi - j) / static_cast<double>(centerToHigh));
    }
    ASSIGN_OR_RETURN(TensorData y, fromDoubles(ctx, dt, {rows, numMel}, w));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> signalKernels() {
  return {
      {"", "DFT", makeDft},
      {"", "STFT", makeStft},
      {"", "HannWindow", makeWindow<WindowKind::Hann>},
      {"", "HammingWindow", makeWindow<WindowKind::Hamming>},
      {"", "BlackmanWindow", makeWindow<WindowKind::Blackman>},
      {"", "MelWeightMatrix", makeMelWeightMatrix},
  };
}

}  // namespace onnxpress::runtime
