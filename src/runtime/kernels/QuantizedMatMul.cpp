// Quantized matrix products: MatMulInteger (10), QLinearMatMul (10, 21) and
// com.microsoft MatMulNBits. Integer products accumulate in int32 through Eigen
// GEMMs; QLinearMatMul requantizes the int32 accumulator by multiplying it with the
// float scale ratio, as ONNX Runtime does. MatMulNBits dequantizes its 2..8-bit
// weights to float and runs a float GEMM.
#include <Eigen/Core>

#include "Families.h"
#include "QuantUtil.h"

namespace onnxpress::runtime {
namespace {

using namespace quant;

// ---- integer matmul ----------------------------------------------------------------------

/// numpy.matmul shapes: batch broadcasting, 1-D operands promoted and their axis dropped.
struct MatMulPlan {
  Shape outShape, aShape, bShape;  // a/b promoted to rank >= 2
  int64_t M = 0, K = 0, N = 0, batch = 1, aBatches = 1, bBatches = 1;
  std::vector<int64_t> aIdx, bIdx;  // per output batch: matrix index in a / b
};

Expected<MatMulPlan> planMatMul(const Shape& a, const Shape& b, const std::string& where) {
  if (a.empty() || b.empty()) return invalidInput("node {}: matmul operands must not be scalars", where);
  MatMulPlan p;
  p.aShape = a.size() == 1 ? Shape{1, a[0]} : a;
  p.bShape = b.size() == 1 ? Shape{b[0], 1} : b;
  p.M = p.aShape[p.aShape.size() - 2];
  p.K = p.aShape.back();
  p.N = p.bShape.back();
  if (p.bShape[p.bShape.size() - 2] != p.K)
    return invalidInput("node {}: matmul shapes {} and {} do not match", where, shapeToString(a), shapeToString(b));
  const Shape ab(p.aShape.begin(), p.aShape.end() - 2), bb(p.bShape.begin(), p.bShape.end() - 2);
  ASSIGN_OR_RETURN(Shape ob, broadcastShapes(ab, bb, where));
  p.batch = elementCount(ob);
  p.aBatches = elementCount(ab);
  p.bBatches = elementCount(bb);
  const auto sa = broadcastStrides(ab, ob), sb = broadcastStrides(bb, ob);
  p.aIdx.resize(static_cast<size_t>(p.batch));
  p.bIdx.resize(static_cast<size_t>(p.batch));
  for (int64_t i = 0; i < p.batch; ++i) {
    int64_t rem = i, ia = 0, ib = 0;
    for (size_t d = ob.size(); d-- > 0;) {
      const int64_t c = rem % ob[d];
      rem /= ob[d];
      ia += c * sa[d];
      ib += c * sb[d];
    }
    p.aIdx[i] = ia;
    p.bIdx[i] = ib;
  }
  p.outShape = ob;
  if (a.size() > 1) p.outShape.push_back(p.M);
  if (b.size() > 1) p.outShape.push_back(p.N);
  return p;
}

/// Broadcasts a per-row (a) or per-column (b) parameter (zero point or scale) to one value
/// per row/column of every matrix: `target` is the operand's shape with the reduced axis set to 1.
/// An empty result means "absent"; one element means per-tensor.
Expected<std::vector<double>> expandParam(const TensorData* t, Shape target, bool perRow, const std::string& where,
                                          const char* what) {
  if (!t) return std::vector<double>{};
  if (t->numElements() == 1) return std::vector<double>{t->doubleAt(0)};
  Shape ts = t->shape();
  if (ts.size() == 1 && perRow) ts = {ts[0], 1};
  auto bs = broadcastShapes(ts, target, where);
  if (!bs || *bs != target || ts.size() > target.size())
    return invalidInput("node {}: {} of shape {} does not fit operand shape {}", where, what, shapeToString(t->shape()),
                        shapeToString(target));
  const auto strides = broadcastStrides(ts, target);
  const int64_t n = elementCount(target);
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, off = 0;
    for (size_t d = target.size(); d-- > 0;) {
      off += (rem % target[d]) * strides[d];
      rem /= target[d];
    }
    out[i] = t->doubleAt(off);
  }
  return out;
}

double paramAt(const std::vector<double>& v, int64_t i, double fallback) {
  return v.empty() ? fallback : v.size() == 1 ? v[0] : v[static_cast<size_t>(i)];
}

/// Integer matrix product of (a - azp) and (b - bzp), int32 accumulation: [batch, M, N].
Expected<std::vector<int32_t>> intMatMul(const MatMulPlan& p, const TensorData& a, const TensorData& b,
                                         const std::vector<double>& azp, const std::vector<double>& bzp,
                                         const std::string& where) {
  std::vector<int32_t> ai(static_cast<size_t>(p.aBatches * p.M * p.K)), bi(static_cast<size_t>(p.bBatches * p.K * p.N));
  bool ok = dispatch<TypeList<uint8_t, int8_t, uint16_t, int16_t>>(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    for (int64_t r = 0; r < p.aBatches * p.M; ++r) {
      const int32_t z = static_cast<int32_t>(paramAt(azp, r, 0));
      for (int64_t k = 0; k < p.K; ++k) ai[r * p.K + k] = static_cast<int32_t>(pa[r * p.K + k]) - z;
    }
  });
  ok = ok && dispatch<TypeList<uint8_t, int8_t, uint16_t, int16_t>>(b.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pb = b.data<T>();
    for (int64_t m = 0; m < p.bBatches; ++m)
      for (int64_t k = 0; k < p.K; ++k) {
        const int64_t row = (m * p.K + k) * p.N;
        for (int64_t n = 0; n < p.N; ++n)
          bi[row + n] = static_cast<int32_t>(pb[row + n]) - static_cast<int32_t>(paramAt(bzp, m * p.N + n, 0));
      }
  });
  if (!ok)
    return invalidInput("node {}: unsupported operand types {} and {}", where, dataTypeName(a.dtype()),
                        dataTypeName(b.dtype()));
  std::vector<int32_t> acc(static_cast<size_t>(p.batch * p.M * p.N));
  for (int64_t i = 0; i < p.batch; ++i) {
    MatrixMap<int32_t> C(acc.data() + i * p.M * p.N, p.M, p.N);
    if (p.K == 0) {
      C.setZero();
      continue;
    }
    C.noalias() = ConstMatrixMap<int32_t>(ai.data() + p.aIdx[i] * p.M * p.K, p.M, p.K) *
                  ConstMatrixMap<int32_t>(bi.data() + p.bIdx[i] * p.K * p.N, p.K, p.N);
  }
  return acc;
}

