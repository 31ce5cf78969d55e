// Integer convolution: ConvInteger (10) and QLinearConv (10). Output sizes and pads
// come from ConvGeometry, as for Conv. (x - x_zero_point) is expanded im2col-style in
// int32, then one int32 Eigen GEMM per image and group multiplies it with
// (w - w_zero_point). QLinearConv requantizes the accumulator with the float scale
// ratio x_scale * w_scale[m] / y_scale, as ONNX Runtime does.
#include <Eigen/Core>

#include "onnxpress/ir/ConvGeometry.h"
#include "Families.h"
#include "QuantUtil.h"

namespace onnxpress::runtime {
namespace {

using namespace quant;

struct IntConvAttrs {
  WindowAttrs window;  // auto_pad, kernel_shape, strides, dilations, pads
  int64_t group = 1;
};

Expected<IntConvAttrs> parseIntConvAttrs(const KernelBuildContext& b) {
  IntConvAttrs c;
  c.window = WindowAttrs::read(b.node);
  c.window.ceilMode = false;  // a pool attribute
  const std::string& autoPad = c.window.autoPad;
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    return buildError(b, "auto_pad '{}' is not supported", autoPad);
  c.group = b.node.intAttr("group", 1);
  if (c.group < 1) return buildError(b, "group {} must be positive", c.group);
  return c;
}

/// Sizes of one integer convolution: x [N, C, in...], w [M, C/G, kernel...].
struct IntConvGeometry {
  int64_t N = 0, C = 0, M = 0, G = 1, Cg = 0, Mg = 0, kProd = 1, inProd = 1, outProd = 1;
  std::vector<int64_t> in;  // input spatial dims
  WindowGeometry win;       // output dims, kernel, strides, dilations, pads
};

Expected<IntConvGeometry> intConvGeometry(const IntConvAttrs& a, const Shape& x, const Shape& w,
                                          const std::string& where) {
  if (x.size() < 3 || w.size() != x.size())
    return invalidInput("node {}: conv input {} and weight {} ranks are invalid", where, shapeToString(x),
                        shapeToString(w));
  IntConvGeometry g;
  const size_t nsp = x.size() - 2;
  g.N = x[0];
  g.C = x[1];
  g.M = w[0];
  g.G = a.group;
  if (g.C % g.G || g.M % g.G || w[1] * g.G != g.C)
    return invalidInput("node {}: channels {} / weight {} do not fit group {}", where, shapeToString(x),
                        shapeToString(w), g.G);
  g.Cg = g.C / g.G;
  g.Mg = g.M / g.G;
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (!a.window.kernel.empty() && a.window.kernel.size() != nsp)
    return invalidInput("node {}: kernel_shape has {} entries for {} spatial axes", where, a.window.kernel.size(), nsp);
  if (!a.window.kernel.empty() && a.window.kernel != kernel)
    return invalidInput("node {}: kernel_shape does not match the weight shape {}", where, shapeToString(w));
  if (!a.window.pads.empty() && a.window.pads.size() != 2 * nsp)
    return invalidInput("node {}: pads has {} entries for {} spatial axes", where, a.window.pads.size(), nsp);
  g.in.assign(x.begin() + 2, x.end());
  ASSIGN_OR_RETURN(g.win, resolveWindow(a.window, g.in, kernel, where));
  for (size_t i = 0; i < nsp; ++i) {
    const int64_t span = (kernel[i] - 1) * g.win.dilations[i] + 1;
    if (g.in[i] + g.win.padBegin[i] + g.win.padEnd[i] < span)
      return invalidInput("node {}: kernel larger than the padded input", where);
    g.kProd *= kernel[i];
    g.inProd *= g.in[i];
    g.outProd *= g.win.out[i];
  }
  return g;
}

/// acc[n, m, out] = sum over (c, k) of (x - xzp) * (w - wzp[m]); padding contributes zero.
template <typename TX, typename TW>
void intConv(const IntConvGeometry& g, const TX* x, int32_t xzp, const TW* w, const std::vector<int32_t>& wzp,
             int32_t* acc, int threads) {
  const WindowGeometry& win = g.win;
  const int64_t rows = g.Cg * g.kProd, nsp = static_cast<int64_t>(g.in.size());
  const int64_t last = nsp - 1, outLast = win.out[last], outer = outLast ? g.outProd / outLast : 0;
  std::vector<int32_t> wi(static_cast<size_t>(g.M * rows));
  for (int64_t m = 0; m < g.M; ++m) {
    const int32_t z = wzp.size() == 1 ? wzp[0] : wzp[m];
    for (int64_t r = 0; r < rows; ++r) wi[m * rows + r] = static_cast<int32_t>(w[m * rows + r]) - z;
  }
  std::vector<int64_t> inStride(static_cast<size_t>(nsp), 1);
  for (int64_t i = nsp - 1; i-- > 0;) inStride[i] = inStride[i + 1] * g.in[i + 1];
  std::vector<int32_t> cols(static_cast<size_t>(rows * g.outProd));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const TX* xg = x + (n * g.C + grp * g.Cg) * g.inProd;
      parallelFor(rows, threads, [&](int64_t s, int64_t e) {
        std::vector<int64_t> kidx(static_cast<size_t>(nsp)), o(static_cast<size_t>(nsp), 0);
        for (int64_t r = s; r < e; ++r) {
          const int64_t c = r / g.kProd;
          int64_t kk = r % g.kProd;
          for (int64_t i = nsp; i-- > 0;) {
            kidx[i] = kk % win.kernel[i];
            kk /= win.kernel[i];
          }
          const TX* xc = xg + c * g.inProd;
          int32_t* dst = cols.data() + r * g.outProd;
          std::fill(o.begin(), o.end(), 0);
          const int64_t kOff = kidx[last] * win.dilations[last] - win.padBegin[last];
          for (int64_t oc = 0; oc < outer; ++oc, dst += outLast) {
            int64_t off = 0;
            bool valid = true;
            for (int64_t i = 0; i < last; ++i) {
              const int64_t in = o[i] * win.strides[i] - win.padBegin[i] + kidx[i] * win.dilations[i];
              if (in < 0 || in >= g.in[i]) valid = false;
              off += in * inStride[i];
            }
            if (!valid) {
              std::fill_n(dst, outLast, 0);
            } else {
              const TX* xr = xc + off;
              for (int64_t ol = 0; ol < outLast; ++ol) {
                const int64_t in = ol * win.strides[last] + kOff;
                dst[ol] = in >= 0 && in < g.in[last] ? static_cast<int32_t>(xr[in]) - xzp : 0;
              }
            }
            for (int64_t i = last; i-- > 0;) {  // next outer output position
              if (++o[i] < win.out[i]) break;
              o[i] = 0;
            }
          }
        }
      }, std::max<int64_t>(1, 4096 / std::max<int64_t>(g.outProd, 1)));
      MatrixMap<int32_t> out(acc + (n * g.M + grp * g.Mg) * g.outProd, g.Mg, g.outProd);
      if (rows == 0) {
        out.setZero();
        continue;
      }
      out.noalias() = ConstMatrixMap<int32_t>(wi.data() + grp * g.Mg * rows, g.Mg, rows) *
                      ConstMatrixMap<int32_t>(cols.data(), rows, g.outProd);
    }
}

/// Runs intConv for the 8-bit type pair of x and w.
Status runIntConv(KernelContext& ctx, const IntConvGeometry& g, const TensorData& x, int32_t xzp, const TensorData& w,
                  const std::vector<int32_t>& wzp, std::vector<int32_t>& acc) {
  acc.assign(static_cast<size_t>(g.N * g.M * g.outProd), 0);
  bool inner = false;
  const bool outer = dispatch<TypeList<uint8_t, int8_t>>(x.dtype(), [&](auto xt) {
    using TX = decltype(xt);
    inner = dispatch<TypeList<uint8_t, int8_t>>(w.dtype(), [&](auto wt) {
      using TW = decltype(wt);
      intConv(g, x.data<TX>(), xzp, w.data<TW>(), wzp, acc.data(), ctx.threads);
    });
  });
  if (!outer || !inner)
    return kernelError(ctx, "unsupported input types {} and {}", dataTypeName(x.dtype()), dataTypeName(w.dtype()));
  return Status::ok();
}

Shape convOutShape(const IntConvGeometry& g) {
  Shape s{g.N, g.M};
  s.insert(s.end(), g.win.out.begin(), g.win.out.end());
  return s;
}

Expected<std::vector<int32_t>> readWeightZeroPoint(const KernelContext& ctx, const TensorData* t, int64_t M) {
  if (!t) return std::vector<int32_t>{0};
  if (t->numElements() != 1 && t->numElements() != M)
    return kernelError(ctx, "weight zero point has {} elements, expected 1 or {}", t->numElements(), M);
  std::vector<int32_t> v(static_cast<size_t>(t->numElements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(t->intAt(static_cast<int64_t>(i)));
  return v;
}

Expected<KernelFn> makeConvInteger(const KernelBuildContext& b) {
  ASSIGN_OR_RETURN(IntConvAttrs attrs, parseIntConvAttrs(b));
  return KernelFn([attrs](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const TensorData& w = ctx.input(1);
    ASSIGN_OR_RETURN(IntConvGeometry g, intConvGeometry(attrs, x.shape(), w.shape(), ctx.where()));
    int32_t xzp = 0;
    if (ctx.hasInput(2)) {
      if (ctx.input(2).numElements() != 1) return kernelError(ctx, "x_zero_point must be a scalar");
      xzp = static_cast<int32_t>(ctx.input(2).intAt(0));
    }
    ASSIGN_OR_RETURN(std::vector<int32_t> wzp, readWeightZeroPoint(ctx, ctx.hasInput(3) ? &ctx.input(3) : nullptr, g.M));
    std::vector<int32_t> acc;
    RETURN_IF_ERROR(runIntConv(ctx, g, x, xzp, w, wzp, acc));
    ctx.outputs[0] = TensorData::fromVector(DataType::Int32, convOutShape(g), acc);
    return Status::ok();
  });
}

Expected<KernelFn> makeQLinearConv(const KernelBuildContext& b) {
  ASSIGN_OR_RETURN(IntConvAttrs attrs, parseIntConvAttrs(b));
  return KernelFn([attrs](KernelContext& ctx) -> Status {
    for (size_t i = 0; i < 8; ++i)
      if (!ctx.hasInput(i)) return kernelError(ctx, "input {} is required", i);
    const TensorData& x = ctx.input(0);
    const TensorData& w = ctx.input(3);
    ASSIGN_OR_RETURN(IntConvGeometry g, intConvGeometry(attrs, x.shape(), w.shape(), ctx.where()));
    if (ctx.input(1).numElements() != 1 || ctx.input(2).numElements() != 1)
      return kernelError(ctx, "x_scale and x_zero_point must be scalars");
    if (ctx.input(6).numElements() != 1 || ctx.input(7).numElements() != 1)
      return kernelError(ctx, "y_scale and y_zero_point must be scalars");
    const float xs = static_cast<float>(ctx.input(1).doubleAt(0));
    const int32_t xzp = static_cast<int32_t>(ctx.input(2).intAt(0));
    const std::vector<float> ws = readFloats(ctx.input(4));
    if (ws.size() != 1 && static_cast<int64_t>(ws.size()) != g.M)
      return kernelError(ctx, "w_scale has {} elements, expected 1 or {}", ws.size(), g.M);
    ASSIGN_OR_RETURN(std::vector<int32_t> wzp, readWeightZeroPoint(ctx, &ctx.input(5), g.M));
    const float ys = static_cast<float>(ctx.input(6).doubleAt(0));
    std::vector<int32_t> acc;
    RETURN_IF_ERROR(runIntConv(ctx, g, x, xzp, w, wzp, acc));
    if (ctx.hasInput(8)) {
      const TensorData& bias = ctx.input(8);
      if (bias.numElements() != g.M) return kernelError(ctx, "B has {} elements, expected {}", bias.numElements(), g.M);
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t m = 0; m < g.M; ++m) {
          const int32_t bv = static_cast<int32_t>(bias.intAt(m));
          int32_t* p = acc.data() + (n * g.M + m) * g.outProd;
          for (int64_t i = 0; i < g.outProd; ++i) p[i] += bv;
        }
    }
    std::vector<float> mul(static_cast<size_t>(g.M));
    for (int64_t m = 0; m < g.M; ++m) mul[m] = xs * ws[ws.size() == 1 ? 0 : m] / ys;
    const int64_t outProd = g.outProd, M = g.M;
    return requantize(ctx, acc, ctx.input(7), convOutShape(g), [&](int64_t i) { return mul[(i / outProd) % M]; });
  });
}

}  // namespace

std::vector<KernelEntry> quantizedConvKernels() {
  return {
      {"", "QLinearConv", makeQLinearConv},
      {"", "ConvInteger", makeConvInteger},
  };
}

}  // namespace onnxpress::runtime
