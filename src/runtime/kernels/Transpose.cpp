// Kernels that rearrange or join data through the strided-copy engine
// (ShapeCommon.h): Transpose, DepthToSpace, SpaceToDepth, Concat, Split.
// A Transpose that keeps the order of the non-unit dims is a reshape (an alias).
#include "Families.h"
#include "ShapeCommon.h"

namespace onnxpress::runtime {
namespace {

using namespace shapeops;

// ---- Transpose -----------------------------------------------------------------------------

Expected<KernelFn> makeTranspose(const KernelBuildContext& b) {
  const std::vector<int64_t> permAttr = b.node.intsAttr("perm");
  return KernelFn([permAttr](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    const int64_t r = x.rank();
    std::vector<int64_t> perm = permAttr;
    if (perm.empty())
      for (int64_t d = r; d-- > 0;) perm.push_back(d);
    if (static_cast<int64_t>(perm.size()) != r) return kernelError(ctx, "perm size {} != rank {}", perm.size(), r);
    RETURN_IF_ERROR(normalizeAxes(ctx, perm, r));
    Shape out(static_cast<size_t>(r));
    std::vector<int64_t> ss(static_cast<size_t>(r));
    const auto xs = contiguousStrides(x.shape());
    int64_t last = -1;
    bool ordered = true;  // non-unit dims keep their order: a pure reshape
    for (size_t d = 0; d < out.size(); ++d) {
      const size_t p = static_cast<size_t>(perm[d]);
      out[d] = x.shape()[p];
      ss[d] = xs[p];
      if (out[d] != 1) {
        ordered = ordered && perm[d] > last;
        last = perm[d];
      }
    }
    if (ordered) {
      ctx.outputs[0] = x.reshaped(std::move(out));
      return Status::ok();
    }
    TensorData y = TensorData::allocate(x.dtype(), out);
    RETURN_IF_ERROR(copyView(ctx, x, y, out, ss));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- DepthToSpace, SpaceToDepth ------------------------------------------------------------

Expected<KernelFn> makeDepthToSpace(const KernelBuildContext& b) {
  const int64_t bs = b.node.intAttr("blocksize", 0);
  const std::string mode = b.opset >= 11 ? b.node.stringAttr("mode", "DCR") : "DCR";
  if (bs <= 0) return buildError(b, "blocksize must be positive");
  if (mode != "DCR" && mode != "CRD") return buildError(b, "unknown mode '{}'", mode);
  const bool dcr = mode == "DCR";
  return KernelFn([bs, dcr](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (x.rank() != 4) return kernelError(ctx, "input must be 4-D");
    const int64_t n = x.dim(0), ch = x.dim(1), h = x.dim(2), w = x.dim(3);
    if (ch % (bs * bs) != 0) return kernelError(ctx, "channels {} not divisible by blocksize^2", ch);
    const int64_t c = ch / (bs * bs), hw = h * w;
    // Output viewed as [N, c, H, b1, W, b2].
    const Shape view{n, c, h, bs, w, bs};
    const std::vector<int64_t> ss = dcr ? std::vector<int64_t>{ch * hw, hw, w, bs * c * hw, 1, c * hw}
                                        : std::vector<int64_t>{ch * hw, bs * bs * hw, w, bs * hw, 1, hw};
    TensorData y = TensorData::allocate(x.dtype(), {n, c, h * bs, w * bs});
    RETURN_IF_ERROR(copyView(ctx, x, y, view, ss));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makeSpaceToDepth(const KernelBuildContext& b) {
  const int64_t bs = b.node.intAttr("blocksize", 0);
  if (bs <= 0) return buildError(b, "blocksize must be positive");
  return KernelFn([bs](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (x.rank() != 4) return kernelError(ctx, "input must be 4-D");
    const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    if (h % bs != 0 || w % bs != 0) return kernelError(ctx, "spatial dims not divisible by blocksize {}", bs);
    // Output viewed as [N, b1, b2, C, H/bs, W/bs].
    const Shape view{n, bs, bs, c, h / bs, w / bs};
    const std::vector<int64_t> ss{c * h * w, w, 1, h * w, bs * w, bs};
    TensorData y = TensorData::allocate(x.dtype(), {n, c * bs * bs, h / bs, w / bs});
    RETURN_IF_ERROR(copyView(ctx, x, y, view, ss));
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

// ---- Concat, Split -------------------------------------------------------------------------

Expected<KernelFn> makeConcat(const KernelBuildContext& b) {
  if (!b.node.attribute("axis") && b.opset >= 4) return buildError(b, "missing axis attribute");
  const int64_t axis = b.node.intAttr("axis", 1);
  return KernelFn([axis](KernelContext& ctx) -> Status {
    std::vector<const TensorData*> ins;
    for (size_t i = 0; i < ctx.numInputs(); ++i)
      if (ctx.hasInput(i)) ins.push_back(&ctx.input(i));
    if (ins.empty()) return kernelError(ctx, "no inputs");
    const TensorData& first = *ins[0];
    const int64_t r = first.rank();
    if (axis < -r || axis >= r) return kernelError(ctx, "axis {} out of range for rank {}", axis, r);
    const size_t a = static_cast<size_t>(axis < 0 ? axis + r : axis);
    Shape out = first.shape();
    out[a] = 0;
    for (const TensorData* t : ins) {
      if (t->dtype() != first.dtype()) return kernelError(ctx, "input types differ");
      if (t->rank() != r) return kernelError(ctx, "input ranks differ");
      for (size_t d = 0; d < out.size(); ++d)
        if (d != a && t->shape()[d] != first.shape()[d])
          return kernelError(ctx, "shapes {} and {} differ off axis {}", shapeToString(first.shape()),
                             shapeToString(t->shape()), a);
      out[a] += t->shape()[a];
    }
    if (ins.size() == 1) {
      ctx.outputs[0] = first;
      return Status::ok();
    }
    TensorData y = TensorData::allocate(first.dtype(), out);
    const auto ys = contiguousStrides(out);
    int64_t offset = 0;
    for (const TensorData* t : ins) {
      RETURN_IF_ERROR(copyInto(ctx, *t, y, ys, offset * ys[a]));
      offset += t->shape()[a];
    }
    ctx.outputs[0] = std::move(y);
    return Status::ok();
  });
}

Expected<KernelFn> makeSplit(const KernelBuildContext& b) {
  const int64_t opset = b.opset;
  const int64_t axis = b.node.intAttr("axis", 0);
  const std::vector<int64_t> splitAttr = opset < 13 ? b.node.intsAttr("split") : std::vector<int64_t>{};
  const int64_t numOutputs = opset >= 18 ? b.node.intAttr("num_outputs", 0) : 0;
  if (opset >= 18 && numOutputs && numOutputs != static_cast<int64_t>(b.node.numOutputs()))
    return buildError(b, "num_outputs {} but the node has {} outputs", numOutputs, b.node.numOutputs());
  return KernelFn([=](KernelContext& ctx) -> Status {
    const TensorData& x = ctx.input(0);
    if (x.rank() == 0) return kernelError(ctx, "cannot split a scalar");
    ASSIGN_OR_RETURN(const int64_t a, normalizeAxis(axis, x.rank(), ctx.where()));
    const size_t au = static_cast<size_t>(a);
    const int64_t dim = x.shape()[au];
    const int64_t n = static_cast<int64_t>(ctx.outputs.size());
    std::vector<int64_t> split = splitAttr;
    if (opset >= 13 && ctx.hasInput(1)) {
      ASSIGN_OR_RETURN(split, readInts(ctx, 1, "split"));
    }
    if (split.empty()) {
      if (n == 0) return kernelError(ctx, "no outputs");
      const int64_t chunk = (dim + n - 1) / n;
      if (dim % n != 0 && opset < 18) return kernelError(ctx, "dim {} does not split evenly in {}", dim, n);
      for (int64_t i = 0; i < n; ++i) split.push_back(i + 1 < n ? chunk : dim - chunk * (n - 1));
    }
    if (static_cast<int64_t>(split.size()) != n)
      return kernelError(ctx, "split has {} values for {} outputs", split.size(), n);
    int64_t sum = 0;
    for (int64_t s : split) {
      if (s < 0) return kernelError(ctx, "negative split {}", s);
      sum += s;
    }
    if (sum != dim) return kernelError(ctx, "split sums to {}, axis has {}", sum, dim);
    const auto xs = contiguousStrides(x.shape());
    int64_t offset = 0;
    for (size_t j = 0; j < split.size(); ++j) {
      Shape shape = x.shape();
      shape[au] = split[j];
      if (ctx.node.output(j)) {
        TensorData y = TensorData::allocate(x.dtype(), shape);
        RETURN_IF_ERROR(copyView(ctx, x, y, shape, xs, offset * xs[au]));
        ctx.outputs[j] = std::move(y);
      }
      offset += split[j];
    }
    return Status::ok();
  });
}

}  // namespace

std::vector<KernelEntry> transposeKernels() {
  return {
      {"", "Transpose", makeTranspose},
      {"", "DepthToSpace", makeDepthToSpace},
      {"", "SpaceToDepth", makeSpaceToDepth},
      {"", "Concat", makeConcat},
      {"", "Split", makeSplit},
  };
}

}  // namespace onnxpress::runtime