Shape withDim(Shape s, size_t fromEnd, int64_t v) {
  s[s.size() - fromEnd] = v;
  return s;
}

Expected<KernelFn> makeMatMulInteger(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& a = ctx.input(0);
    const TensorData& b = ctx.input(1);
    ASSIGN_OR_RETURN(MatMulPlan p, planMatMul(a.shape(), b.shape(), ctx.where()));
    ASSIGN_OR_RETURN(std::vector<double> azp, expandParam(ctx.hasInput(2) ? &ctx.input(2) : nullptr,
                                                          withDim(p.aShape, 1, 1), true, ctx.where(), "a_zero_point"));
    ASSIGN_OR_RETURN(std::vector<double> bzp, expandParam(ctx.hasInput(3) ? &ctx.input(3) : nullptr,
                                                          withDim(p.bShape, 2, 1), false, ctx.where(), "b_zero_point"));
    ASSIGN_OR_RETURN(std::vector<int32_t> acc, intMatMul(p, a, b, azp, bzp, ctx.where()));
    ctx.outputs[0] = TensorData::fromVector(DataType::Int32, p.outShape, acc);
    return Status::ok();
  });
}

Expected<KernelFn> makeQLinearMatMul(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    for (size_t i = 0; i < 8; ++i)
      if (!ctx.hasInput(i)) return kernelError(ctx, "input {} is required", i);
    const TensorData& a = ctx.input(0);
    const TensorData& b = ctx.input(3);
    ASSIGN_OR_RETURN(MatMulPlan p, planMatMul(a.shape(), b.shape(), ctx.where()));
    const Shape aRows = withDim(p.aShape, 1, 1), bCols = withDim(p.bShape, 2, 1);
    ASSIGN_OR_RETURN(std::vector<double> as, expandParam(&ctx.input(1), aRows, true, ctx.where(), "a_scale"));
    ASSIGN_OR_RETURN(std::vector<double> azp, expandParam(&ctx.input(2), aRows, true, ctx.where(), "a_zero_point"));
    ASSIGN_OR_RETURN(std::vector<double> bs, expandParam(&ctx.input(4), bCols, false, ctx.where(), "b_scale"));
    ASSIGN_OR_RETURN(std::vector<double> bzp, expandParam(&ctx.input(5), bCols, false, ctx.where(), "b_zero_point"));
    if (ctx.input(6).numElements() != 1 || ctx.input(7).numElements() != 1)
      return kernelError(ctx, "y_scale and y_zero_point must be scalars");
    const float ys = static_cast<float>(ctx.input(6).doubleAt(0));
    ASSIGN_OR_RETURN(std::vector<int32_t> acc, intMatMul(p, a, ctx.input(3), azp, bzp, ctx.where()));
    // Multiplier per element: a_scale[row] * b_scale[col] / y_scale, in float.
    const int64_t M = p.M, N = p.N;
    return requantize(ctx, acc, ctx.input(7), p.outShape, [&](int64_t i) {
      const int64_t n = i % N, m = (i / N) % M, bt = i / (M * N);
      const float sa = static_cast<float>(paramAt(as, p.aIdx[bt] * M + m, 1));
      const float sb = static_cast<float>(paramAt(bs, p.bIdx[bt] * N + n, 1));
      return sa * sb / ys;
    });
  });
}

