// Kernels that alias their input or read only its shape: Identity, Dropout (an
// alias unless training_mode), Reshape, Flatten, Squeeze, Unsqueeze, Shape, Size.
// Aliasing ops return TensorData::reshaped views of the input's storage.
#include <random>
#include <string>

#include "Families.h"
#include "ShapeCommon.h"

namespace onnxpress::runtime {
namespace {

using namespace shapeops;

// ---- Identity, Dropout ---------------------------------------------------------------------

Expected<KernelFn> makeIdentity(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    if (ctx.hasInput(0)) ctx.outputs[0] = ctx.input(0);  // alias
    return Status::ok();
  });
}

Expected<KernelFn> makeDropout(const KernelBuildContext& b) {
  const int64_t opset = b.opset;
  const float ratioAttr = b.node.floatAttr("ratio", 0.5f);
  const bool maskIsBool = opset >= 10;
  const bool wantMask = b.node.numOutputs() > 1 && b.node.output(1) != nullptr;
  auto rng = std::make_shared<std::mt19937>(b.node.attribute("seed")
                                                ? static_cast<uint32_t>(b.node.intAttr("seed", 0))
                                                : std::random_device{}());
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    double ratio = ratioAttr;
    bool training = false;
    if (opset >= 12) {
      ratio = 0.5;
      if (ctx.hasInput(1)) {
        ASSIGN_OR_RETURN(auto r, readDoubles(ctx, 1, "ratio"));
        if (r.size() != 1) return kernelError(ctx, "ratio must be a scalar");
        ratio = r[0];
      }
      if (ctx.hasInput(2)) {
        ASSIGN_OR_RETURN(auto t, readInts(ctx, 2, "training_mode"));
        training = !t.empty() && t[0] != 0;
      }
    }
    if (!training || ratio == 0) {
      ctx.outputs[0] = x;
      if (wantMask) {
        if (maskIsBool) {
          TensorData m = TensorData::allocate(DataType::Bool, x.shape());
          if (m.numElements()) std::memset(m.raw(), 1, static_cast<size_t>(m.numElements()));
          ctx.outputs[1] = std::move(m);
        } else {
          TensorData m = TensorData::allocate(x.dtype(), x.shape());
          const bool ok = dispatch<AllTypes>(x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            std::fill_n(m.data<T>(), m.numElements(), fromDouble<T>(1.0));
          });
          if (!ok) return unsupportedType(ctx, x.dtype());
          ctx.outputs[1] = std::move(m);
        }
      }
      return Status::ok();
    }
    if (ratio < 0 || ratio >= 1) return kernelError(ctx, "ratio {} must be in [0, 1)", ratio);
    TensorData y = TensorData::allocate(x.dtype(), x.shape());
    TensorData m = TensorData::allocate(DataType::Bool, x.shape());
    const double scale = 1.0 / (1.0 - ratio);
    std::uniform_real_distribution<float> uni(0.f, 1.f);
    const bool ok = dispatch<FloatTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* py = y.data<T>();
      bool* pm = m.data<bool>();
      for (int64_t i = 0; i < x.numElements(); ++i) {
        const bool keep = uni(*rng) >= ratio;
        pm[i] = keep;
        py[i] = keep ? fromDouble<T>(toDouble(px[i]) * scale) : fromDouble<T>(0.0);
      }
    });
    if (!ok) return unsupportedType(ctx, x.dtype());
    ctx.outputs[0] = std::move(y);
    if (wantMask) ctx.outputs[1] = std::move(m);
    return Status::ok();
  });
}

// ---- Reshape, Flatten, Squeeze, Unsqueeze (aliasing) ---------------------------------------

Expected<KernelFn> makeReshape(const KernelBuildContext& b) {
  const bool allowZero = b.opset >= 14 && b.node.intAttr("allowzero", 0) != 0;
  const bool shapeAttr = b.opset < 5;
  const std::vector<int64_t> attrShape = b.node.intsAttr("shape");
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    std::vector<int64_t> req = attrShape;
    if (!shapeAttr) {
      ASSIGN_OR_RETURN(req, readInts(ctx, 1, "shape"));
    }
    Shape out(req.size());
    int64_t infer = -1, known = 1;
    for (size_t i = 0; i < req.size(); ++i) {
      int64_t d = req[i];
      if (d == 0 && !allowZero) {
        if (static_cast<int64_t>(i) >= x.rank()) return kernelError(ctx, "shape dim {} copies a missing input dim", i);
        d = x.shape()[i];
      } else if (d == -1) {
        if (infer >= 0) return kernelError(ctx, "shape {} has more than one -1", shapeToString(req));
        infer = static_cast<int64_t>(i);
        continue;
      } else if (d < -1) {
        return kernelError(ctx, "bad shape {}", shapeToString(req));
      }
      out[i] = d;
      known *= d;
    }
    const int64_t total = x.numElements();
    if (infer >= 0) {
      if (known == 0 || total % known != 0)
        return kernelError(ctx, "cannot reshape {} to {}", shapeToString(x.shape()), shapeToString(req));
      out[static_cast<size_t>(infer)] = total / known;
    } else if (known != total) {
      return kernelError(ctx, "cannot reshape {} to {}", shapeToString(x.shape()), shapeToString(req));
    }
    ctx.outputs[0] = x.reshaped(std::move(out));
    return Status::ok();
  });
}

