// MatMul (numpy semantics: 1-D promotion, batch broadcasting), Gemm (transA,
// transB, alpha, beta, broadcast C) and Einsum (any equation of explicit or
// implicit form, with "..." broadcasting; contractions that are batched matrix
// products run through MatMul's GEMM path, others through a generic loop).
#include <Eigen/Core>
#include <algorithm>
#include <map>
#include <string_view>

#include "Families.h"
#include "KernelUtil.h"

namespace onnxpress::runtime {
namespace {


// Y (m x n, row-major) = A * B where A(i, l) = a[i * a0 + l * a1] and B(l, j) = b[l * b0 + j * b1].
// Eigen's GEMM is instantiated for float and double only (each instantiation costs
// seconds of compile time); integer products (index arithmetic, small) use this loop.
template <typename T>
void stridedProduct(const T* a, int64_t a0, int64_t a1, const T* b, int64_t b0, int64_t b1, T* y, int64_t m,
                    int64_t k, int64_t n) {
  std::fill(y, y + m * n, T(0));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t l = 0; l < k; ++l) {
      const T ail = a[i * a0 + l * a1];
      for (int64_t j = 0; j < n; ++j) y[i * n + j] += ail * b[l * b0 + j * b1];
    }
}

template <typename T>
constexpr bool kEigenProduct = std::is_same_v<T, float> || std::is_same_v<T, double>;

// C[b] = A[b] (m x k) * B[b] (k x n) over broadcast batch dims.
template <typename T>
Status batchedMatMul(const TensorData& A, const TensorData& B, TensorData& Y, const KernelContext& ctx) {
  Shape sa = A.shape(), sb = B.shape();
  const bool promoteA = sa.size() == 1, promoteB = sb.size() == 1;
  if (promoteA) sa.insert(sa.begin(), 1);
  if (promoteB) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  if (sb[sb.size() - 2] != k)
    return kernelError(ctx, "shapes {} and {} are not aligned for MatMul", shapeToString(A.shape()), shapeToString(B.shape()));
  Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  ASSIGN_OR_RETURN(Shape batch, broadcastShapes(ba, bb, ctx.where()));
  Shape out = batch;
  if (!promoteA) out.push_back(m);
  if (!promoteB) out.push_back(n);
  Y = TensorData::allocate(A.dtype(), out);
  const int64_t batches = elementCount(batch);
  const auto stA = broadcastStrides(ba, batch), stB = broadcastStrides(bb, batch);
  const T* pa = A.data<T>();
  const T* pb = B.data<T>();
  T* py = Y.data<T>();
  auto one = [&](int64_t bi) {
    int64_t rem = bi, offA = 0, offB = 0;
    for (size_t d = batch.size(); d-- > 0;) {
      const int64_t c = rem % batch[d];
      rem /= batch[d];
      offA += c * stA[d];
      offB += c * stB[d];
    }
    if constexpr (kEigenProduct<T>) {
      Eigen::Map<const RowMatrix<T>> Am(pa + offA * m * k, m, k);
      Eigen::Map<const RowMatrix<T>> Bm(pb + offB * k * n, k, n);
      Eigen::Map<RowMatrix<T>> Ym(py + bi * m * n, m, n);
      Ym.noalias() = Am * Bm;
    } else {
      stridedProduct(pa + offA * m * k, k, 1, pb + offB * k * n, n, 1, py + bi * m * n, m, k, n);
    }
  };
  if (batches >= ctx.threads && batches > 1 && m * n * k < (1 << 22)) {
    Eigen::setNbThreads(1);
    parallelFor(batches, ctx.threads, [&](int64_t s, int64_t e) { for (int64_t i = s; i < e; ++i) one(i); }, 1);
    Eigen::setNbThreads(ctx.threads);
  } else {
    for (int64_t i = 0; i < batches; ++i) one(i);
  }
  return Status::ok();
}

Expected<KernelFn> makeMatMul(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& A = ctx.input(0);
    const TensorData& B = ctx.input(1);
    if (A.dtype() != B.dtype()) return kernelError(ctx, "input types differ");
    if (A.rank() == 0 || B.rank() == 0) return kernelError(ctx, "MatMul inputs must have rank >= 1");
    Status status = Status::ok();
    TensorData Y;
    const bool ok = dispatch<TypeList<float, double, int32_t, int64_t, uint32_t, uint64_t>>(A.dtype(), [&](auto tag) {
      status = batchedMatMul<decltype(tag)>(A, B, Y, ctx);
    });
    if (!ok && A.dtype() == DataType::Float16) {  // half: compute in float
      return kernelError(ctx, "float16 MatMul is not supported yet");
    }
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(A.dtype()));
    RETURN_IF_ERROR(status);
    ctx.outputs[0] = std::move(Y);
    return Status::ok();
  });
}

