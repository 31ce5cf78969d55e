// Resize and Upsample: nearest, linear and cubic modes, every
// coordinate_transformation_mode and nearest_mode, and from opset 18 antialias, axes
// and keep_aspect_ratio_policy. Each output axis gets a table of (input offset,
// weight) taps; nearest copies one element by size (any whole-byte dtype), linear and
// cubic sum the weighted taps per numeric dtype.
#include <array>
#include <cstring>
#include <limits>

#include "Families.h"
#include "ShapeCommon.h"

namespace onnxpress::runtime {
namespace {

using namespace shapeops;

struct ResizeConfig {
  enum class Mode { Nearest, Linear, Cubic } mode = Mode::Nearest;
  enum class Coord { HalfPixel, HalfPixelSymmetric, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNn,
                     TfCropAndResize } coord = Coord::HalfPixel;
  // Simple: Upsample and Resize-10 (floor when upsampling, ceil when downsampling).
  enum class Round { PreferFloor, PreferCeil, Floor, Ceil, Simple } round = Round::PreferFloor;
  double cubicA = -0.75;
  bool excludeOutside = false;
  double extrapolation = 0;
  bool antialias = false;
  int aspect = 0;  // 0 stretch, 1 not_larger, 2 not_smaller
  std::vector<int64_t> axes;
  int roiInput = -1, scalesInput = -1, sizesInput = -1;
  bool hasScalesAttr = false;
  std::vector<float> scalesAttr;
};

/// Interpolation taps of one axis: for output index o, k (input offset, weight) pairs.
struct AxisTaps {
  int64_t k = 1;
  std::vector<int64_t> off;
  std::vector<double> w;
  std::vector<uint8_t> outside;  // tf_crop_and_resize: use the extrapolation value
  bool identity = false;
};

AxisTaps buildTaps(const ResizeConfig& cfg, int64_t inLen, int64_t outLen, double scale, double roiStart,
                   double roiEnd, int64_t stride) {
  using C = ResizeConfig::Coord;
  using R = ResizeConfig::Round;
  const double outF = scale * static_cast<double>(inLen);  // the reference's (float) output length
  const double in = static_cast<double>(inLen);
  // Taps per output index before packing: at most maxTaps each.
  const bool aa = cfg.antialias && scale < 1 && cfg.mode != ResizeConfig::Mode::Nearest;
  const int64_t aaStart =
      aa ? static_cast<int64_t>(std::floor((cfg.mode == ResizeConfig::Mode::Cubic ? -2.0 : -1.0) / scale)) + 1 : 0;
  const size_t maxTaps = aa ? static_cast<size_t>(2 - 2 * aaStart)
                            : cfg.mode == ResizeConfig::Mode::Nearest ? 1 : cfg.mode == ResizeConfig::Mode::Linear ? 2 : 4;
  std::vector<std::pair<int64_t, double>> all(static_cast<size_t>(outLen) * maxTaps);
  std::vector<size_t> counts(static_cast<size_t>(outLen), 0);
  AxisTaps t;
  t.outside.assign(static_cast<size_t>(outLen), 0);
  std::vector<std::pair<int64_t, double>> taps;
  for (int64_t x = 0; x < outLen; ++x) {
    const double xr = static_cast<double>(x);
    double xo = 0;
    switch (cfg.coord) {
      case C::HalfPixel: xo = (xr + 0.5) / scale - 0.5; break;
      case C::HalfPixelSymmetric: {
        const double adj = static_cast<double>(outLen) / outF, center = in / 2;
        xo = center * (1 - adj) + (xr + 0.5) / scale - 0.5;
        break;
      }
      case C::PytorchHalfPixel: xo = outF > 1 ? (xr + 0.5) / scale - 0.5 : 0; break;
      case C::AlignCorners: xo = outF == 1 ? 0 : xr * (in - 1) / (outF - 1); break;
      case C::Asymmetric: xo = xr / scale; break;
      case C::TfHalfPixelForNn: xo = (xr + 0.5) / scale; break;
      case C::TfCropAndResize:
        xo = outF == 1 ? (roiEnd - roiStart) * (in - 1) / 2 : xr * (roiEnd - roiStart) * (in - 1) / (outF - 1);
        xo += roiStart * (in - 1);
        if (xo < 0 || xo > in - 1) t.outside[static_cast<size_t>(x)] = 1;
        break;
    }
    taps.clear();
    if (cfg.mode == ResizeConfig::Mode::Nearest) {
      int64_t i;
      if (cfg.round == R::Simple) {
        i = scale < 1 ? static_cast<int64_t>(std::ceil(xo)) : static_cast<int64_t>(xo);
      } else {
        const double fl = std::floor(xo), ratio = xo - fl;
        i = static_cast<int64_t>(fl);
        if (ratio != 0) {
          switch (cfg.round) {
            case R::PreferFloor: i += ratio > 0.5; break;
            case R::PreferCeil: i += ratio >= 0.5; break;
            case R::Ceil: i += 1; break;
            default: break;
          }
        }
      }
      taps.emplace_back(i, 1.0);
    } else {
      // Neighbours x_int + i with ratio in (0, 1], as in the ONNX reference.
      double fl = std::floor(xo), ratio = xo - fl;
      if (ratio == 0) {
        ratio = 1;
        fl -= 1;
      }
      const int64_t base = static_cast<int64_t>(fl);
      const double a = cfg.cubicA;
      if (aa) {
        const bool cubic = cfg.mode == ResizeConfig::Mode::Cubic;
        double sum = 0;
        for (int64_t i = aaStart; i < aaStart + static_cast<int64_t>(maxTaps); ++i) {
          const double d = std::abs(scale * (static_cast<double>(i) - ratio));
          double c;
          if (!cubic) c = std::clamp(1 - d, 0.0, 1.0);
          else if (d <= 1) c = ((a + 2) * d - (a + 3)) * d * d + 1;
          else if (d < 2) c = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
          else c = 0;
          taps.emplace_back(base + i, c);
          sum += c;
        }
        if (sum != 0)
          for (auto& tp : taps) tp.second /= sum;
      } else if (cfg.mode == ResizeConfig::Mode::Linear) {
        taps.emplace_back(base, 1 - ratio);
        taps.emplace_back(base + 1, ratio);
      } else {
        const double r1 = ratio + 1, r2 = 1 - ratio, r3 = 2 - ratio;
        taps.emplace_back(base - 1, ((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a);
        taps.emplace_back(base, ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1);
        taps.emplace_back(base + 1, ((a + 2) * r2 - (a + 3)) * r2 * r2 + 1);
        taps.emplace_back(base + 2, ((a * r3 - 5 * a) * r3 + 8 * a) * r3 - 4 * a);
      }
      if (cfg.excludeOutside) {
        double sum = 0;
        for (auto& tp : taps) {
          if (tp.first < 0 || tp.first >= inLen) tp.second = 0;
          sum += tp.second;
        }
        if (sum != 0)
          for (auto& tp : taps) tp.second /= sum;
      }
    }
    // Keep the non-zero taps, with indices clamped to the input (edge padding).
    auto* dst = all.data() + static_cast<size_t>(x) * maxTaps;
    size_t& cnt = counts[static_cast<size_t>(x)];
    for (const auto& tp : taps)
      if (tp.second != 0 && cnt < maxTaps) dst[cnt++] = {std::clamp<int64_t>(tp.first, 0, inLen - 1), tp.second};
    if (cnt == 0) dst[cnt++] = {std::clamp<int64_t>(taps[0].first, 0, inLen - 1), 0.0};
    t.k = std::max<int64_t>(t.k, static_cast<int64_t>(cnt));
  }
  t.off.assign(static_cast<size_t>(outLen * t.k), 0);
  t.w.assign(static_cast<size_t>(outLen * t.k), 0.0);
  t.identity = outLen == inLen && t.k == 1;
  for (int64_t x = 0; x < outLen; ++x) {
    const auto* src = all.data() + static_cast<size_t>(x) * maxTaps;
    for (size_t j = 0; j < counts[static_cast<size_t>(x)]; ++j) {
      t.off[static_cast<size_t>(x * t.k) + j] = src[j].first * stride;
      t.w[static_cast<size_t>(x * t.k) + j] = src[j].second;
    }
    if (t.k != 1 || src[0].first != x || src[0].second != 1.0 || t.outside[static_cast<size_t>(x)]) t.identity = false;
  }
  return t;
}

template <typename T>
inline T fromAcc(double v) {
  if constexpr (std::is_integral_v<T>) {
    v = std::nearbyint(v);
    v = std::clamp(v, static_cast<double>(std::numeric_limits<T>::lowest()),
                   static_cast<double>(std::numeric_limits<T>::max()));
    return static_cast<T>(v);
  } else {
    return fromDouble<T>(v);
  }
}

/// Nearest: every output element copies one input element (any dtype, by element size).
template <typename T>
void resizeGather(const T* src, T* dst, const Shape& out, const std::vector<AxisTaps>& taps, T extrap, int threads) {
  const size_t r = out.size();
  const int64_t inner = out[r - 1];
  const AxisTaps& last = taps[r - 1];
  parallelFor(elementCount(out) / inner, threads, [&](int64_t s, int64_t e) {
    for (int64_t row = s; row < e; ++row) {
      T* o = dst + row * inner;
      int64_t rem = row, off = 0;
      bool outside = false;
      for (size_t d = r - 1; d-- > 0;) {
        const size_t i = static_cast<size_t>(rem % out[d]);
        rem /= out[d];
        off += taps[d].off[i];
        outside = outside || taps[d].outside[i];
      }
      if (outside) std::fill_n(o, inner, extrap);
      else if (last.identity) copyRun(o, src + off, inner);
      else
        for (int64_t j = 0; j < inner; ++j) o[j] = last.outside[static_cast<size_t>(j)] ? extrap : src[off + last.off[static_cast<size_t>(j)]];
    }
  }, std::max<int64_t>(1, 16384 / inner));
}

/// Linear / cubic: weighted sum over the product of the per-axis taps.
template <typename T, typename Acc>
void resizeWeighted(const T* src, T* dst, const Shape& out, const std::vector<AxisTaps>& taps, double extrap,
                    int threads) {
  const size_t r = out.size();
  const int64_t inner = out[r - 1];
  const AxisTaps& last = taps[r - 1];
  const int64_t kl = last.k;
  std::vector<Acc> wl(last.w.size());
  for (size_t i = 0; i < wl.size(); ++i) wl[i] = static_cast<Acc>(last.w[i]);
  const T ex = fromAcc<T>(extrap);
  parallelFor(elementCount(out) / inner, threads, [&](int64_t s, int64_t e) {
    std::vector<int64_t> cOff, nOff;
    std::vector<Acc> cW, nW;
    for (int64_t row = s; row < e; ++row) {
      T* o = dst + row * inner;
      // Combinations of the outer axes' taps for this row.
      cOff.assign(1, 0);
      cW.assign(1, Acc(1));
      int64_t rem = row;
      bool outside = false;
      for (size_t d = r - 1; d-- > 0;) {
        const int64_t i = rem % out[d];
        rem /= out[d];
        const AxisTaps& t = taps[d];
        outside = outside || t.outside[static_cast<size_t>(i)];
        nOff.clear();
        nW.clear();
        for (int64_t q = 0; q < t.k; ++q) {
          const double w = t.w[static_cast<size_t>(i * t.k + q)];
          if (w == 0 && q > 0) continue;
          for (size_t c = 0; c < cOff.size(); ++c) {
            nOff.push_back(cOff[c] + t.off[static_cast<size_t>(i * t.k + q)]);
            nW.push_back(cW[c] * static_cast<Acc>(w));
          }
        }
        cOff.swap(nOff);
        cW.swap(nW);
      }
      if (outside) {
        std::fill_n(o, inner, ex);
        continue;
      }
      for (int64_t j = 0; j < inner; ++j) {
        if (last.outside[static_cast<size_t>(j)]) {
          o[j] = ex;
          continue;
        }
        Acc acc = 0;
        for (int64_t q = 0; q < kl; ++q) {
          const size_t tq = static_cast<size_t>(j * kl + q);
          if (wl[tq] == 0) continue;
          const T* p = src + last.off[tq];
          Acc part = 0;
          for (size_t c = 0; c < cOff.size(); ++c) part += cW[c] * static_cast<Acc>(toDouble(p[cOff[c]]));
          acc += wl[tq] * part;
        }
        o[j] = fromAcc<T>(static_cast<double>(acc));
      }
    }
  }, std::max<int64_t>(1, 4096 / inner));
}

Status runResize(const ResizeConfig& cfg, KernelContext& ctx) {
  const TensorData& x = ctx.input(0);
  const int64_t r = x.rank();
  const size_t ru = static_cast<size_t>(r);
  if (r == 0) {
    ctx.outputs[0] = x;
    return Status::ok();
  }
  std::vector<int64_t> axes = cfg.axes;
  if (axes.empty())
    for (int64_t d = 0; d < r; ++d) axes.push_back(d);
  else
    RETURN_IF_ERROR(normalizeAxes(ctx, axes, r));
  std::vector<double> scales;
  std::vector<int64_t> sizes;
  if (cfg.hasScalesAttr) {
    scales.assign(cfg.scalesAttr.begin(), cfg.scalesAttr.end());
  } else if (cfg.scalesInput >= 0 && ctx.hasInput(static_cast<size_t>(cfg.scalesInput)) &&
             ctx.input(static_cast<size_t>(cfg.scalesInput)).numElements() > 0) {
    ASSIGN_OR_RETURN(scales, readDoubles(ctx, static_cast<size_t>(cfg.scalesInput), "scales"));
  }
  if (scales.empty() && cfg.sizesInput >= 0 && ctx.hasInput(static_cast<size_t>(cfg.sizesInput))) {
    ASSIGN_OR_RETURN(sizes, readInts(ctx, static_cast<size_t>(cfg.sizesInput), "sizes"));
  }
  std::vector<double> scale(ru, 1.0);
  Shape out = x.shape();
  if (!scales.empty()) {
    if (scales.size() != axes.size()) return kernelError(ctx, "scales has {} values for {} axes", scales.size(), axes.size());
    for (size_t i = 0; i < axes.size(); ++i) {
      if (!(scales[i] > 0)) return kernelError(ctx, "scale {} must be positive", scales[i]);
      const size_t d = static_cast<size_t>(axes[i]);
      scale[d] = scales[i];
      out[d] = static_cast<int64_t>(scales[i] * static_cast<double>(x.shape()[d]));
    }
  } else if (!sizes.empty()) {
    if (sizes.size() != axes.size()) return kernelError(ctx, "sizes has {} values for {} axes", sizes.size(), axes.size());
    for (size_t i = 0; i < axes.size(); ++i) {
      const size_t d = static_cast<size_t>(axes[i]);
      if (sizes[i] < 0) return kernelError(ctx, "negative size {}", sizes[i]);
      out[d] = sizes[i];
      scale[d] = x.shape()[d] ? static_cast<double>(sizes[i]) / static_cast<double>(x.shape()[d]) : 1.0;
    }
    if (cfg.aspect != 0) {
      double s = scale[static_cast<size_t>(axes[0])];
      for (int64_t a : axes)
        s = cfg.aspect == 1 ? std::min(s, scale[static_cast<size_t>(a)]) : std::max(s, scale[static_cast<size_t>(a)]);
      for (int64_t a : axes) {
        const size_t d = static_cast<size_t>(a);
        scale[d] = s;
        out[d] = static_cast<int64_t>(s * static_cast<double>(x.shape()[d]) + 0.5);
      }
    }
  } else {
    return kernelError(ctx, "needs scales or sizes");
  }
  std::vector<double> roiStart(ru, 0.0), roiEnd(ru, 1.0);
  if (cfg.coord == ResizeConfig::Coord::TfCropAndResize && cfg.roiInput >= 0 &&
      ctx.hasInput(static_cast<size_t>(cfg.roiInput))) {
    ASSIGN_OR_RETURN(auto roi, readDoubles(ctx, static_cast<size_t>(cfg.roiInput), "roi"));
    if (!roi.empty() && roi.size() != 2 * axes.size())
      return kernelError(ctx, "roi has {} values for {} axes", roi.size(), axes.size());
    for (size_t i = 0; i < axes.size() && !roi.empty(); ++i) {
      roiStart[static_cast<size_t>(axes[i])] = roi[i];
      roiEnd[static_cast<size_t>(axes[i])] = roi[i + axes.size()];
    }
  }
  if (elementCount(out) == 0) {
    ctx.outputs[0] = TensorData::allocate(x.dtype(), out);
    return Status::ok();
  }
  if (x.numElements() == 0) return kernelError(ctx, "cannot resize an empty tensor to {}", shapeToString(out));
  const auto xs = contiguousStrides(x.shape());
  std::vector<AxisTaps> taps(ru);
  bool identity = true;
  for (size_t d = 0; d < ru; ++d) {
    taps[d] = buildTaps(cfg, x.shape()[d], out[d], scale[d], roiStart[d], roiEnd[d], xs[d]);
    identity = identity && taps[d].identity;
  }
  if (identity) {
    ctx.outputs[0] = x;
    return Status::ok();
  }
  TensorData y = TensorData::allocate(x.dtype(), out);
  bool ok;
  if (cfg.mode == ResizeConfig::Mode::Nearest) {
    std::array<uint8_t, 16> exBytes{};
    dispatch<AllTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T v = fromAcc<T>(cfg.extrapolation);
      std::memcpy(exBytes.data(), &v, sizeof(T));
    });
    ok = dispatchElem(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T ex;
      std::memcpy(&ex, exBytes.data(), sizeof(T));
      resizeGather<T>(x.data<T>(), y.data<T>(), out, taps, ex, ctx.threads);
    });
  } else {
    ok = dispatch<NumericTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using Acc = std::conditional_t<std::is_same_v<T, double> || std::is_same_v<T, int64_t> ||
                                         std::is_same_v<T, uint64_t> || std::is_same_v<T, int32_t> ||
                                         std::is_same_v<T, uint32_t>,
                                     double, float>;
      resizeWeighted<T, Acc>(x.data<T>(), y.data<T>(), out, taps, cfg.extrapolation, ctx.threads);
    });
  }
  if (!ok) return unsupportedType(ctx, x.dtype());
  ctx.outputs[0] = std::move(y);
  return Status::ok();
}