Expected<KernelFn> makeFlatten(const KernelBuildContext& b) {
  const int64_t axis = b.node.intAttr("axis", 1);
  return KernelFn([axis](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const int64_t r = x.rank();
    if (axis < -r || axis > r) return kernelError(ctx, "axis {} out of range for rank {}", axis, r);
    const size_t a = static_cast<size_t>(axis < 0 ? axis + r : axis);
    ctx.outputs[0] = x.reshaped({elementCount(x.shape(), 0, a), elementCount(x.shape(), a, x.shape().size())});
    return Status::ok();
  });
}

Expected<KernelFn> makeSqueeze(const KernelBuildContext& b) {
  const int64_t opset = b.opset;
  const std::vector<int64_t> attrAxes = b.node.intsAttr("axes");
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    std::vector<int64_t> axes = attrAxes;
    if (opset >= 13) {
      axes.clear();
      if (ctx.hasInput(1)) {
        ASSIGN_OR_RETURN(axes, readInts(ctx, 1, "axes"));
      }
    }
    RETURN_IF_ERROR(normalizeAxes(ctx, axes, x.rank()));
    std::vector<bool> drop(static_cast<size_t>(x.rank()), axes.empty());
    for (int64_t a : axes) {
      if (x.shape()[static_cast<size_t>(a)] != 1)
        return kernelError(ctx, "cannot squeeze axis {} of size {}", a, x.shape()[static_cast<size_t>(a)]);
      drop[static_cast<size_t>(a)] = true;
    }
    Shape out;
    for (size_t i = 0; i < x.shape().size(); ++i)
      if (!(drop[i] && x.shape()[i] == 1)) out.push_back(x.shape()[i]);
    ctx.outputs[0] = x.reshaped(std::move(out));
    return Status::ok();
  });
}

Expected<KernelFn> makeUnsqueeze(const KernelBuildContext& b) {
  const int64_t opset = b.opset;
  const std::vector<int64_t> attrAxes = b.node.intsAttr("axes");
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    std::vector<int64_t> axes = attrAxes;
    if (opset >= 13) {
      if (!ctx.hasInput(1)) return kernelError(ctx, "missing axes input");
      ASSIGN_OR_RETURN(axes, readInts(ctx, 1, "axes"));
    }
    const int64_t outRank = x.rank() + static_cast<int64_t>(axes.size());
    RETURN_IF_ERROR(normalizeAxes(ctx, axes, outRank));
    std::vector<bool> inserted(static_cast<size_t>(outRank), false);
    for (int64_t a : axes) inserted[static_cast<size_t>(a)] = true;
    Shape out(static_cast<size_t>(outRank));
    size_t j = 0;
    for (size_t i = 0; i < out.size(); ++i) out[i] = inserted[i] ? 1 : x.shape()[j++];
    ctx.outputs[0] = x.reshaped(std::move(out));
    return Status::ok();
  });
}

// ---- Shape, Size ---------------------------------------------------------------------------

Expected<KernelFn> makeShape(const KernelBuildContext& b) {
  const int64_t start = b.opset >= 15 ? b.node.intAttr("start", 0) : 0;
  const bool hasEnd = b.opset >= 15 && b.node.attribute("end") != nullptr;
  const int64_t end = b.node.intAttr("end", 0);
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const int64_t r = x.rank();
    const int64_t s = std::clamp<int64_t>(start < 0 ? start + r : start, 0, r);
    const int64_t e = hasEnd ? std::clamp<int64_t>(end < 0 ? end + r : end, 0, r) : r;
    const int64_t n = std::max<int64_t>(0, e - s);
    std::vector<int64_t> dims(x.shape().begin() + s, x.shape().begin() + s + n);
    ctx.outputs[0] = TensorData::fromVector(DataType::Int64, {n}, dims);
    return Status::ok();
  });
}

Expected<KernelFn> makeSize(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    ctx.outputs[0] = TensorData::fromVector(DataType::Int64, {}, std::vector<int64_t>{ctx.input(0).numElements()});
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> reshapeKernels() {
  return {
      {"", "Identity", makeIdentity},
      {"", "Dropout", makeDropout},
      {"", "Reshape", makeReshape},
      {"", "Flatten", makeFlatten},
      {"", "Squeeze", makeSqueeze},
      {"", "Unsqueeze", makeUnsqueeze},
      {"", "Shape", makeShape},
      {"", "Size", makeSize},
  };
}

}  // namespace onnxpress::runtime
