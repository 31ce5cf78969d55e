// Recurrent kernels: RNN, GRU, LSTM (ai.onnx opsets 7 and 14: every direction,
// layout 0/1, optional B, sequence_lens, initial_h, initial_c, P peepholes;
// activations with alpha/beta, clip, input_forget, linear_before_reset; Y, Y_h,
// Y_c each optional). float and double.
//
// Per direction, X*W^T (+ biases) for every time step is one GEMM up front; each
// step then adds H*R^T (one GEMM over the batch) and applies the gates. With
// sequence_lens, batch row b runs steps [0, len_b) (reverse: from len_b-1 down),
// Y is zero past len_b and Y_h/Y_c hold the last valid state (zero when len_b = 0).
#include <Eigen/Core>

#include <cctype>
#include <optional>

#include "Families.h"
#include "KernelUtil.h"

namespace onnxpress::runtime {
namespace {

// ---- activations -------------------------------------------------------------------------

enum class Act { Sigmoid, Tanh, Relu, HardSigmoid, LeakyRelu, ThresholdedRelu, ScaledTanh, Affine, Elu, Softsign,
                 Softplus };

struct Activation {
  Act kind = Act::Sigmoid;
  float alpha = 0, beta = 0;
};

struct ActInfo {
  const char* name;
  Act kind;
  bool usesAlpha, usesBeta;
  float alpha, beta;  // defaults (those of the matching ONNX operators)
};

constexpr ActInfo kActs[] = {
    {"sigmoid", Act::Sigmoid, false, false, 0.f, 0.f},
    {"tanh", Act::Tanh, false, false, 0.f, 0.f},
    {"relu", Act::Relu, false, false, 0.f, 0.f},
    {"hardsigmoid", Act::HardSigmoid, true, true, 0.2f, 0.5f},
    {"leakyrelu", Act::LeakyRelu, true, false, 0.01f, 0.f},
    {"thresholdedrelu", Act::ThresholdedRelu, true, false, 1.f, 0.f},
    {"scaledtanh", Act::ScaledTanh, true, true, 1.f, 1.f},
    {"affine", Act::Affine, true, true, 1.f, 0.f},
    {"elu", Act::Elu, true, false, 1.f, 0.f},
    {"softsign", Act::Softsign, false, false, 0.f, 0.f},
    {"softplus", Act::Softplus, false, false, 0.f, 0.f},
};

// out[i] = act(clip(in[i])); in and out may alias. clip <= 0 means no clipping.
template <typename T>
void activate(const Activation& a, const T* in, T* out, int64_t n, T clip) {
  const T alpha = static_cast<T>(a.alpha), beta = static_cast<T>(a.beta);
  auto run = [&](auto fn) {
    if (clip > 0) {
      for (int64_t i = 0; i < n; ++i) out[i] = fn(std::min(std::max(in[i], -clip), clip));
    } else {
      for (int64_t i = 0; i < n; ++i) out[i] = fn(in[i]);
    }
  };
  switch (a.kind) {
    case Act::Sigmoid: run([](T x) { return T(1) / (T(1) + std::exp(-x)); }); break;
    case Act::Tanh: run([](T x) { return std::tanh(x); }); break;
    case Act::Relu: run([](T x) { return x > T(0) ? x : T(0); }); break;
    case Act::HardSigmoid:
      run([&](T x) { return std::min(std::max(alpha * x + beta, T(0)), T(1)); });
      break;
    case Act::LeakyRelu: run([&](T x) { return x >= T(0) ? x : alpha * x; }); break;
    case Act::ThresholdedRelu: run([&](T x) { return x >= alpha ? x : T(0); }); break;
    case Act::ScaledTanh: run([&](T x) { return alpha * std::tanh(beta * x); }); break;
    case Act::Affine: run([&](T x) { return alpha * x + beta; }); break;
    case Act::Elu: run([&](T x) { return x >= T(0) ? x : alpha * (std::exp(x) - T(1)); }); break;
    case Act::Softsign: run([](T x) { return x / (T(1) + std::abs(x)); }); break;
    case Act::Softplus:
      // log(1 + e^x), computed without overflow for large x.
      run([](T x) { return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); });
      break;
  }
}

// ---- configuration -----------------------------------------------------------------------

enum class Cell { Rnn, Gru, Lstm };

struct RnnConfig {
  Cell cell = Cell::Rnn;
  int64_t gates = 1;        // 1 (RNN), 3 (GRU: z r h), 4 (LSTM: i o f c)
  int64_t hidden = 0;       // 0: taken from R
  int64_t numDirections = 1;
  bool reverse = false;     // direction == "reverse"
  int64_t layout = 0;
  double clip = 0;          // 0: no clip
  bool inputForget = false;
  bool linearBeforeReset = false;
  int64_t actsPerDirection = 1;
  std::vector<Activation> acts;  // actsPerDirection * numDirections
};

Expected<RnnConfig> parseConfig(const KernelBuildContext& b, Cell cell) {
  RnnConfig c;
  c.cell = cell;
  const Node& n = b.node;
  std::vector<std::string> defaults;
  switch (cell) {
    case Cell::Rnn: c.gates = 1; defaults = {"Tanh"}; break;
    case Cell::Gru: c.gates = 3; defaults = {"Sigmoid", "Tanh"}; break;
    case Cell::Lstm: c.gates = 4; defaults = {"Sigmoid", "Tanh", "Tanh"}; break;
  }
  c.actsPerDirection = static_cast<int64_t>(defaults.size());
  c.hidden = n.intAttr("hidden_size", 0);
  if (c.hidden < 0) return buildError(b, "hidden_size {} is negative", c.hidden);
  const std::string direction = n.stringAttr("direction", "forward");
  if (direction == "forward") {
    c.numDirections = 1;
  } else if (direction == "reverse") {
    c.numDirections = 1;
    c.reverse = true;
  } else if (direction == "bidirectional") {
    c.numDirections = 2;
  } else {
    return buildError(b, "direction '{}' is not forward, reverse or bidirectional", direction);
  }
  c.layout = b.opset >= 14 ? n.intAttr("layout", 0) : 0;
  if (c.layout != 0 && c.layout != 1) return buildError(b, "layout {} is not 0 or 1", c.layout);
  if (const Attribute* clip = n.attribute("clip")) {
    if (!(clip->f > 0)) return buildError(b, "clip {} must be positive", clip->f);
    c.clip = clip->f;
  }
  c.inputForget = cell == Cell::Lstm && n.intAttr("input_forget", 0) != 0;
  c.linearBeforeReset = cell == Cell::Gru && n.intAttr("linear_before_reset", 0) != 0;

  std::vector<std::string> names;
  if (const Attribute* a = n.attribute("activations"); a && !a->strings.empty()) names = a->strings;
  if (names.empty())
    for (int64_t d = 0; d < c.numDirections; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  if (c.numDirections == 2 && static_cast<int64_t>(names.size()) == c.actsPerDirection)
    names.insert(names.end(), names.begin(), names.end());  // one list given for both directions
  if (static_cast<int64_t>(names.size()) != c.actsPerDirection * c.numDirections)
    return buildError(b, "activations has {} entries, expected {}", names.size(),
                      c.actsPerDirection * c.numDirections);
  std::vector<float> alphas, betas;
  if (const Attribute* a = n.attribute("activation_alpha")) alphas = a->floats;
  if (const Attribute* a = n.attribute("activation_beta")) betas = a->floats;
  size_t ai = 0, bi = 0;
  // Alpha/beta values are consumed in order, by the activations that take them.
  for (const std::string& raw : names) {
    std::string name = raw;
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const ActInfo* info = nullptr;
    for (const ActInfo& k : kActs)
      if (name == k.name) info = &k;
    if (!info) return buildError(b, "unsupported activation '{}'", raw);
    Activation act{info->kind, info->alpha, info->beta};
    if (info->usesAlpha && ai < alphas.size()) act.alpha = alphas[ai++];
    if (info->usesBeta && bi < betas.size()) act.beta = betas[bi++];
    c.acts.push_back(act);
  }
  return c;
}

// ---- compute -----------------------------------------------------------------------------


// Swaps the first two axes of a [a, b, inner] tensor held in `src`.
template <typename T>
void swap01(const T* src, T* dst, int64_t a, int64_t b, int64_t inner) {
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j) std::copy_n(src + (i * b + j) * inner, inner, dst + (j * a + i) * inner);
}

template <typename T>
Status runRecurrent(const RnnConfig& c, KernelContext& ctx) {
  const TensorData& X = ctx.input(0);
  const TensorData& W = ctx.input(1);
  const TensorData& R = ctx.input(2);
  const DataType dt = X.dtype();
  if (X.rank() != 3) return kernelError(ctx, "X must have rank 3, got {}", shapeToString(X.shape()));
  if (W.rank() != 3 || R.rank() != 3) return kernelError(ctx, "W and R must have rank 3");
  if (W.dtype() != dt || R.dtype() != dt) return kernelError(ctx, "W and R must have the type of X");
  const int64_t nd = c.numDirections, G = c.gates;
  const int64_t seq = c.layout == 0 ? X.dim(0) : X.dim(1);
  const int64_t batch = c.layout == 0 ? X.dim(1) : X.dim(0);
  const int64_t in = X.dim(2);
  const int64_t H = c.hidden > 0 ? c.hidden : R.dim(2);
  if (W.dim(0) != nd || W.dim(1) != G * H || W.dim(2) != in)
    return kernelError(ctx, "W has shape {}, expected [{},{},{}]", shapeToString(W.shape()), nd, G * H, in);
  if (R.dim(0) != nd || R.dim(1) != G * H || R.dim(2) != H)
    return kernelError(ctx, "R has shape {}, expected [{},{},{}]", shapeToString(R.shape()), nd, G * H, H);
  const TensorData* B = ctx.hasInput(3) ? &ctx.input(3) : nullptr;
  if (B && (B->dtype() != dt || B->numElements() != nd * 2 * G * H))
    return kernelError(ctx, "B has shape {}, expected [{},{}]", shapeToString(B->shape()), nd, 2 * G * H);

  std::vector<int64_t> lens(static_cast<size_t>(batch), seq);
  if (ctx.hasInput(4)) {
    const TensorData& sl = ctx.input(4);
    if (sl.numElements() != batch) return kernelError(ctx, "sequence_lens has {} entries, batch is {}", sl.numElements(), batch);
    for (int64_t b = 0; b < batch; ++b) {
      lens[b] = sl.intAt(b);
      if (lens[b] < 0 || lens[b] > seq) return kernelError(ctx, "sequence_lens[{}] = {} is outside [0, {}]", b, lens[b], seq);
    }
  }
  const int64_t maxLen = batch ? *std::max_element(lens.begin(), lens.end()) : 0;

  // Initial states and peepholes in the [nd, batch, H] order.
  auto loadState = [&](size_t idx, const char* what, std::vector<T>& out) -> Status {
    out.assign(static_cast<size_t>(nd * batch * H), T(0));
    if (!ctx.hasInput(idx)) return Status::ok();
    const TensorData& s = ctx.input(idx);
    if (s.dtype() != dt || s.numElements() != nd * batch * H)
      return kernelError(ctx, "{} has shape {}, expected {} elements", what, shapeToString(s.shape()), nd * batch * H);
    if (c.layout == 0) std::copy_n(s.data<T>(), out.size(), out.data());
    else swap01(s.data<T>(), out.data(), batch, nd, H);
    return Status::ok();
  };
  std::vector<T> h0, c0;
  RETURN_IF_ERROR(loadState(5, "initial_h", h0));
  if (c.cell == Cell::Lstm) RETURN_IF_ERROR(loadState(6, "initial_c", c0));
  const TensorData* P = c.cell == Cell::Lstm && ctx.hasInput(7) ? &ctx.input(7) : nullptr;
  if (P && (P->dtype() != dt || P->numElements() != nd * 3 * H))
    return kernelError(ctx, "P has shape {}, expected [{},{}]", shapeToString(P->shape()), nd, 3 * H);

  // X in layout 0: [seq, batch, in].
  std::vector<T> xSwapped;
  const T* x = X.data<T>();
  if (c.layout == 1) {
    xSwapped.resize(static_cast<size_t>(X.numElements()));
    swap01(x, xSwapped.data(), batch, seq, in);
    x = xSwapped.data();
  }

  const bool wantY = ctx.outputs.size() > 0 && ctx.node.output(0);
  const bool wantH = ctx.outputs.size() > 1 && ctx.node.output(1);
  const bool wantC = c.cell == Cell::Lstm && ctx.outputs.size() > 2 && ctx.node.output(2);
  // Outputs in layout 0: Y [seq, nd, batch, H], Y_h/Y_c [nd, batch, H].
  std::vector<T> y(wantY ? static_cast<size_t>(seq * nd * batch * H) : 0, T(0));
  std::vector<T> yh(static_cast<size_t>(nd * batch * H)), yc(c.cell == Cell::Lstm ? yh.size() : 0);

  const T clip = static_cast<T>(c.clip);
  const int64_t GH = G * H;
  std::vector<T> xw(static_cast<size_t>(seq * batch * GH));
  std::vector<T> gates(static_cast<size_t>(batch * GH)), hState, cState;
  std::vector<T> tmp(static_cast<size_t>(batch * H)), tmp2(static_cast<size_t>(batch * H));
  std::vector<int64_t> rowTime(static_cast<size_t>(batch));

  for (int64_t d = 0; d < nd; ++d) {
    const bool rev = c.reverse || d == 1;
    const T* w = W.data<T>() + d * GH * in;
    const T* r = R.data<T>() + d * GH * H;
    const T* wb = B ? B->data<T>() + d * 2 * GH : nullptr;
    const T* rb = B ? wb + GH : nullptr;
    const T* p = P ? P->data<T>() + d * 3 * H : nullptr;
    const Activation* acts = c.acts.data() + d * c.actsPerDirection;

    // xw = X * W^T + Wb + Rb (GRU with linear_before_reset keeps Rbh for the step).
    MatrixMap<T> XW(xw.data(), seq * batch, GH);
    if (seq * batch > 0) XW.noalias() = ConstMatrixMap<T>(x, seq * batch, in) * ConstMatrixMap<T>(w, GH, in).transpose();
    if (B) {
      std::vector<T> bias(static_cast<size_t>(GH));
      for (int64_t j = 0; j < GH; ++j) {
        const bool keepRb = c.cell == Cell::Gru && c.linearBeforeReset && j >= 2 * H;
        bias[j] = wb[j] + (keepRb ? T(0) : rb[j]);
      }
      T* px = xw.data();
      for (int64_t row = 0; row < seq * batch; ++row, px += GH)
        for (int64_t j = 0; j < GH; ++j) px[j] += bias[j];
    }

    hState.assign(h0.begin() + d * batch * H, h0.begin() + (d + 1) * batch * H);
    if (c.cell == Cell::Lstm) cState.assign(c0.begin() + d * batch * H, c0.begin() + (d + 1) * batch * H);
    MatrixMap<T> Hs(hState.data(), batch, H);
    MatrixMap<T> Gs(gates.data(), batch, GH);

    for (int64_t s = 0; s < maxLen; ++s) {
      for (int64_t b = 0; b < batch; ++b) {
        rowTime[b] = s < lens[b] ? (rev ? lens[b] - 1 - s : s) : -1;
        if (rowTime[b] >= 0) std::copy_n(xw.data() + (rowTime[b] * batch + b) * GH, GH, gates.data() + b * GH);
      }
      if (c.cell == Cell::Gru) {
        // z and r: add H * Rzr^T.
        Gs.leftCols(2 * H).noalias() += Hs * ConstMatrixMap<T>(r, 2 * H, H).transpose();
        ConstMatrixMap<T> Rh(r + 2 * H * H, H, H);
        MatrixMap<T> T1(tmp.data(), batch, H);
        if (c.linearBeforeReset) T1.noalias() = Hs * Rh.transpose();  // H * Rh^T (+ Rbh below)
        for (int64_t b = 0; b < batch; ++b) {
          if (rowTime[b] < 0) continue;
          T* g = gates.data() + b * GH;
          activate(acts[0], g, g, 2 * H, clip);  // z, r
          const T* hp = hState.data() + b * H;
          T* t1 = tmp.data() + b * H;
          if (c.linearBeforeReset) {
            for (int64_t j = 0; j < H; ++j) g[2 * H + j] += g[H + j] * (t1[j] + (rb ? rb[2 * H + j] : T(0)));
          } else {
            for (int64_t j = 0; j < H; ++j) t1[j] = g[H + j] * hp[j];  // r . H
          }
        }
        if (!c.linearBeforeReset) Gs.rightCols(H).noalias() += T1 * Rh.transpose();
        for (int64_t b = 0; b < batch; ++b) {
          if (rowTime[b] < 0) continue;
          T* g = gates.data() + b * GH;
          activate(acts[1], g + 2 * H, g + 2 * H, H, clip);
          T* hp = hState.data() + b * H;
          for (int64_t j = 0; j < H; ++j) hp[j] = (T(1) - g[j]) * g[2 * H + j] + g[j] * hp[j];
        }
      } else {
        Gs.noalias() += Hs * ConstMatrixMap<T>(r, GH, H).transpose();
        for (int64_t b = 0; b < batch; ++b) {
          if (rowTime[b] < 0) continue;
          T* g = gates.data() + b * GH;
          T* hp = hState.data() + b * H;
          if (c.cell == Cell::Rnn) {
            activate(acts[0], g, hp, H, clip);
            continue;
          }
          // LSTM gates i o f c.
          T* gi = g;
          T* go = g + H;
          T* gf = g + 2 * H;
          T* gc = g + 3 * H;
          T* cp = cState.data() + b * H;
          if (p)
            for (int64_t j = 0; j < H; ++j) {
              gi[j] += p[j] * cp[j];
              gf[j] += p[2 * H + j] * cp[j];
            }
          activate(acts[0], gi, gi, H, clip);
          if (c.inputForget) {
            for (int64_t j = 0; j < H; ++j) gf[j] = T(1) - gi[j];
          } else {
            activate(acts[0], gf, gf, H, clip);
          }
          activate(acts[1], gc, gc, H, clip);
          for (int64_t j = 0; j < H; ++j) cp[j] = gf[j] * cp[j] + gi[j] * gc[j];
          if (p)
            for (int64_t j = 0; j < H; ++j) go[j] += p[H + j] * cp[j];
          activate(acts[0], go, go, H, clip);
          T* hc = tmp2.data() + b * H;
          activate(acts[2], cp, hc, H, T(0));
          for (int64_t j = 0; j < H; ++j) hp[j] = go[j] * hc[j];
        }
      }
      if (wantY)
        for (int64_t b = 0; b < batch; ++b)
          if (rowTime[b] >= 0)
            std::copy_n(hState.data() + b * H, H, y.data() + ((rowTime[b] * nd + d) * batch + b) * H);
    }
    for (int64_t b = 0; b < batch; ++b) {
      T* dh = yh.data() + (d * batch + b) * H;
      if (lens[b] == 0) std::fill_n(dh, H, T(0));
      else std::copy_n(hState.data() + b * H, H, dh);
      if (c.cell == Cell::Lstm) {
        T* dc = yc.data() + (d * batch + b) * H;
        if (lens[b] == 0) std::fill_n(dc, H, T(0));
        else std::copy_n(cState.data() + b * H, H, dc);
      }
    }
  }

  if (wantY) {
    if (c.layout == 0) {
      ctx.outputs[0] = TensorData::fromVector(dt, {seq, nd, batch, H}, y);
    } else {
      TensorData out = TensorData::allocate(dt, {batch, seq, nd, H});
      T* o = out.data<T>();
      for (int64_t t = 0; t < seq; ++t)
        for (int64_t d = 0; d < nd; ++d)
          for (int64_t b = 0; b < batch; ++b)
            std::copy_n(y.data() + ((t * nd + d) * batch + b) * H, H, o + ((b * seq + t) * nd + d) * H);
      ctx.outputs[0] = std::move(out);
    }
  }
  auto emitState = [&](size_t slot, const std::vector<T>& v) {
    if (c.layout == 0) {
      ctx.outputs[slot] = TensorData::fromVector(dt, {nd, batch, H}, v);
    } else {
      TensorData out = TensorData::allocate(dt, {batch, nd, H});
      swap01(v.data(), out.data<T>(), nd, batch, H);
      ctx.outputs[slot] = std::move(out);
    }
  };
  if (wantH) emitState(1, yh);
  if (wantC) emitState(2, yc);
  return Status::ok();
}

Expected<KernelFn> makeRecurrent(const KernelBuildContext& b, Cell cell) {
  ASSIGN_OR_RETURN(RnnConfig cfg, parseConfig(b, cell));
  return KernelFn([cfg](KernelContext& ctx) -> Status {
    switch (ctx.input(0).dtype()) {
      case DataType::Float: return runRecurrent<float>(cfg, ctx);
      case DataType::Double: return runRecurrent<double>(cfg, ctx);
      default: return kernelError(ctx, "unsupported dtype {}", dataTypeName(ctx.input(0).dtype()));
    }
  });
}

Expected<KernelFn> makeRnn(const KernelBuildContext& b) { return makeRecurrent(b, Cell::Rnn); }
Expected<KernelFn> makeGru(const KernelBuildContext& b) { return makeRecurrent(b, Cell::Gru); }
Expected<KernelFn> makeLstm(const KernelBuildContext& b) { return makeRecurrent(b, Cell::Lstm); }

}  // namespace

std::vector<KernelEntry> rnnKernels() {
  return {
      {"", "RNN", makeRnn},
      {"", "GRU", makeGru},
      {"", "LSTM", makeLstm},
  };
}

}  // namespace onnxpress::runtime