Expected<ResizeConfig::Mode> parseResizeMode(const KernelBuildContext& b, bool allowCubic) {
  const std::string m = b.node.stringAttr("mode", "nearest");
  if (m == "nearest") return ResizeConfig::Mode::Nearest;
  if (m == "linear" || m == "bilinear") return ResizeConfig::Mode::Linear;
  if (m == "cubic" && allowCubic) return ResizeConfig::Mode::Cubic;
  return buildError(b, "unsupported mode '{}'", m);
}

Expected<KernelFn> makeResize(const KernelBuildContext& b) {
  ResizeConfig cfg;
  const Node& n = b.node;
  ASSIGN_OR_RETURN(cfg.mode, parseResizeMode(b, b.opset >= 11));
  if (b.opset < 11) {
    cfg.scalesInput = 1;
    cfg.coord = ResizeConfig::Coord::Asymmetric;
    cfg.round = ResizeConfig::Round::Simple;
  } else {
    cfg.roiInput = 1;
    cfg.scalesInput = 2;
    cfg.sizesInput = 3;
    using C = ResizeConfig::Coord;
    const std::string c = n.stringAttr("coordinate_transformation_mode", "half_pixel");
    if (c == "half_pixel") cfg.coord = C::HalfPixel;
    else if (c == "half_pixel_symmetric") cfg.coord = C::HalfPixelSymmetric;
    else if (c == "pytorch_half_pixel") cfg.coord = C::PytorchHalfPixel;
    else if (c == "align_corners") cfg.coord = C::AlignCorners;
    else if (c == "asymmetric") cfg.coord = C::Asymmetric;
    else if (c == "tf_half_pixel_for_nn") cfg.coord = C::TfHalfPixelForNn;
    else if (c == "tf_crop_and_resize") cfg.coord = C::TfCropAndResize;
    else return buildError(b, "unknown coordinate_transformation_mode '{}'", c);
    using R = ResizeConfig::Round;
    const std::string nm = n.stringAttr("nearest_mode", "round_prefer_floor");
    if (nm == "round_prefer_floor") cfg.round = R::PreferFloor;
    else if (nm == "round_prefer_ceil") cfg.round = R::PreferCeil;
    else if (nm == "floor") cfg.round = R::Floor;
    else if (nm == "ceil") cfg.round = R::Ceil;
    else return buildError(b, "unknown nearest_mode '{}'", nm);
    cfg.cubicA = n.floatAttr("cubic_coeff_a", -0.75f);
    cfg.excludeOutside = n.intAttr("exclude_outside", 0) != 0;
    cfg.extrapolation = n.floatAttr("extrapolation_value", 0.f);
    if (b.opset >= 18) {
      cfg.antialias = n.intAttr("antialias", 0) != 0;
      if (cfg.antialias && cfg.mode == ResizeConfig::Mode::Nearest)
        return buildError(b, "antialias is not supported with mode 'nearest'");
      cfg.axes = n.intsAttr("axes");
      const std::string k = n.stringAttr("keep_aspect_ratio_policy", "stretch");
      if (k == "stretch") cfg.aspect = 0;
      else if (k == "not_larger") cfg.aspect = 1;
      else if (k == "not_smaller") cfg.aspect = 2;
      else return buildError(b, "unknown keep_aspect_ratio_policy '{}'", k);
    }
  }
  return KernelFn([cfg](KernelContext& ctx) -> Status { return runResize(cfg, ctx); });
}

Expected<KernelFn> makeUpsample(const KernelBuildContext& b) {
  ResizeConfig cfg;
  ASSIGN_OR_RETURN(cfg.mode, parseResizeMode(b, false));
  cfg.coord = ResizeConfig::Coord::Asymmetric;
  cfg.round = ResizeConfig::Round::Simple;
  if (b.opset < 9) {
    const Attribute* a = b.node.attribute("scales");
    if (!a) return buildError(b, "missing scales attribute");
    cfg.hasScalesAttr = true;
    cfg.scalesAttr = a->floats;
  } else {
    cfg.scalesInput = 1;
  }
  return KernelFn([cfg](KernelContext& ctx) -> Status { return runResize(cfg, ctx); });
}

}  // namespace

std::vector<KernelEntry> resizeKernels() {
  return {
      {"", "Resize", makeResize},
      {"", "Upsample", makeUpsample},
  };
}

}  // namespace onnxpress::runtime
