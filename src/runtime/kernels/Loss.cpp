// Loss kernels (ai.onnx, opset 12 and 13):
//   NegativeLogLikelihoodLoss  loss[n,d] = -input[n, target[n,d], d] * weight[target[n,d]]
//   SoftmaxCrossEntropyLoss    the same on log_softmax(scores, axis 1), optional log_prob output
// Inputs are [N, C] or [N, C, d1, ..., dk] with targets [N] / [N, d1, ..., dk] (int32 or int64).
// reduction: "none" (loss shaped like the target), "sum", or "mean" (sum divided by the sum of
// the weights applied; without weights, by the number of targets not equal to ignore_index).
// Targets equal to ignore_index contribute 0 with weight 0; any other target outside [0, C) is an
// error. Math runs in float for float/half/bfloat16 and in double for double; sums in double.
#include <atomic>
#include <cmath>
#include <string>

#include "KernelUtil.h"
#include "Families.h"

namespace onnxpress::runtime {
namespace {


using IndexTypes = TypeList<int32_t, int64_t>;

enum class LossReduction { None, Sum, Mean };

struct LossParams {
  LossReduction reduction = LossReduction::Mean;
  bool hasIgnore = false;
  int64_t ignoreIndex = 0;
};

Expected<LossParams> parseLossParams(const KernelBuildContext& b) {
  LossParams p;
  const std::string r = b.node.stringAttr("reduction", "mean");
  if (r == "none") p.reduction = LossReduction::None;
  else if (r == "sum") p.reduction = LossReduction::Sum;
  else if (r == "mean") p.reduction = LossReduction::Mean;
  else return buildError(b, "unknown reduction '{}'", r);
  if (b.node.attribute("ignore_index")) {
    p.hasIgnore = true;
    p.ignoreIndex = b.node.intAttr("ignore_index", 0);
  }
  return p;
}

// Computes the loss of one node. kSoftmax: apply log_softmax over axis 1 first (SCE).
template <typename T, typename I, bool kSoftmax>
Status computeLoss(KernelContext& ctx, const LossParams& p) {
  using C = Calc<T>;
  const TensorData& x = ctx.input(0);
  const TensorData& target = ctx.input(1);
  const bool hasWeight = ctx.hasInput(2);
  if (x.rank() < 2) return kernelError(ctx, "input must have rank >= 2, got {}", shapeToString(x.shape()));
  const int64_t N = x.dim(0), classes = x.dim(1);
  Shape expectTarget{N};
  for (int64_t i = 2; i < x.rank(); ++i) expectTarget.push_back(x.dim(i));
  if (target.shape() != expectTarget)
    return kernelError(ctx, "target shape {} does not match input {} (expected {})", shapeToString(target.shape()),
                       shapeToString(x.shape()), shapeToString(expectTarget));
  const int64_t D = N ? elementCount(expectTarget) / N : 0;
  const T* pw = nullptr;
  if (hasWeight) {
    const TensorData& w = ctx.input(2);
    if (w.dtype() != x.dtype()) return kernelError(ctx, "weight dtype differs from input dtype");
    if (w.rank() != 1 || w.dim(0) != classes)
      return kernelError(ctx, "weight shape {} should be [{}]", shapeToString(w.shape()), classes);
    pw = w.data<T>();
  }

  const bool wantLogProb = kSoftmax && ctx.outputs.size() > 1 && ctx.node.output(1) != nullptr;
  TensorData logProb;
  if (wantLogProb) logProb = TensorData::allocate(x.dtype(), x.shape());
  TensorData lossNone;
  if (p.reduction == LossReduction::None) lossNone = TensorData::allocate(x.dtype(), expectTarget);

  const T* px = x.data<T>();
  const I* pt = target.data<I>();
  T* plp = wantLogProb ? logProb.data<T>() : nullptr;
  T* pl = p.reduction == LossReduction::None ? lossNone.data<T>() : nullptr;
  // Per-sample partial sums keep the reduction deterministic across thread counts.
  std::vector<double> lossSum, weightSum;
  if (p.reduction != LossReduction::None) {
    lossSum.assign(static_cast<size_t>(N), 0.0);
    weightSum.assign(static_cast<size_t>(N), 0.0);
  }
  std::atomic<bool> bad{false};
  std::atomic<int64_t> badValue{0};

  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(classes * D, 1));
  parallelFor(N, ctx.threads, [&](int64_t s, int64_t e) {
    std::vector<C> logSum;  // per position d: max + log(sum(exp(x - max)))
    std::vector<C> maxv;
    if constexpr (kSoftmax) {
      logSum.resize(static_cast<size_t>(D));
      maxv.resize(static_cast<size_t>(D));
    }
    for (int64_t n = s; n < e; ++n) {
      const T* xn = px + n * classes * D;
      if constexpr (kSoftmax) {
        std::fill(maxv.begin(), maxv.end(), -std::numeric_limits<C>::infinity());
        std::fill(logSum.begin(), logSum.end(), C(0));
        for (int64_t c = 0; c < classes; ++c) {
          const T* row = xn + c * D;
          for (int64_t d = 0; d < D; ++d) maxv[d] = std::max(maxv[d], static_cast<C>(row[d]));
        }
        for (int64_t c = 0; c < classes; ++c) {
          const T* row = xn + c * D;
          for (int64_t d = 0; d < D; ++d) logSum[d] += std::exp(static_cast<C>(row[d]) - maxv[d]);
        }
        for (int64_t d = 0; d < D; ++d) logSum[d] = maxv[d] + std::log(logSum[d]);
        if (plp) {
          T* lpn = plp + n * classes * D;
          for (int64_t c = 0; c < classes; ++c)
            for (int64_t d = 0; d < D; ++d)
              lpn[c * D + d] = static_cast<T>(static_cast<C>(xn[c * D + d]) - logSum[d]);
        }
      }
      double ls = 0, ws = 0;
      for (int64_t d = 0; d < D; ++d) {
        const int64_t t = static_cast<int64_t>(pt[n * D + d]);
        C loss = C(0), w = C(0);
        if (p.hasIgnore && t == p.ignoreIndex) {
          // ignored: loss 0, weight 0
        } else if (t < 0 || t >= classes) {
          bad.store(true);
          badValue.store(t);
        } else {
          w = pw ? static_cast<C>(pw[t]) : C(1);
          C v = static_cast<C>(xn[t * D + d]);
          if constexpr (kSoftmax) v -= logSum[d];
          loss = -v * w;
        }
        if (pl) pl[n * D + d] = static_cast<T>(loss);
        ls += static_cast<double>(loss);
        ws += static_cast<double>(w);
      }
      if (!lossSum.empty()) {
        lossSum[n] = ls;
        weightSum[n] = ws;
      }
    }
  }, grain);
  if (bad.load()) return kernelError(ctx, "target {} out of range [0, {})", badValue.load(), classes);

