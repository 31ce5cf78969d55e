// Detection kernels (ai.onnx):
//   NonMaxSuppression (10, 11): center_point_box 0/1, optional max_output_boxes_per_class /
//       iou_threshold / score_threshold inputs; output int64 [num_selected, 3] ordered per batch,
//       per class, by descending score (ties: lower box index first), as ONNX Runtime.
//   RoiAlign (10, 16): mode avg/max, output_height/width, sampling_ratio (0 = adaptive),
//       spatial_scale, coordinate_transformation_mode half_pixel/output_half_pixel (16; 10 is
//       output_half_pixel). Max mode takes the max of the weighted corner samples, as ORT.
//   GridSample (16, 20): mode bilinear/nearest/bicubic (16) or linear/nearest/cubic (20),
//       padding_mode zeros/border/reflection, align_corners; any spatial rank (4-D, 5-D, ...).
//       Padding applies per interpolation tap, as PyTorch and ORT.
// Float math runs in double for double tensors and in float otherwise (half/bfloat16 via float).
#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "KernelUtil.h"
#include "Families.h"

namespace onnxpress::runtime {
namespace {

// ---- type helpers ------------------------------------------------------------------------


// The type arithmetic runs in: double for double, float for everything else.
template <typename T>
using FloatCalc = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <typename C, typename T>
inline C load(T v) {
  if constexpr (kHalfLike<T>) return static_cast<C>(static_cast<float>(v));
  else return static_cast<C>(v);
}

template <typename T, typename C>
inline T store(C v) {
  if constexpr (kHalfLike<T>) return T(static_cast<float>(v));
  else if constexpr (std::is_integral_v<T>) {
    // Truncates like numpy's assignment into an integer array; NaN/out-of-range give 0/saturate.
    const double d = static_cast<double>(v);
    if (!(d == d)) return T(0);
    if (d <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (d >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(d);
  } else return static_cast<T>(v);
}


// ---- NonMaxSuppression ---------------------------------------------------------------------

// A box as the IoU test sees it: x/y extents and area (not reordered for center boxes).
template <typename C>
struct NmsBox {
  C xMin, yMin, xMax, yMax, area;
};

template <typename C>
inline bool suppressByIou(const NmsBox<C>& a, const NmsBox<C>& b, C iouThreshold) {
  const C ixMin = std::max(a.xMin, b.xMin), ixMax = std::min(a.xMax, b.xMax);
  if (!(ixMax > ixMin)) return false;
  const C iyMin = std::max(a.yMin, b.yMin), iyMax = std::min(a.yMax, b.yMax);
  if (!(iyMax > iyMin)) return false;
  const C inter = (ixMax - ixMin) * (iyMax - iyMin);
  if (!(inter > 0)) return false;
  if (!(a.area > 0) || !(b.area > 0)) return false;
  const C uni = a.area + b.area - inter;
  if (!(uni > 0)) return false;
  return inter / uni > iouThreshold;
}

// Reads element 0 of an optional 1-element input as double; `present` is false when it is
// omitted or empty.
Expected<double> optionalScalar(const KernelContext& ctx, size_t i, bool& present) {
  present = false;
  if (!ctx.hasInput(i) || ctx.input(i).numElements() == 0) return 0.0;
  const TensorData& t = ctx.input(i);
  double v = 0;
  const bool ok = dispatch<NumericTypes>(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    v = load<double>(t.data<T>()[0]);
  });
  if (!ok) return unsupportedType(ctx, t.dtype());
  present = true;
  return v;
}

template <typename T>
void runNms(const TensorData& boxes, const TensorData& scores, bool centerPointBox, int64_t maxPerClass,
            double iouThresholdD, bool hasScoreThreshold, double scoreThresholdD, int threads,
            std::vector<int64_t>& selected) {
  using C = FloatCalc<T>;
  const int64_t batches = boxes.dim(0), numBoxes = boxes.dim(1), classes = scores.dim(1);
  const T* bp = boxes.data<T>();
  const T* sp = scores.data<T>();
  const C iouThreshold = static_cast<C>(iouThresholdD);
  const C scoreThreshold = static_cast<C>(scoreThresholdD);

  // Box extents, computed once per box.
  std::vector<NmsBox<C>> geo(static_cast<size_t>(batches * numBoxes));
  for (int64_t i = 0; i < batches * numBoxes; ++i) {
    const T* b = bp + i * 4;
    const C v0 = load<C>(b[0]), v1 = load<C>(b[1]), v2 = load<C>(b[2]), v3 = load<C>(b[3]);
    NmsBox<C> g;
    if (!centerPointBox) {  // [y1, x1, y2, x2], corners in any order
      g.xMin = std::min(v1, v3), g.xMax = std::max(v1, v3);
      g.yMin = std::min(v0, v2), g.yMax = std::max(v0, v2);
    } else {  // [x_center, y_center, width, height]
      const C hw = v2 / 2, hh = v3 / 2;
      g.xMin = v0 - hw, g.xMax = v0 + hw;
      g.yMin = v1 - hh, g.yMax = v1 + hh;
    }
    g.area = (g.xMax - g.xMin) * (g.yMax - g.yMin);
    geo[static_cast<size_t>(i)] = g;
  }

  // One selection list per (batch, class), computed in parallel and concatenated in order.
  const int64_t pairs = batches * classes;
  std::vector<std::vector<int64_t>> perPair(static_cast<size_t>(pairs));
  parallelFor(pairs, threads, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> cand;
    std::vector<C> candScore;
    std::vector<int64_t> kept;
    for (int64_t pc = begin; pc < end; ++pc) {
      const int64_t batch = pc / classes;
      const T* s = sp + pc * numBoxes;
      const NmsBox<C>* g = geo.data() + batch * numBoxes;
      cand.clear();
      candScore.assign(static_cast<size_t>(numBoxes), C(0));
      for (int64_t i = 0; i < numBoxes; ++i) {
        const C v = load<C>(s[i]);
        candScore[static_cast<size_t>(i)] = v;
        if (!hasScoreThreshold || v > scoreThreshold) cand.push_back(i);
      }
      // Descending score (NaN last), ties by lower index.
      std::sort(cand.begin(), cand.end(), [&](int64_t a, int64_t b) {
        const C sa = candScore[static_cast<size_t>(a)], sb = candScore[static_cast<size_t>(b)];
        const bool aGreater = !std::isnan(sa) && (std::isnan(sb) || sa > sb);
        const bool bGreater = !std::isnan(sb) && (std::isnan(sa) || sb > sa);
        if (aGreater != bGreater) return aGreater;
        return a < b;
      });
      kept.clear();
      for (int64_t idx : cand) {
        if (static_cast<int64_t>(kept.size()) >= maxPerClass) break;
        bool keep = true;
        for (int64_t k : kept)
          if (suppressByIou(g[idx], g[k], iouThreshold)) { keep = false; break; }
        if (keep) kept.push_back(idx);
      }
      perPair[static_cast<size_t>(pc)] = kept;
    }
  }, 1);

  for (int64_t pc = 0; pc < pairs; ++pc)
    for (int64_t idx : perPair[static_cast<size_t>(pc)]) {
      selected.push_back(pc / classes);
      selected.push_back(pc % classes);
      selected.push_back(idx);
    }
}

Expected<KernelFn> makeNonMaxSuppression(const KernelBuildContext& b) {
  const int64_t cpb = b.node.intAttr("center_point_box", 0);
  if (cpb != 0 && cpb != 1) return buildError(b, "center_point_box must be 0 or 1, got {}", cpb);
  const bool centerPointBox = cpb == 1;
  return KernelFn([centerPointBox](KernelContext& ctx) -> Status {
    const TensorData& boxes = ctx.input(0);
    const TensorData& scores = ctx.input(1);
    if (boxes.rank() != 3 || boxes.dim(2) != 4)
      return kernelError(ctx, "boxes must be [num_batches, spatial_dimension, 4], got {}", shapeToString(boxes.shape()));
    if (scores.rank() != 3)
      return kernelError(ctx, "scores must be [num_batches, num_classes, spatial_dimension], got {}",
                         shapeToString(scores.shape()));
    if (scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1))
      return kernelError(ctx, "boxes {} and scores {} do not match", shapeToString(boxes.shape()),
                         shapeToString(scores.shape()));
    if (scores.dtype() != boxes.dtype()) return kernelError(ctx, "boxes and scores must have the same dtype");

    bool hasMax = false, hasIou = false, hasScore = false;
    ASSIGN_OR_RETURN(double maxD, optionalScalar(ctx, 2, hasMax));
    ASSIGN_OR_RETURN(double iouThreshold, optionalScalar(ctx, 3, hasIou));
    ASSIGN_OR_RETURN(double scoreThreshold, optionalScalar(ctx, 4, hasScore));
    int64_t maxPerClass = 0;  // omitted: nothing is selected
    if (hasMax) {
      maxPerClass = ctx.input(2).dtype() == DataType::Int64 ? ctx.input(2).data<int64_t>()[0]
                                                            : static_cast<int64_t>(std::clamp(maxD, -1.0, 9.0e18));
      maxPerClass = std::max<int64_t>(maxPerClass, 0);
    }

    std::vector<int64_t> selected;
    if (maxPerClass > 0 && boxes.numElements() > 0 && scores.numElements() > 0) {
      const bool ok = dispatch<FloatTypes>(boxes.dtype(), [&](auto tag) {
        using T = decltype(tag);
        runNms<T>(boxes, scores, centerPointBox, maxPerClass, hasIou ? iouThreshold : 0.0, hasScore,
                  scoreThreshold, ctx.threads, selected);
      });
      if (!ok) return unsupportedType(ctx, boxes.dtype());
    }
    const int64_t n = static_cast<int64_t>(selected.size() / 3);
    ctx.outputs[0] = TensorData::fromVector(DataType::Int64, {n, 3}, selected);
    return Status::ok();
  });
}

// ---- RoiAlign --------------------------------------------------------------------------------

struct RoiAlignAttrs {
  bool maxMode = false;
  int64_t outH = 1, outW = 1, samplingRatio = 0;
  float spatialScale = 1.f;
  bool halfPixel = false;
};

// Bilinear sample of one grid point: four flat positions and weights (all zero when outside).
template <typename C>
struct RoiSample {
  int64_t p1, p2, p3, p4;
  C w1, w2, w3, w4;
};

template <typename T>
void runRoiAlign(const TensorData& x, const TensorData& rois, const std::vector<int64_t>& batchIdx,
                 const RoiAlignAttrs& a, TensorData& y, int threads) {
  using C = FloatCalc<T>;
  const int64_t channels = x.dim(1), height = x.dim(2), width = x.dim(3);
  const int64_t numRois = rois.dim(0), roiCols = rois.dim(1);
  const int64_t oh = a.outH, ow = a.outW;
  const T* xp = x.data<T>();
  const T* rp = rois.data<T>();
  T* yp = y.data<T>();
  const C scale = static_cast<C>(a.spatialScale);
  const C offset = a.halfPixel ? C(0.5) : C(0);

  parallelFor(numRois, threads, [&](int64_t begin, int64_t end) {
    std::vector<RoiSample<C>> pre;
    for (int64_t n = begin; n < end; ++n) {
      const T* roi = rp + n * roiCols;
      const C startW = load<C>(roi[0]) * scale - offset;
      const C startH = load<C>(roi[1]) * scale - offset;
      const C endW = load<C>(roi[2]) * scale - offset;
      const C endH = load<C>(roi[3]) * scale - offset;
      C roiW = endW - startW, roiH = endH - startH;
      if (!a.halfPixel) {  // malformed ROIs are forced to 1x1
        roiW = std::max(roiW, C(1));
        roiH = std::max(roiH, C(1));
      }
      const C binH = roiH / static_cast<C>(oh), binW = roiW / static_cast<C>(ow);
      auto gridOf = [&](C extent, int64_t bins) -> int64_t {
        if (a.samplingRatio > 0) return a.samplingRatio;
        const C g = std::ceil(extent / static_cast<C>(bins));
        return g > 0 ? static_cast<int64_t>(std::min<C>(g, C(1 << 20))) : 0;
      };
      const int64_t gh = gridOf(roiH, oh), gw = gridOf(roiW, ow);
      const C count = static_cast<C>(std::max<int64_t>(gh * gw, 1));

      // Sample positions and weights, shared by every channel.
      pre.resize(static_cast<size_t>(oh * ow * gh * gw));
      size_t k = 0;
      for (int64_t ph = 0; ph < oh; ++ph)
        for (int64_t pw = 0; pw < ow; ++pw)
          for (int64_t iy = 0; iy < gh; ++iy) {
            const C yy = startH + static_cast<C>(ph) * binH +
                         (static_cast<C>(iy) + C(0.5)) * binH / static_cast<C>(gh);
            for (int64_t ix = 0; ix < gw; ++ix, ++k) {
              C xx = startW + static_cast<C>(pw) * binW + (static_cast<C>(ix) + C(0.5)) * binW / static_cast<C>(gw);
              C yv = yy;
              RoiSample<C>& s = pre[k];
              if (!(yv >= C(-1)) || yv > static_cast<C>(height) || !(xx >= C(-1)) || xx > static_cast<C>(width)) {
                s = RoiSample<C>{0, 0, 0, 0, 0, 0, 0, 0};
                continue;
              }
              yv = std::max(yv, C(0));
              xx = std::max(xx, C(0));
              int64_t yLow = static_cast<int64_t>(yv), xLow = static_cast<int64_t>(xx), yHigh, xHigh;
              if (yLow >= height - 1) {
                yHigh = yLow = height - 1;
                yv = static_cast<C>(yLow);
              } else {
                yHigh = yLow + 1;
              }
              if (xLow >= width - 1) {
                xHigh = xLow = width - 1;
                xx = static_cast<C>(xLow);
              } else {
                xHigh = xLow + 1;
              }
              const C ly = yv - static_cast<C>(yLow), lx = xx - static_cast<C>(xLow);
              const C hy = C(1) - ly, hx = C(1) - lx;
              s = RoiSample<C>{yLow * width + xLow, yLow * width + xHigh, yHigh * width + xLow, yHigh * width + xHigh,
                               hy * hx, hy * lx, ly * hx, ly * lx};
            }
          }

      const int64_t samplesPerBin = gh * gw;
      for (int64_t c = 0; c < channels; ++c) {
        const T* plane = xp + (batchIdx[static_cast<size_t>(n)] * channels + c) * height * width;
        T* out = yp + (n * channels + c) * oh * ow;
        const RoiSample<C>* s = pre.data();
        for (int64_t bin = 0; bin < oh * ow; ++bin) {
          C acc = 0;
          if (!a.maxMode) {
            for (int64_t j = 0; j < samplesPerBin; ++j, ++s)
              acc += s->w1 * load<C>(plane[s->p1]) + s->w2 * load<C>(plane[s->p2]) + s->w3 * load<C>(plane[s->p3]) +
                     s->w4 * load<C>(plane[s->p4]);
            acc /= count;
          } else {
            for (int64_t j = 0; j < samplesPerBin; ++j, ++s) {
              const C v = std::max(std::max(s->w1 * load<C>(plane[s->p1]), s->w2 * load<C>(plane[s->p2])),
                                   std::max(s->w3 * load<C>(plane[s->p3]), s->w4 * load<C>(plane[s->p4])));
              acc = j == 0 ? v : std::max(acc, v);
            }
          }
          out[bin] = store<T>(acc);
        }
      }
    }
  }, 1);
}

Expected<KernelFn> makeRoiAlign(const KernelBuildContext& b) {
  RoiAlignAttrs a;
  const std::string mode = b.node.stringAttr("mode", "avg");
  if (mode == "max") a.maxMode = true;
  else if (mode != "avg") return buildError(b, "unsupported mode '{}'", mode);
  a.outH = b.node.intAttr("output_height", 1);
  a.outW = b.node.intAttr("output_width", 1);
  a.samplingRatio = b.node.intAttr("sampling_ratio", 0);
  a.spatialScale = b.node.floatAttr("spatial_scale", 1.f);
  if (a.outH <= 0 || a.outW <= 0) return buildError(b, "output_height/output_width must be positive");
  if (a.samplingRatio < 0) return buildError(b, "sampling_ratio must be >= 0, got {}", a.samplingRatio);
  if (b.opset >= 16) {
    const std::string ctm = b.node.stringAttr("coordinate_transformation_mode", "half_pixel");
    if (ctm == "half_pixel") a.halfPixel = true;
    else if (ctm != "output_half_pixel") return buildError(b, "unsupported coordinate_transformation_mode '{}'", ctm);
  }
  return KernelFn([a](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& rois = ctx.input(1);
    const TensorData& bi = ctx.input(2);
    if (x.rank() != 4) return kernelError(ctx, "X must be 4-D, got {}", shapeToString(x.shape()));
    if (rois.rank() != 2 || rois.dim(1) < 4)
      return kernelError(ctx, "rois must be [num_rois, 4], got {}", shapeToString(rois.shape()));
    if (bi.rank() != 1 || bi.dim(0) != rois.dim(0))
      return kernelError(ctx, "batch_indices {} does not match rois {}", shapeToString(bi.shape()),
                         shapeToString(rois.shape()));
    if (rois.dtype() != x.dtype()) return kernelError(ctx, "rois must have the dtype of X");
    const int64_t numRois = rois.dim(0);
    std::vector<int64_t> batchIdx(static_cast<size_t>(numRois));
    const bool okIdx = dispatch<IntTypes>(bi.dtype(), [&](auto tag) {
      using I = decltype(tag);
      const I* p = bi.data<I>();
      for (int64_t i = 0; i < numRois; ++i) batchIdx[static_cast<size_t>(i)] = static_cast<int64_t>(p[i]);
    });
    if (!okIdx) return unsupportedType(ctx, bi.dtype());
    for (int64_t v : batchIdx)
      if (v < 0 || v >= x.dim(0)) return kernelError(ctx, "batch index {} out of range [0, {})", v, x.dim(0));

    TensorData y = TensorData::allocate(x.dtype(), {numRois, x.dim(1), a.outH, a.outW});
    if (y.numElements() == 0) {
      ctx.outputs[0] = std::move(y);
      return Status::ok();
    }
    if (x.dim(2) == 0 || x.dim(3) == 0) {  // nothing to sample
      y = TensorData::zeros(x.dtype(), y.shape());
      ctx.outputs[0] = std::move(y);
      return Status::ok();
    }
    const bool ok = dispatch<FloatTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      runRoiAlign<T>(x, rois, batchIdx, a, y, ctx.threads);
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- GridSample ----------------------------------------------------------------------------

enum class GsMode { Linear, Nearest, Cubic };
enum class GsPad { Zeros, Border, Reflection };

struct GridSampleAttrs {
  GsMode mode = GsMode::Linear;
  GsPad pad = GsPad::Zeros;
  bool alignCorners = false;
};

// Reflects x by the nearer border until it lies in [lo, hi].
template <typename C>
inline C gsReflect(C x, C lo, C hi) {
  const C range = hi - lo;
  if (!(range > 0)) return lo;
  if (x < lo) {
    const C dx = lo - x;
    const C n = std::floor(dx / range);
    const C r = dx - n * range;
    return std::fmod(n, C(2)) == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const C dx = x - hi;
    const C n = std::floor(dx / range);
    const C r = dx - n * range;
    return std::fmod(n, C(2)) == 0 ? hi - r : lo + r;
  }
  return x;
}

// Keys cubic convolution coefficients (alpha = -0.75) for a fractional offset t in [0, 1).
template <typename C>
inline void gsCubicCoeffs(C t, C coeffs[4]) {
  constexpr C A = C(-0.75);
  const C x = std::abs(t);
  coeffs[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
  coeffs[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
  coeffs[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
  coeffs[3] = ((A * (2 - x) - 5 * A) * (2 - x) + 8 * A) * (2 - x) - 4 * A;
}

constexpr int64_t kGsMaxCombos = 4096;

// T: element type of X; G: coordinate type (float or double).
template <typename T, typename G>
void runGridSample(const TensorData& x, const G* grid, const GridSampleAttrs& a, TensorData& y, int threads) {
  using V = std::conditional_t<std::is_same_v<T, double> || std::is_integral_v<T>, double, float>;
  const int64_t r = x.rank() - 2;
  const int64_t N = x.dim(0), C = x.dim(1);
  std::vector<int64_t> inDims(static_cast<size_t>(r)), inStrides(static_cast<size_t>(r));
  int64_t S = 1;
  for (int64_t i = r - 1; i >= 0; --i) {
    inDims[static_cast<size_t>(i)] = x.dim(2 + i);
    inStrides[static_cast<size_t>(i)] = S;
    S *= x.dim(2 + i);
  }
  int64_t P = 1;
  for (int64_t i = 0; i < r; ++i) P *= y.dim(2 + i);
  const int64_t taps = a.mode == GsMode::Nearest ? 1 : a.mode == GsMode::Linear ? 2 : 4;
  int64_t combos = 1;
  for (int64_t i = 0; i < r; ++i) combos *= taps;
  const T* xp = x.data<T>();
  T* yp = y.data<T>();

  parallelFor(N * P, threads, [&](int64_t begin, int64_t end) {
    // Per dimension: flat offset and weight of each tap (weight 0 for a zero-padded tap).
    std::vector<int64_t> tapOff(static_cast<size_t>(r * taps));
    std::vector<G> tapW(static_cast<size_t>(r * taps));
    std::vector<int64_t> comboOff(static_cast<size_t>(combos));
    std::vector<V> comboW(static_cast<size_t>(combos));
    std::vector<int64_t> odo(static_cast<size_t>(r));
    for (int64_t np = begin; np < end; ++np) {
      const int64_t n = np / P, p = np % P;
      const G* g = grid + np * r;
      for (int64_t i = 0; i < r; ++i) {
        const int64_t D = inDims[static_cast<size_t>(i)];
        const G nc = g[r - 1 - i];  // grid's last axis lists the innermost dimension first
        G xc = a.alignCorners ? (nc + 1) / 2 * static_cast<G>(D - 1) : ((nc + 1) * static_cast<G>(D) - 1) / 2;
        if (!(std::abs(xc) < G(1e15))) xc = std::isnan(xc) ? G(-2) : (xc > 0 ? G(1e15) : G(-1e15));
        const G lo = a.alignCorners ? G(0) : G(-0.5);
        const G hi = a.alignCorners ? static_cast<G>(D - 1) : static_cast<G>(D) - G(0.5);
        int64_t first;
        G w[4];
        if (a.mode == GsMode::Nearest) {
          first = static_cast<int64_t>(r == 3 ? std::round(xc) : std::nearbyint(xc));
          w[0] = 1;
        } else {
          const G fl = std::floor(xc);
          const G t = xc - fl;
          if (a.mode == GsMode::Linear) {
            first = static_cast<int64_t>(fl);
            w[0] = 1 - t;
            w[1] = t;
          } else {
            first = static_cast<int64_t>(fl) - 1;
            gsCubicCoeffs(t, w);
          }
        }
        for (int64_t k = 0; k < taps; ++k) {
          int64_t idx = first + k;
          G wk = w[k];
          if (a.pad == GsPad::Zeros) {
            if (idx < 0 || idx >= D) { idx = 0; wk = 0; }
          } else if (a.pad == GsPad::Border) {
            idx = std::clamp<int64_t>(idx, 0, D - 1);
          } else {
            idx = static_cast<int64_t>(gsReflect(static_cast<G>(idx), lo, hi));
            idx = std::clamp<int64_t>(idx, 0, D - 1);
          }
          tapOff[static_cast<size_t>(i * taps + k)] = idx * inStrides[static_cast<size_t>(i)];
          tapW[static_cast<size_t>(i * taps + k)] = wk;
        }
      }
      // Tensor-product of the taps: every combination's flat offset and weight.
      std::fill(odo.begin(), odo.end(), 0);
      int64_t used = 0;
      for (int64_t c = 0; c < combos; ++c) {
        int64_t off = 0;
        G wt = 1;
        for (int64_t i = 0; i < r; ++i) {
          const size_t t = static_cast<size_t>(i * taps + odo[static_cast<size_t>(i)]);
          off += tapOff[t];
          wt *= tapW[t];
        }
        if (wt != 0) {  // zero-padded taps contribute nothing
          comboOff[static_cast<size_t>(used)] = off;
          comboW[static_cast<size_t>(used)] = static_cast<V>(wt);
          ++used;
        }
        for (int64_t i = r - 1; i >= 0; --i) {
          if (++odo[static_cast<size_t>(i)] < taps) break;
          odo[static_cast<size_t>(i)] = 0;
        }
      }
      for (int64_t ch = 0; ch < C; ++ch) {
        const T* plane = xp + (n * C + ch) * S;
        V acc = 0;
        for (int64_t j = 0; j < used; ++j)
          acc += comboW[static_cast<size_t>(j)] * load<V>(plane[comboOff[static_cast<size_t>(j)]]);
        yp[(n * C + ch) * P + p] = store<T>(acc);
      }
    }
  }, std::max<int64_t>(1, 4096 / std::max<int64_t>(C * combos, 1)));
}

Expected<KernelFn> makeGridSample(const KernelBuildContext& b) {
  GridSampleAttrs a;
  const std::string mode = b.node.stringAttr("mode", b.opset >= 20 ? "linear" : "bilinear");
  if (mode == "bilinear" || mode == "linear") a.mode = GsMode::Linear;
  else if (mode == "nearest") a.mode = GsMode::Nearest;
  else if (mode == "bicubic" || mode == "cubic") a.mode = GsMode::Cubic;
  else return buildError(b, "unsupported mode '{}'", mode);
  const std::string pad = b.node.stringAttr("padding_mode", "zeros");
  if (pad == "zeros") a.pad = GsPad::Zeros;
  else if (pad == "border") a.pad = GsPad::Border;
  else if (pad == "reflection") a.pad = GsPad::Reflection;
  else return buildError(b, "unsupported padding_mode '{}'", pad);
  a.alignCorners = b.node.intAttr("align_corners", 0) != 0;
  return KernelFn([a](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& grid = ctx.input(1);
    const int64_t r = x.rank() - 2;
    if (r < 1) return kernelError(ctx, "X must have rank >= 3, got {}", shapeToString(x.shape()));
    if (grid.rank() != r + 2 || grid.dim(0) != x.dim(0) || grid.dim(-1) != r)
      return kernelError(ctx, "grid {} does not match X {}", shapeToString(grid.shape()), shapeToString(x.shape()));
    int64_t combos = 1;
    for (int64_t i = 0; i < r; ++i) combos *= a.mode == GsMode::Nearest ? 1 : a.mode == GsMode::Linear ? 2 : 4;
    if (combos > kGsMaxCombos) return kernelError(ctx, "too many spatial dimensions ({}) for this mode", r);
    Shape outShape{x.dim(0), x.dim(1)};
    for (int64_t i = 0; i < r; ++i) outShape.push_back(grid.dim(1 + i));
    TensorData y = TensorData::allocate(x.dtype(), outShape);
    if (y.numElements() == 0) {
      ctx.outputs[0] = std::move(y);
      return Status::ok();
    }
    for (int64_t i = 0; i < r; ++i)
      if (x.dim(2 + i) == 0) {  // nothing to sample from: zeros
        ctx.outputs[0] = TensorData::zeros(x.dtype(), outShape);
        return Status::ok();
      }

    bool okX = true;
    auto runWith = [&](const auto* g) {
      using G = std::remove_cv_t<std::remove_pointer_t<decltype(g)>>;
      okX = dispatch<NumericTypes>(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        runGridSample<T, G>(x, g, a, y, ctx.threads);
      });
    };
    if (grid.dtype() == DataType::Float) {
      runWith(grid.data<float>());
    } else if (grid.dtype() == DataType::Double) {
      runWith(grid.data<double>());
    } else if (grid.dtype() == DataType::Float16 || grid.dtype() == DataType::BFloat16) {
      std::vector<float> g(static_cast<size_t>(grid.numElements()));
      if (grid.dtype() == DataType::Float16)
        for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(grid.data<half>()[i]);
      else
        for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(grid.data<bfloat16>()[i]);
      runWith(static_cast<const float*>(g.data()));
    } else {
      return unsupportedType(ctx, grid.dtype());
    }
    if (!okX) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> detectionKernels() {
  return {
      {"", "NonMaxSuppression", makeNonMaxSuppression},
      {"", "RoiAlign", makeRoiAlign},
      {"", "GridSample", makeGridSample},
  };
}

}  // namespace onnxpress::runtime
