// Kernels that grow a tensor: Pad (constant, reflect, edge, wrap; axes input from
// opset 18), Expand (numpy broadcast) and Tile. Expand and Tile are broadcast views
// (zero strides) copied by the strided-copy engine.
#include <array>
#include <cstring>

#include "Families.h"
#include "ShapeCommon.h"

namespace onnxpress::runtime {
namespace {

using namespace shapeops;

// ---- Pad -----------------------------------------------------------------------------------

enum class PadMode { Constant, Reflect, Edge, Wrap };

Expected<KernelFn> makePad(const KernelBuildContext& b) {
  const int64_t opset = b.opset;
  const std::string m = b.node.stringAttr("mode", "constant");
  PadMode mode;
  if (m == "constant") mode = PadMode::Constant;
  else if (m == "reflect") mode = PadMode::Reflect;
  else if (m == "edge") mode = PadMode::Edge;
  else if (m == "wrap") mode = PadMode::Wrap;
  else return buildError(b, "unknown pad mode '{}'", m);
  const std::vector<int64_t> padsAttr = b.node.attribute("pads") ? b.node.intsAttr("pads") : b.node.intsAttr("paddings");
  const double valueAttr = b.node.floatAttr("value", 0.f);
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const int64_t r = x.rank();
    const size_t ru = static_cast<size_t>(r);
    std::vector<int64_t> pads = padsAttr;
    if (opset >= 11) {
      ASSIGN_OR_RETURN(pads, readInts(ctx, 1, "pads"));
    }
    std::vector<int64_t> axes;
    if (opset >= 18 && ctx.hasInput(3)) {
      ASSIGN_OR_RETURN(axes, readInts(ctx, 3, "axes"));
      RETURN_IF_ERROR(normalizeAxes(ctx, axes, r));
    } else {
      for (int64_t d = 0; d < r; ++d) axes.push_back(d);
    }
    if (pads.size() != 2 * axes.size())
      return kernelError(ctx, "pads has {} values for {} axes", pads.size(), axes.size());
    std::vector<int64_t> begin(ru, 0), end(ru, 0);
    for (size_t i = 0; i < axes.size(); ++i) {
      begin[static_cast<size_t>(axes[i])] = pads[i];
      end[static_cast<size_t>(axes[i])] = pads[i + axes.size()];
    }
    Shape out(ru);
    for (size_t d = 0; d < ru; ++d) {
      out[d] = x.shape()[d] + begin[d] + end[d];
      if (out[d] < 0) return kernelError(ctx, "pads make dim {} negative", d);
      if (mode != PadMode::Constant && x.shape()[d] == 0 && out[d] > 0)
        return kernelError(ctx, "cannot {} pad an empty dim", m);
    }
    // The constant, as raw bytes of x's dtype.
    std::array<uint8_t, 16> cval{};
    if (opset < 11) {
      dispatch<AllTypes>(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T v = fromDouble<T>(valueAttr);
        std::memcpy(cval.data(), &v, sizeof(T));
      });
    } else if (ctx.hasInput(2) && ctx.input(2).numElements() > 0) {
      const TensorData& c = ctx.input(2);
      if (c.dtype() != x.dtype()) return kernelError(ctx, "constant_value type differs from data");
      if (c.dtype() != DataType::String)
        std::memcpy(cval.data(), c.raw(), std::min<size_t>(cval.size(), dataTypeStorageBytes(c.dtype(), 1)));
    }
    // Per dim: output coordinate -> input coordinate, or -1 for the constant.
    std::vector<std::vector<int64_t>> maps(ru);
    for (size_t d = 0; d < ru; ++d) {
      const int64_t n = x.shape()[d];
      maps[d].resize(static_cast<size_t>(out[d]));
      for (int64_t o = 0; o < out[d]; ++o) {
        int64_t i = o - begin[d];
        switch (mode) {
          case PadMode::Constant: if (i < 0 || i >= n) i = -1; break;
          case PadMode::Edge: i = std::clamp<int64_t>(i, 0, n - 1); break;
          case PadMode::Wrap: i = ((i % n) + n) % n; break;
          case PadMode::Reflect:
            if (n == 1) {
              i = 0;
            } else {
              const int64_t p = 2 * (n - 1);
              i = ((i % p) + p) % p;
              if (i >= n) i = p - i;
            }
            break;
        }
        maps[d][static_cast<size_t>(o)] = i;
      }
    }
    TensorData y = TensorData::allocate(x.dtype(), out);
    if (y.numElements() == 0) {
      ctx.outputs[0] = std::move(y);
      return Status::ok();
    }
    const auto xs = contiguousStrides(x.shape());
    const bool ok = dispatchElem(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T c;
      std::memcpy(&c, cval.data(), sizeof(T));
      const T* px = x.data<T>();
      T* py = y.data<T>();
      if (r == 0) {
        py[0] = px[0];
        return;
      }
      const int64_t inner = out[ru - 1], bl = begin[ru - 1];
      const std::vector<int64_t>& mapL = maps[ru - 1];
      // Output columns [mid0, mid1) copy a contiguous run of the input row.
      const int64_t mid0 = std::clamp<int64_t>(bl, 0, inner);
      const int64_t mid1 = std::clamp<int64_t>(bl + x.shape()[ru - 1], mid0, inner);
      parallelFor(y.numElements() / inner, ctx.threads, [&](int64_t s, int64_t e) {
        for (int64_t row = s; row < e; ++row) {
          T* o = py + row * inner;
          int64_t rem = row, off = 0;
          bool constant = false;
          for (size_t d = ru - 1; d-- > 0;) {
            const int64_t i = maps[d][static_cast<size_t>(rem % out[d])];
            rem /= out[d];
            if (i < 0) constant = true;
            off += i * xs[d];
          }
          if (constant) {
            std::fill_n(o, inner, c);
            continue;
          }
          const T* src = px + off;
          for (int64_t j = 0; j < mid0; ++j) o[j] = mapL[static_cast<size_t>(j)] < 0 ? c : src[mapL[static_cast<size_t>(j)]];
          copyRun(o + mid0, src + (mid0 - bl), mid1 - mid0);
          for (int64_t j = mid1; j < inner; ++j) o[j] = mapL[static_cast<size_t>(j)] < 0 ? c : src[mapL[static_cast<size_t>(j)]];
        }
      }, std::max<int64_t>(1, 16384 / inner));
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- Expand, Tile --------------------------------------------------------------------------

Expected<KernelFn> makeExpand(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    ASSIGN_OR_RETURN(auto shape, readInts(ctx, 1, "shape"));
    ASSIGN_OR_RETURN(Shape out, broadcastShapes(x.shape(), shape, ctx.where()));
    if (out == x.shape()) {
      ctx.outputs[0] = x;
      return Status::ok();
    }
    TensorData y = TensorData::allocate(x.dtype(), out);
    RETURN_IF_ERROR(copyView(ctx, x, y, out, broadcastStrides(x.shape(), out)));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makeTile(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    ASSIGN_OR_RETURN(auto reps, readInts(ctx, 1, "repeats"));
    const size_t r = x.shape().size();
    if (reps.size() != r) return kernelError(ctx, "repeats has {} values for rank {}", reps.size(), r);
    Shape out(r), view(2 * r);
    std::vector<int64_t> ss(2 * r);
    const auto xs = contiguousStrides(x.shape());
    bool same = true;
    for (size_t d = 0; d < r; ++d) {
      if (reps[d] < 0) return kernelError(ctx, "negative repeat {}", reps[d]);
      out[d] = x.shape()[d] * reps[d];
      same = same && reps[d] == 1;
      view[2 * d] = reps[d];  // [rep_d, dim_d] pairs: out index = rep * dim_d + i
      view[2 * d + 1] = x.shape()[d];
      ss[2 * d] = 0;
      ss[2 * d + 1] = xs[d];
    }
    if (same) {
      ctx.outputs[0] = x;
      return Status::ok();
    }
    TensorData y = TensorData::allocate(x.dtype(), out);
    RETURN_IF_ERROR(copyView(ctx, x, y, view, ss));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> padKernels() {
  return {
      {"", "Pad", makePad},
      {"", "Expand", makeExpand},
      {"", "Tile", makeTile},
  };
}

}  // namespace onnxpress::runtime
