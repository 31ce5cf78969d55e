// Backward of the ops that multiply by weights: MatMul (batched, broadcast), Gemm
// and Conv (groups, strides, dilations, pads; 1-D and 2-D).
//
//   Y = A·B           dA = G·Bᵀ,  dB = Aᵀ·G         (then summed over broadcast batch axes)
//   Y = α A'B' + βC   dA' = α G B'ᵀ, dB' = α A'ᵀ G, dC = β G summed to C's shape
//   Conv, per image n and group g, with col = im2col(X):
//     Y = W·col       dW += G·colᵀ,  dcol = Wᵀ·G,  dX = col2im(dcol),  dB = Σ G
//   ConvTranspose: the same with the roles of X and Y exchanged (see convTransposeGrad)
#include <Eigen/Core>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "Families.h"
#include "GradUtil.h"

namespace onnxpress::train::gradients {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMatrix>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;

Status matMulGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  TensorData a = ctx.input(0), b = ctx.input(1);
  const Shape aShape = a.shape(), bShape = b.shape();
  // 1-D operands become matrices, as the forward op promotes them.
  if (a.rank() == 1) a = a.reshaped({1, a.dim(0)});
  if (b.rank() == 1) b = b.reshaped({b.dim(0), 1});
  const int64_t m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
  const Shape aBatch(a.shape().begin(), a.shape().end() - 2), bBatch(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcastShapes(aBatch, bBatch);
  Shape aFull = batch, bFull = batch, gFull = batch;
  aFull.insert(aFull.end(), {m, k});
  bFull.insert(bFull.end(), {k, n});
  gFull.insert(gFull.end(), {m, n});
  const TensorData g = ctx.outputGrad(0).reshaped(gFull);
  const TensorData aB = broadcastTo(a, aFull), bB = broadcastTo(b, bFull);
  const int64_t batches = elementCount(batch);
  TensorData da, db;
  if (ctx.wants(0)) da = TensorData::allocate(DataType::Float, aFull);
  if (ctx.wants(1)) db = TensorData::allocate(DataType::Float, bFull);
  for (int64_t i = 0; i < batches; ++i) {
    ConstMatrixMap gi(g.data<float>() + i * m * n, m, n);
    if (ctx.wants(0))
      MatrixMap(da.data<float>() + i * m * k, m, k).noalias() = gi * ConstMatrixMap(bB.data<float>() + i * k * n, k, n).transpose();
    if (ctx.wants(1))
      MatrixMap(db.data<float>() + i * k * n, k, n).noalias() = ConstMatrixMap(aB.data<float>() + i * m * k, m, k).transpose() * gi;
  }
  if (ctx.wants(0)) ctx.inputGrads[0] = sumToShape(da, a.shape()).reshaped(aShape);
  if (ctx.wants(1)) ctx.inputGrads[1] = sumToShape(db, b.shape()).reshaped(bShape);
  return Status::ok();
}

Status gemmGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  const bool transA = ctx.node.intAttr("transA", 0) != 0, transB = ctx.node.intAttr("transB", 0) != 0;
  const float alpha = ctx.node.floatAttr("alpha", 1.f), beta = ctx.node.floatAttr("beta", 1.f);
  const TensorData &a = ctx.input(0), &b = ctx.input(1);
  const TensorData g = ctx.outputGrad(0);
  const int64_t m = g.dim(0), n = g.dim(1);
  ConstMatrixMap gm(g.data<float>(), m, n);
  ConstMatrixMap am(a.data<float>(), a.dim(0), a.dim(1)), bm(b.data<float>(), b.dim(0), b.dim(1));
  if (ctx.wants(0)) {
    TensorData da = TensorData::allocate(DataType::Float, a.shape());
    MatrixMap dm(da.data<float>(), a.dim(0), a.dim(1));
    // dA' = α G B'ᵀ (m x k); A' = Aᵀ when transA.
    if (transA) {
      if (transB) dm.noalias() = alpha * (gm * bm).transpose();
      else dm.noalias() = alpha * (gm * bm.transpose()).transpose();
    } else {
      if (transB) dm.noalias() = alpha * gm * bm;
      else dm.noalias() = alpha * gm * bm.transpose();
    }
    ctx.inputGrads[0] = std::move(da);
  }
  if (ctx.wants(1)) {
    TensorData db = TensorData::allocate(DataType::Float, b.shape());
    MatrixMap dm(db.data<float>(), b.dim(0), b.dim(1));
    // dB' = α A'ᵀ G (k x n); B' = Bᵀ when transB.
    if (transB) {
      if (transA) dm.noalias() = alpha * (am * gm).transpose();
      else dm.noalias() = alpha * gm.transpose() * am;
    } else {
      if (transA) dm.noalias() = alpha * am * gm;
      else dm.noalias() = alpha * am.transpose() * gm;
    }
    ctx.inputGrads[1] = std::move(db);
  }
  if (ctx.wants(2) && ctx.hasInput(2)) {
    TensorData dc = sumToShape(g, ctx.input(2).shape());
    if (beta != 1.f) {
      dc = dc.clone();
      for (float& v : dc.mutableSpan<float>()) v *= beta;
    }
    ctx.inputGrads[2] = std::move(dc);
  }
  return Status::ok();
}