Expected<KernelFn> makeGemm(const KernelBuildContext& b) {
  const bool transA = b.node.intAttr("transA", 0) != 0, transB = b.node.intAttr("transB", 0) != 0;
  const double alpha = b.node.floatAttr("alpha", 1.0f), beta = b.node.floatAttr("beta", 1.0f);
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& A = ctx.input(0);
    const TensorData& B = ctx.input(1);
    if (A.rank() != 2 || B.rank() != 2) return kernelError(ctx, "Gemm inputs must be 2-D");
    const int64_t m = transA ? A.dim(1) : A.dim(0), k = transA ? A.dim(0) : A.dim(1);
    const int64_t kb = transB ? B.dim(1) : B.dim(0), n = transB ? B.dim(0) : B.dim(1);
    if (k != kb) return kernelError(ctx, "A {} and B {} do not align", shapeToString(A.shape()), shapeToString(B.shape()));
    TensorData Y = TensorData::allocate(A.dtype(), {m, n});
    const bool hasC = ctx.hasInput(2);
    if (hasC) {
      ASSIGN_OR_RETURN(Shape cs, broadcastShapes(ctx.input(2).shape(), {m, n}, ctx.where()));
      if (cs != Shape{m, n}) return kernelError(ctx, "C {} does not broadcast to [{},{}]", shapeToString(ctx.input(2).shape()), m, n);
    }
    const bool ok = dispatch<TypeList<float, double, int32_t, int64_t, uint32_t, uint64_t>>(A.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Eigen::Map<RowMatrix<T>> Ym(Y.data<T>(), m, n);
      if constexpr (std::is_same_v<T, float>) {
        Eigen::Map<const RowMatrix<T>> Am(A.data<T>(), A.dim(0), A.dim(1));
        Eigen::Map<const RowMatrix<T>> Bm(B.data<T>(), B.dim(0), B.dim(1));
        if (transA && transB) Ym.noalias() = Am.transpose() * Bm.transpose();
        else if (transA) Ym.noalias() = Am.transpose() * Bm;
        else if (transB) Ym.noalias() = Am * Bm.transpose();
        else Ym.noalias() = Am * Bm;
      } else {
        const int64_t a0 = transA ? 1 : A.dim(1), a1 = transA ? A.dim(1) : 1;
        const int64_t b0 = transB ? 1 : B.dim(1), b1 = transB ? B.dim(1) : 1;
        stridedProduct(A.data<T>(), a0, a1, B.data<T>(), b0, b1, Y.data<T>(), m, k, n);
      }
      if (alpha != 1.0) Ym *= static_cast<T>(alpha);
      if (hasC && beta != 0.0) {
        const TensorData& C = ctx.input(2);
        const T* pc = C.data<T>();
        const auto st = broadcastStrides(C.shape(), {m, n});
        const T scale = static_cast<T>(beta);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) Ym(i, j) += scale * pc[i * st[0] + j * st[1]];
      }
    });
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(A.dtype()));
    ctx.outputs[0] = std::move(Y);
    return Status::ok();
  });
}

// ---- Einsum -------------------------------------------------------------------------------

struct EinsumSpec {
  std::vector<std::string> inputs;  // one letter per dim; '.' stands for the broadcast dims
  std::string output;
};

// "..." becomes "." (one symbol for the broadcast dims).
std::string collapseEllipsis(std::string_view term) {
  std::string out;
  for (size_t i = 0; i < term.size(); ++i) {
    out.push_back(term[i]);
    if (term.substr(i, 3) == "...") i += 2;
  }
  return out;
}