  if (p.reduction == LossReduction::None) {
    ctx.outputs[0] = std::move(lossNone);
  } else {
    double ls = 0, ws = 0;
    for (int64_t n = 0; n < N; ++n) {
      ls += lossSum[n];
      ws += weightSum[n];
    }
    const double v = p.reduction == LossReduction::Sum ? ls : ls / ws;  // 0/0 = NaN as in the reference
    TensorData out = TensorData::allocate(x.dtype(), {});
    out.data<T>()[0] = static_cast<T>(static_cast<C>(v));
    ctx.outputs[0] = std::move(out);
  }
  if (wantLogProb) ctx.outputs[1] = std::move(logProb);
  return Status::ok();
}

template <bool kSoftmax>
Expected<KernelFn> makeLoss(const KernelBuildContext& b) {
  ASSIGN_OR_RETURN(LossParams p, parseLossParams(b));
  return KernelFn([p](KernelContext& ctx) -> Status {
    if (ctx.numInputs() < 2 || !ctx.hasInput(0) || !ctx.hasInput(1)) return kernelError(ctx, "needs input and target");
    const DataType xt = ctx.input(0).dtype(), it = ctx.input(1).dtype();
    Status st = Status::ok();
    bool idxOk = false;
    const bool ok = dispatch<FloatTypes>(xt, [&](auto tag) {
      using T = decltype(tag);
      idxOk = dispatch<IndexTypes>(it, [&](auto itag) {
        using I = decltype(itag);
        st = computeLoss<T, I, kSoftmax>(ctx, p);
      });
    });
    if (!ok) return kernelError(ctx, "unsupported input dtype {}", dataTypeName(xt));
    if (!idxOk) return kernelError(ctx, "unsupported target dtype {}", dataTypeName(it));
    return st;
  });
}

}  // namespace

std::vector<KernelEntry> lossKernels() {
  return {
      {"", "NegativeLogLikelihoodLoss", makeLoss<false>},
      {"", "SoftmaxCrossEntropyLoss", makeLoss<true>},
  };
}

}  // namespace onnxpress::runtime