// Conv geometry flattened to 2-D (a 1-D conv is a 2-D conv of height 1).
struct Conv2d : Window2d {
  int64_t batch, channels, filters, group;
};

Expected<Conv2d> convGeometry(const GradientContext& ctx) {
  const TensorData &x = ctx.input(0), &w = ctx.input(1);
  const ConvAttrs attrs = ConvAttrs::read(ctx.node);
  ASSIGN_OR_RETURN(Window2d window, resolveWindow2d(ctx, attrs, {w.shape().begin() + 2, w.shape().end()}, "convolutions"));
  return Conv2d{window, x.dim(0), x.dim(1), w.dim(0), attrs.group};
}

// col[(c*kh + i)*kw + j][oy*outW + ox] = x[c][oy*sh - pt + i*dh][ox*sw - pl + j*dw] (0 outside).
void im2col(const Conv2d& c, const float* x, int64_t channels, float* col) {
  const int64_t spatial = c.outH * c.outW;
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t i = 0; i < c.kh; ++i)
      for (int64_t j = 0; j < c.kw; ++j) {
        float* row = col + ((ch * c.kh + i) * c.kw + j) * spatial;
        for (int64_t oy = 0; oy < c.outH; ++oy) {
          const int64_t iy = oy * c.strideH - c.padTop + i * c.dilH;
          for (int64_t ox = 0; ox < c.outW; ++ox) {
            const int64_t ix = ox * c.strideW - c.padLeft + j * c.dilW;
            row[oy * c.outW + ox] =
                iy >= 0 && iy < c.height && ix >= 0 && ix < c.width ? x[(ch * c.height + iy) * c.width + ix] : 0.f;
          }
        }
      }
}

// The adjoint of im2col: dx[...] += dcol[...].
void col2im(const Conv2d& c, const float* col, int64_t channels, float* dx) {
  const int64_t spatial = c.outH * c.outW;
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t i = 0; i < c.kh; ++i)
      for (int64_t j = 0; j < c.kw; ++j) {
        const float* row = col + ((ch * c.kh + i) * c.kw + j) * spatial;
        for (int64_t oy = 0; oy < c.outH; ++oy) {
          const int64_t iy = oy * c.strideH - c.padTop + i * c.dilH;
          if (iy < 0 || iy >= c.height) continue;
          for (int64_t ox = 0; ox < c.outW; ++ox) {
            const int64_t ix = ox * c.strideW - c.padLeft + j * c.dilW;
            if (ix >= 0 && ix < c.width) dx[(ch * c.height + iy) * c.width + ix] += row[oy * c.outW + ox];
          }
        }
      }
}

// Σ over images and positions of g [N, C, ...], per channel (a Conv bias's gradient).
TensorData channelSums(const TensorData& g) {
  const int64_t batch = g.dim(0), channels = g.dim(1), spatial = g.numElements() / std::max<int64_t>(1, batch * channels);
  TensorData sums = floatZeros({channels});
  float* d = sums.data<float>();
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t f = 0; f < channels; ++f) {
      const float* gp = g.data<float>() + (n * channels + f) * spatial;
      float sum = 0;
      for (int64_t s = 0; s < spatial; ++s) sum += gp[s];
      d[f] += sum;
    }
  return sums;
}

Status convGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  ASSIGN_OR_RETURN(Conv2d c, convGeometry(ctx));
  const TensorData g = ctx.outputGrad(0);
  const TensorData &x = ctx.input(0), &w = ctx.input(1);
  const int64_t cg = c.channels / c.group, mg = c.filters / c.group, kk = cg * c.kh * c.kw, spatial = c.outH * c.outW;
  const int64_t inImage = c.channels * c.height * c.width, outImage = c.filters * spatial;
  const bool wantX = ctx.wants(0), wantW = ctx.wants(1);
  TensorData dx = wantX ? floatZeros(x.shape()) : TensorData();
  TensorData dw = wantW ? floatZeros(w.shape()) : TensorData();
  const int threads = ctx.threads;
  // Images are independent: each thread accumulates its own dW.
  std::vector<RowMatrix> dwPartial(static_cast<size_t>(std::max(1, threads)));
  if (wantW)
    for (RowMatrix& partial : dwPartial) partial = RowMatrix::Zero(c.filters, kk);