Expected<EinsumSpec> parseEinsum(std::string eq, const std::string& where) {
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  EinsumSpec spec;
  const size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  size_t start = 0;
  for (;;) {
    size_t comma = lhs.find(',', start);
    spec.inputs.push_back(collapseEllipsis(std::string_view(lhs).substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (arrow != std::string::npos) {
    spec.output = collapseEllipsis(std::string_view(eq).substr(arrow + 2));
  } else {  // implicit: broadcast dims, then letters appearing once, alphabetically
    std::map<char, int> count;
    bool ellipsis = false;
    for (const auto& t : spec.inputs)
      for (char c : t) {
        if (c == '.') ellipsis = true;
        else ++count[c];
      }
    if (ellipsis) spec.output.push_back('.');
    for (auto [c, n] : count)
      if (n == 1) spec.output += c;
  }
  for (const auto& t : spec.inputs)
    for (char c : t)
      if (c != '.' && !std::isalpha(static_cast<unsigned char>(c)))
        return invalidInput("node {}: bad Einsum equation '{}'", where, eq);
  return spec;
}

Expected<KernelFn> makeEinsum(const KernelBuildContext& b) {
  ASSIGN_OR_RETURN(EinsumSpec spec, parseEinsum(b.node.stringAttr("equation", ""), b.node.describe()));
  return KernelFn([spec](KernelContext& ctx) -> Status {
    if (ctx.numInputs() != spec.inputs.size())
      return kernelError(ctx, "equation has {} operands but the node has {} inputs", spec.inputs.size(), ctx.numInputs());
    // Assign each letter a size; "..." dims become synthetic labels '0', '1', ... (right-aligned).
    size_t ellipsisRank = 0;
    for (size_t i = 0; i < spec.inputs.size(); ++i)
      if (spec.inputs[i].find('.') != std::string::npos)
        ellipsisRank = std::max(ellipsisRank, static_cast<size_t>(ctx.input(i).rank()) - (spec.inputs[i].size() - 1));
    auto expand = [&](const std::string& term, size_t rank) {
      std::string out;
      for (char c : term) {
        if (c != '.') {
          out += c;
          continue;
        }
        const size_t own = rank - (term.size() - 1);
        for (size_t d = ellipsisRank - own; d < ellipsisRank; ++d) out += static_cast<char>('0' + d);
      }
      return out;
    };
    std::vector<std::string> terms;
    std::map<char, int64_t> size;
    for (size_t i = 0; i < spec.inputs.size(); ++i) {
      const TensorData& t = ctx.input(i);
      terms.push_back(expand(spec.inputs[i], static_cast<size_t>(t.rank())));
      if (terms.back().size() != static_cast<size_t>(t.rank()))
        return kernelError(ctx, "operand {} has rank {} but the equation gives '{}'", i, t.rank(), spec.inputs[i]);
      for (size_t d = 0; d < terms.back().size(); ++d) {
        const char c = terms.back()[d];
        auto it = size.find(c);
        if (it == size.end() || it->second == 1) size[c] = t.dim(static_cast<int64_t>(d));
        else if (t.dim(static_cast<int64_t>(d)) != 1 && t.dim(static_cast<int64_t>(d)) != it->second)
          return kernelError(ctx, "dimension '{}' has conflicting sizes", c);
      }
    }
    std::string outTerm;
    for (char c : spec.output) {
      if (c != '.') outTerm += c;
      else
        for (size_t d = 0; d < ellipsisRank; ++d) outTerm += static_cast<char>('0' + d);
    }
    std::string all = outTerm;
    for (const auto& [c, n] : size)
      if (all.find(c) == std::string::npos) all += c;  // summed labels after the output ones
    Shape outShape;
    for (char c : outTerm) outShape.push_back(size.at(c));
    const DataType dtype = ctx.input(0).dtype();
    TensorData Y = TensorData::zeros(dtype, outShape);
    const bool ok = dispatch<TypeList<float, double, int32_t, int64_t>>(dtype, [&](auto tag) {
      using T = decltype(tag);
      // Per operand: stride of each label in `all` (0 if absent or broadcast).
      std::vector<std::vector<int64_t>> strides(terms.size(), std::vector<int64_t>(all.size(), 0));
      for (size_t i = 0; i < terms.size(); ++i) {
        const auto st = contiguousStrides(ctx.input(i).shape());
        for (size_t d = 0; d < terms[i].size(); ++d) {
          const size_t pos = all.find(terms[i][d]);
          if (ctx.input(i).dim(static_cast<int64_t>(d)) != 1) strides[i][pos] += st[d];
        }
      }
      std::vector<int64_t> extent(all.size());
      for (size_t l = 0; l < all.size(); ++l) extent[l] = size.at(all[l]);
      const int64_t outCount = elementCount(outShape);
      int64_t sumCount = 1;
      for (size_t l = outTerm.size(); l < all.size(); ++l) sumCount *= extent[l];
      std::vector<int64_t> idx(all.size());
      for (int64_t o = 0; o < outCount; ++o) {
        int64_t rem = o;
        for (size_t l = outTerm.size(); l-- > 0;) {
          idx[l] = rem % extent[l];
          rem /= extent[l];
        }
        T acc = T(0);
        for (int64_t s = 0; s < sumCount; ++s) {
          int64_t r = s;
          for (size_t l = all.size(); l-- > outTerm.size();) {
            idx[l] = r % extent[l];
            r /= extent[l];
          }
          T prod = T(1);
          for (size_t i = 0; i < terms.size(); ++i) {
            int64_t off = 0;
            for (size_t l = 0; l < all.size(); ++l) off += idx[l] * strides[i][l];
            prod *= ctx.input(i).data<T>()[off];
          }
          acc += prod;
        }
        Y.data<T>()[o] = acc;
      }
    });
    if (!ok) return kernelError(ctx, "unsupported dtype {}", dataTypeName(dtype));
    ctx.outputs[0] = std::move(Y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> matmulKernels() {
  return {
      {"", "MatMul", makeMatMul},
      {"", "Gemm", makeGemm},
      {"", "Einsum", makeEinsum},
  };
}

}  // namespace onnxpress::runtime