// ---- com.microsoft MatMulNBits -----------------------------------------------------------

struct NBitsAttrs {
  int64_t K = 0, N = 0, bits = 4, blockSize = 0;
};

Expected<KernelFn> makeMatMulNBits(const KernelBuildContext& b) {
  NBitsAttrs a;
  a.K = b.node.intAttr("K", 0);
  a.N = b.node.intAttr("N", 0);
  a.bits = b.node.intAttr("bits", 4);
  a.blockSize = b.node.intAttr("block_size", 0);
  if (a.K <= 0 || a.N <= 0) return buildError(b, "attributes K and N are required and must be positive");
  if (a.bits < 2 || a.bits > 8) return buildError(b, "bits {} is not in [2, 8]", a.bits);
  if (a.blockSize < 1 || (a.blockSize * a.bits) % 8) return buildError(b, "block_size {} is invalid", a.blockSize);
  if (b.node.intAttr("weight_prepacked", 0) != 0) return buildError(b, "prepacked weights are not supported");
  return KernelFn([a](KernelContext& ctx) -> Status {
    const TensorData& A = ctx.input(0);
    const TensorData& B = ctx.input(1);
    const TensorData& S = ctx.input(2);
    const int64_t K = a.K, N = a.N, bits = a.bits, bs = a.blockSize;
    const int64_t nb = (K + bs - 1) / bs, blob = bs * bits / 8;
    if (A.rank() < 1 || A.dim(-1) != K) return kernelError(ctx, "A has shape {}, last axis must be K={}", shapeToString(A.shape()), K);
    if (B.dtype() != DataType::UInt8 || B.numElements() != N * nb * blob)
      return kernelError(ctx, "B has shape {}, expected uint8 [{},{},{}]", shapeToString(B.shape()), N, nb, blob);
    if (S.numElements() != N * nb) return kernelError(ctx, "scales has {} elements, expected {}", S.numElements(), N * nb);
    const std::vector<float> scales = readFloats(S);
    // Zero points, one float per (n, block).
    std::vector<float> zp(static_cast<size_t>(N * nb), static_cast<float>(1 << (bits - 1)));
    if (ctx.hasInput(3)) {
      const TensorData& Z = ctx.input(3);
      if (Z.dtype() == DataType::UInt8) {
        const int64_t rowBytes = (nb * bits + 7) / 8;
        if (Z.numElements() != N * rowBytes)
          return kernelError(ctx, "packed zero_points has {} elements, expected {}", Z.numElements(), N * rowBytes);
        const uint8_t* pz = Z.data<uint8_t>();
        for (int64_t n = 0; n < N; ++n)
          for (int64_t j = 0; j < nb; ++j) {
            const int64_t bit = j * bits;
            const uint8_t* p = pz + n * rowBytes + bit / 8;
            uint32_t v = p[0];
            if (bit % 8 + bits > 8) v |= static_cast<uint32_t>(p[1]) << 8;
            zp[n * nb + j] = static_cast<float>((v >> (bit % 8)) & ((1u << bits) - 1));
          }
      } else {
        if (Z.numElements() != N * nb)
          return kernelError(ctx, "zero_points has {} elements, expected {}", Z.numElements(), N * nb);
        zp = readFloats(Z);
      }
    }
    std::vector<int32_t> gidx;
    if (ctx.hasInput(4)) {
      const TensorData& gi = ctx.input(4);
      if (gi.numElements() != K) return kernelError(ctx, "g_idx has {} elements, expected {}", gi.numElements(), K);
      gidx.resize(static_cast<size_t>(K));
      for (int64_t k = 0; k < K; ++k) {
        gidx[k] = static_cast<int32_t>(gi.intAt(k));
        if (gidx[k] < 0 || gidx[k] >= nb) return kernelError(ctx, "g_idx[{}] = {} out of range", k, gidx[k]);
      }
    }
    std::vector<float> bias;
    if (ctx.hasInput(5)) {
      if (ctx.input(5).numElements() != N) return kernelError(ctx, "bias has {} elements, expected {}", ctx.input(5).numElements(), N);
      bias = readFloats(ctx.input(5));
    }

    const int64_t rows = A.numElements() / K;
    std::vector<float> aConv;
    const float* af = nullptr;
    if (A.dtype() == DataType::Float) {
      af = A.data<float>();
    } else if (dispatch<FloatTypes>(A.dtype(), [](auto) {})) {
      aConv = readFloats(A);
      af = aConv.data();
    } else {
      return kernelError(ctx, "unsupported A type {}", dataTypeName(A.dtype()));
    }
    std::vector<float> yf(static_cast<size_t>(rows * N));
    const uint8_t* pb = B.data<uint8_t>();
    const uint32_t mask = (1u << bits) - 1;
    // Output columns in chunks: dequantize the chunk's weight rows, then one GEMM.
    constexpr int64_t kChunk = 64;
    const int64_t chunks = (N + kChunk - 1) / kChunk;
    parallelFor(chunks, ctx.threads, [&](int64_t cs, int64_t ce) {
      std::vector<float> wbuf(static_cast<size_t>(kChunk * K));
      for (int64_t c = cs; c < ce; ++c) {
        const int64_t n0 = c * kChunk, nc = std::min(kChunk, N - n0);
        for (int64_t r = 0; r < nc; ++r) {
          const int64_t n = n0 + r;
          float* wr = wbuf.data() + r * K;
          const uint8_t* brow = pb + n * nb * blob;
          for (int64_t k = 0; k < K; ++k) {
            const int64_t blk = k / bs, j = k % bs, bit = j * bits;
            const uint8_t* p = brow + blk * blob + bit / 8;
            uint32_t v = p[0];
            if (bit % 8 + bits > 8) v |= static_cast<uint32_t>(p[1]) << 8;
            const float q = static_cast<float>((v >> (bit % 8)) & mask);
            const int64_t si = n * nb + (gidx.empty() ? blk : gidx[k]);
            wr[k] = (q - zp[si]) * scales[si];
          }
        }
        Eigen::Map<RowMatrix<float>, 0, Eigen::OuterStride<>> Y(yf.data() + n0, rows, nc, Eigen::OuterStride<>(N));
        Y.noalias() = ConstMatrixMap<float>(af, rows, K) * ConstMatrixMap<float>(wbuf.data(), nc, K).transpose();
      }
    }, 1);
    if (!bias.empty())
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t n = 0; n < N; ++n) yf[r * N + n] += bias[n];
    Shape outShape = A.shape();
    outShape.back() = N;
    TensorData y = TensorData::allocate(A.dtype(), outShape);
    dispatch<FloatTypes>(A.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* py = y.data<T>();
      for (size_t i = 0; i < yf.size(); ++i) py[i] = static_cast<T>(yf[i]);
    });
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> quantizedMatMulKernels() {
  return {
      {"", "QLinearMatMul", makeQLinearMatMul},
      {"", "MatMulInteger", makeMatMulInteger},
      {"com.microsoft", "MatMulNBits", makeMatMulNBits},
  };
}

}  // namespace onnxpress::runtime