#pragma omp parallel num_threads(threads) if (c.batch > 1 && threads > 1)
  {
    int thread = 0;
#ifdef _OPENMP
    thread = omp_get_thread_num();
#endif
    RowMatrix col(kk, spatial), dcol(kk, spatial);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < c.batch; ++n)
      for (int64_t grp = 0; grp < c.group; ++grp) {
        const float* xg = x.data<float>() + n * inImage + grp * cg * c.height * c.width;
        ConstMatrixMap gg(g.data<float>() + n * outImage + grp * mg * spatial, mg, spatial);
        ConstMatrixMap wg(w.data<float>() + grp * mg * kk, mg, kk);
        if (wantW) {
          im2col(c, xg, cg, col.data());
          dwPartial[static_cast<size_t>(thread)].middleRows(grp * mg, mg).noalias() += gg * col.transpose();
        }
        if (wantX) {
          dcol.noalias() = wg.transpose() * gg;
          col2im(c, dcol.data(), cg, dx.data<float>() + n * inImage + grp * cg * c.height * c.width);
        }
      }
  }
  if (wantX) ctx.inputGrads[0] = std::move(dx);
  if (wantW) {
    MatrixMap out(dw.data<float>(), c.filters, kk);
    for (const RowMatrix& partial : dwPartial) out += partial;
    ctx.inputGrads[1] = std::move(dw);
  }
  if (ctx.wants(2) && ctx.hasInput(2)) ctx.inputGrads[2] = channelSums(g);
  return Status::ok();
}

// ConvTranspose, per image n and group g, with W_g of shape [C_in/g, C_out/g·kh·kw]:
//   Y_g = col2im(W_gᵀ X_g) over Y's window, so with col = im2col(dY_g) (Y read as a
//   conv input whose outputs are X's positions): dX_g = W_g·col, dW_g = X_g·colᵀ, dB = Σ dY.
Status convTransposeGrad(GradientContext& ctx) {
  RETURN_IF_ERROR(requireFloat(ctx));
  if (ctx.node.stringAttr("auto_pad", "NOTSET") != "NOTSET" || ctx.node.attribute("output_shape"))
    return invalidInput("{}: gradients of ConvTranspose with auto_pad or output_shape are not implemented (pads are)",
                        ctx.where());
  const TensorData &x = ctx.input(0), &w = ctx.input(1);
  const TensorData g = ctx.outputGrad(0);
  if (x.rank() != 3 && x.rank() != 4)
    return invalidInput("{}: gradients of {}-D ConvTranspose are not implemented (1-D and 2-D are)", ctx.where(), x.rank() - 2);
  const size_t spatialRank = static_cast<size_t>(x.rank() - 2);
  const ConvAttrs attrs = ConvAttrs::read(ctx.node);
  const WindowAttrs window = attrs.withDefaults(spatialRank, {w.shape().begin() + 2, w.shape().end()});
  // The window runs over Y, and its outputs are X's positions.
  WindowGeometry geo;
  geo.out.assign(x.shape().begin() + 2, x.shape().end());
  geo.padBegin.assign(window.pads.begin(), window.pads.begin() + static_cast<int64_t>(spatialRank));
  geo.padEnd.assign(window.pads.begin() + static_cast<int64_t>(spatialRank), window.pads.end());
  geo.kernel = window.kernel;
  geo.strides = window.strides;
  geo.dilations = window.dilations;
  Conv2d c{};
  static_cast<Window2d&>(c) = flattenWindow(geo, {g.shape().begin() + 2, g.shape().end()});
  const int64_t group = attrs.group, batch = x.dim(0), cin = x.dim(1), cinG = cin / group, coutG = w.dim(1);
  const int64_t kk = coutG * c.kh * c.kw, xPlane = c.outH * c.outW, yPlane = c.height * c.width;
  const bool wantX = ctx.wants(0), wantW = ctx.wants(1);
  TensorData dx = wantX ? TensorData::allocate(DataType::Float, x.shape()) : TensorData();
  TensorData dw = wantW ? floatZeros(w.shape()) : TensorData();
  RowMatrix col(kk, xPlane);
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t grp = 0; grp < group; ++grp) {
      im2col(c, g.data<float>() + (n * group + grp) * coutG * yPlane, coutG, col.data());
      ConstMatrixMap wg(w.data<float>() + grp * cinG * kk, cinG, kk);
      const int64_t xOffset = (n * cin + grp * cinG) * xPlane;
      if (wantX) MatrixMap(dx.data<float>() + xOffset, cinG, xPlane).noalias() = wg * col;
      if (wantW)
        MatrixMap(dw.data<float>() + grp * cinG * kk, cinG, kk).noalias() +=
            ConstMatrixMap(x.data<float>() + xOffset, cinG, xPlane) * col.transpose();
    }
  if (wantX) ctx.inputGrads[0] = std::move(dx);
  if (wantW) ctx.inputGrads[1] = std::move(dw);
  if (ctx.wants(2) && ctx.hasInput(2)) ctx.inputGrads[2] = channelSums(g);
  return Status::ok();
}

}  // namespace

std::vector<GradientEntry> linearGradients() {
  return {
      {"MatMul", matMulGrad, {0, 1}},
      {"Gemm", gemmGrad, {0, 1, 2}},
      {"Conv", convGrad, {0, 1, 2}},
      {"ConvTranspose", convTransposeGrad, {0, 1, 2}},
  };
}

}  // namespace onnxpress::train::gradients
