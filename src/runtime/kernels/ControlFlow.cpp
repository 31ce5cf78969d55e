// Control-flow kernels: If (opsets 1-21), Loop (opsets 1-21), Scan (opset 8 with
// batch axis and sequence_lens; opsets 9-21 with axes and directions). Tensor
// values only: sequence- and optional-typed values are not supported by the
// runtime. Each subgraph gets its own Executor, built once with the node; it runs
// with the node's frame as parent so the body can read outer-scope values.
#include <limits>
#include <memory>

#include "Families.h"
#include "KernelUtil.h"
#include "onnxpress/runtime/Executor.h"

namespace onnxpress::runtime {
namespace {

using ExecutorPtr = std::shared_ptr<const Executor>;

// Calibration and per-layer comparison see the tensors of bodies too.
const TensorObserver& bodyObserver(const KernelContext& ctx) {
  static const TensorObserver kNone;
  return ctx.frame && ctx.frame->observer() ? *ctx.frame->observer() : kNone;
}

Expected<ExecutorPtr> buildSubgraph(const KernelBuildContext& b, const char* name, const Graph** graphOut = nullptr) {
  const Attribute* a = b.node.attribute(name);
  if (!a || a->graphs.empty() || !a->graphs[0]) return buildError(b, "missing graph attribute '{}'", name);
  ASSIGN_OR_RETURN(std::unique_ptr<Executor> ex, Executor::create(*a->graphs[0], *b.opsets, *b.options));
  if (graphOut) *graphOut = a->graphs[0].get();
  return ExecutorPtr(std::move(ex));
}

// ---- tensor slicing and stacking ------------------------------------------------------------

/// Bytes per element, or 0 for types that cannot be sliced element-wise here (strings, 4-bit).
size_t elementBytes(DataType dt) {
  if (dt == DataType::String) return 0;
  const int bits = dataTypeBits(dt);
  return bits >= 8 ? static_cast<size_t>(bits / 8) : 0;
}

/// Copies `count` elements from src[srcAt] to dst[dstAt] (element offsets).
void copyElements(const TensorData& src, int64_t srcAt, TensorData& dst, int64_t dstAt, int64_t count) {
  if (count <= 0) return;
  if (src.dtype() == DataType::String) {
    std::copy_n(src.strings->begin() + srcAt, count, dst.strings->begin() + dstAt);
    return;
  }
  const size_t eb = elementBytes(src.dtype());
  std::memcpy(static_cast<uint8_t*>(dst.raw()) + dstAt * eb, static_cast<const uint8_t*>(src.raw()) + srcAt * eb,
              static_cast<size_t>(count) * eb);
}

bool copyable(DataType dt) { return dt == DataType::String || elementBytes(dt) > 0; }

/// t[..., index, ...] along `axis`, with that axis removed.
TensorData sliceAxis(const TensorData& t, int64_t axis, int64_t index) {
  const Shape& s = t.shape();
  Shape outShape;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < t.rank(); ++i) {
    if (i < axis) outer *= s[i];
    if (i > axis) inner *= s[i];
    if (i != axis) outShape.push_back(s[i]);
  }
  const int64_t len = s[axis];
  TensorData out = TensorData::allocate(t.dtype(), outShape);
  for (int64_t o = 0; o < outer; ++o) copyElements(t, (o * len + index) * inner, out, o * inner, inner);
  return out;
}

/// Stacks same-shaped `parts` along a new axis `axis` (in [0, rank]).
Expected<TensorData> stackAxis(const std::vector<TensorData>& parts, int64_t axis, const std::string& where) {
  const TensorData& first = parts.front();
  for (const TensorData& p : parts)
    if (p.shape() != first.shape() || p.dtype() != first.dtype())
      return invalidInput("node {}: scan output parts differ: {} {} and {} {}", where, dataTypeName(first.dtype()),
                          shapeToString(first.shape()), dataTypeName(p.dtype()), shapeToString(p.shape()));
  if (!copyable(first.dtype()))
    return invalidInput("node {}: cannot stack {} tensors", where, dataTypeName(first.dtype()));
  Shape outShape = first.shape();
  outShape.insert(outShape.begin() + axis, static_cast<int64_t>(parts.size()));
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < first.rank(); ++i) (i < axis ? outer : inner) *= first.shape()[i];
  const int64_t n = static_cast<int64_t>(parts.size());
  TensorData out = TensorData::allocate(first.dtype(), outShape);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < n; ++i) copyElements(parts[i], o * inner, out, (o * n + i) * inner, inner);
  return out;
}

/// An empty scan output ([0] inserted at `axis`) when there were no iterations: the
/// per-iteration shape comes from the body output's declared type if fully known.
TensorData emptyScanOutput(const Value* bodyOut, int64_t axis) {
  const Type& t = bodyOut->type();
  const DataType dt = t.isTensor() && t.elemType != DataType::Undefined ? t.elemType : DataType::Float;
  Shape shape;
  bool known = t.isTensor() && t.hasShape;
  for (const Dim& d : t.dims) {
    if (!d.isFixed()) known = false;
    shape.push_back(d.value);
  }
  if (!known) shape.clear();
  axis = std::clamp<int64_t>(axis < 0 ? axis + static_cast<int64_t>(shape.size()) + 1 : axis, 0,
                             static_cast<int64_t>(shape.size()));
  shape.insert(shape.begin() + axis, 0);
  return TensorData::allocate(dt, shape);
}

TensorData scalarInt64(int64_t v) { return TensorData::fromVector<int64_t>(DataType::Int64, {}, {v}); }
TensorData scalarBool(bool v) { return TensorData::fromVector<uint8_t>(DataType::Bool, {}, {static_cast<uint8_t>(v)}); }

Status checkCondition(const KernelContext& ctx, const TensorData& t, const char* what) {
  if (t.numElements() != 1) return kernelError(ctx, "{} must have one element, got shape {}", what, shapeToString(t.shape()));
  if (t.dtype() == DataType::String) return kernelError(ctx, "{} must be bool", what);
  return Status::ok();
}

// ---- If ----------------------------------------------------------------------------------

Expected<KernelFn> makeIf(const KernelBuildContext& b) {
  const Graph *thenGraph = nullptr, *elseGraph = nullptr;
  ASSIGN_OR_RETURN(ExecutorPtr thenEx, buildSubgraph(b, "then_branch", &thenGraph));
  ASSIGN_OR_RETURN(ExecutorPtr elseEx, buildSubgraph(b, "else_branch", &elseGraph));
  if (thenGraph->outputs().size() != b.node.numOutputs() || elseGraph->outputs().size() != b.node.numOutputs())
    return buildError(b, "branches have {} and {} outputs, the node has {}", thenGraph->outputs().size(),
                      elseGraph->outputs().size(), b.node.numOutputs());
  return KernelFn([thenEx, elseEx](KernelContext& ctx) -> Status {
    const TensorData& cond = ctx.input(0);
    RETURN_IF_ERROR(checkCondition(ctx, cond, "cond"));
    const Executor& branch = cond.intAt(0) != 0 ? *thenEx : *elseEx;
    ASSIGN_OR_RETURN(std::vector<TensorData> outs, branch.runSubgraph({}, ctx.frame, bodyObserver(ctx)));
    if (outs.size() != ctx.outputs.size())
      return kernelError(ctx, "branch produced {} outputs, expected {}", outs.size(), ctx.outputs.size());
    for (size_t i = 0; i < outs.size(); ++i) ctx.outputs[i] = std::move(outs[i]);
    return Status::ok();
  });
}

// ---- Loop --------------------------------------------------------------------------------

Expected<KernelFn> makeLoop(const KernelBuildContext& b) {
  const Graph* body = nullptr;
  ASSIGN_OR_RETURN(ExecutorPtr ex, buildSubgraph(b, "body", &body));
  if (b.node.numInputs() < 2) return buildError(b, "Loop needs inputs M and cond (either may be empty)");
  const size_t numCarried = b.node.numInputs() - 2;
  if (b.node.numOutputs() < numCarried)
    return buildError(b, "Loop has {} loop-carried inputs but {} outputs", numCarried, b.node.numOutputs());
  const size_t numScan = b.node.numOutputs() - numCarried;
  if (body->inputs().size() != 2 + numCarried)
    return buildError(b, "body takes {} inputs, expected {}", body->inputs().size(), 2 + numCarried);
  if (body->outputs().size() != 1 + numCarried + numScan)
    return buildError(b, "body has {} outputs, expected {}", body->outputs().size(), 1 + numCarried + numScan);
  std::vector<const Value*> scanDecls;
  for (size_t k = 0; k < numScan; ++k) scanDecls.push_back(body->outputs()[1 + numCarried + k]);

  return KernelFn([ex, numCarried, numScan, scanDecls](KernelContext& ctx) -> Status {
    const int64_t maxTrips = ctx.hasInput(0) ? ctx.input(0).intAt(0) : std::numeric_limits<int64_t>::max();
    bool cond = true;
    if (ctx.hasInput(1)) {
      RETURN_IF_ERROR(checkCondition(ctx, ctx.input(1), "cond"));
      cond = ctx.input(1).intAt(0) != 0;
    }
    std::vector<TensorData> feeds(2 + numCarried);
    for (size_t i = 0; i < numCarried; ++i) {
      if (!ctx.hasInput(2 + i)) return kernelError(ctx, "loop-carried input {} is missing", i);
      feeds[2 + i] = ctx.input(2 + i);
    }
    std::vector<std::vector<TensorData>> scans(numScan);
    for (int64_t it = 0; it < maxTrips && cond; ++it) {
      feeds[0] = scalarInt64(it);
      feeds[1] = scalarBool(cond);
      ASSIGN_OR_RETURN(std::vector<TensorData> outs, ex->runSubgraph(feeds, ctx.frame, bodyObserver(ctx)));
      if (outs.size() != 1 + numCarried + numScan)
        return kernelError(ctx, "body produced {} outputs, expected {}", outs.size(), 1 + numCarried + numScan);
      // As ONNX Runtime and the ONNX reference do, the body's cond output always steers the loop.
      RETURN_IF_ERROR(checkCondition(ctx, outs[0], "body cond output"));
      cond = outs[0].intAt(0) != 0;
      for (size_t i = 0; i < numCarried; ++i) feeds[2 + i] = std::move(outs[1 + i]);
      for (size_t k = 0; k < numScan; ++k) scans[k].push_back(std::move(outs[1 + numCarried + k]));
    }
    for (size_t i = 0; i < numCarried; ++i) ctx.outputs[i] = std::move(feeds[2 + i]);
    for (size_t k = 0; k < numScan; ++k) {
      if (scans[k].empty()) {
        ctx.outputs[numCarried + k] = emptyScanOutput(scanDecls[k], 0);
        continue;
      }
      ASSIGN_OR_RETURN(ctx.outputs[numCarried + k], stackAxis(scans[k], 0, ctx.where()));
    }
    return Status::ok();
  });
}

// ---- Scan --------------------------------------------------------------------------------

struct ScanConfig {
  int64_t numScanInputs = 0;
  std::vector<int64_t> inputAxes, inputDirections, outputAxes, outputDirections;
  bool batched = false;  // opset 8: batch axis 0, input 0 is sequence_lens
};

/// One Scan over unbatched values. `states` in, final states out; scan outputs stacked.
/// `length` is the number of iterations; scan inputs are read at [0, length).
Status scanOnce(const KernelContext& ctx, const Executor& ex, const ScanConfig& c,
                const std::vector<const Value*>& scanDecls, std::vector<TensorData>& states,
                const std::vector<TensorData>& scanInputs, const std::vector<int64_t>& inAxes, int64_t length,
                std::vector<TensorData>& scanOutputs) {
  const size_t numStates = states.size(), numOut = scanDecls.size();
  std::vector<std::vector<TensorData>> parts(numOut);
  std::vector<TensorData> feeds(numStates + scanInputs.size());
  for (int64_t t = 0; t < length; ++t) {
    for (size_t i = 0; i < numStates; ++i) feeds[i] = states[i];
    for (size_t j = 0; j < scanInputs.size(); ++j) {
      const bool rev = j < c.inputDirections.size() && c.inputDirections[j] != 0;
      feeds[numStates + j] = sliceAxis(scanInputs[j], inAxes[j], rev ? length - 1 - t : t);
    }
    ASSIGN_OR_RETURN(std::vector<TensorData> outs, ex.runSubgraph(feeds, ctx.frame, bodyObserver(ctx)));
    if (outs.size() != numStates + numOut)
      return kernelError(ctx, "body produced {} outputs, expected {}", outs.size(), numStates + numOut);
    for (size_t i = 0; i < numStates; ++i) states[i] = std::move(outs[i]);
    for (size_t k = 0; k < numOut; ++k) parts[k].push_back(std::move(outs[numStates + k]));
  }
  scanOutputs.resize(numOut);
  for (size_t k = 0; k < numOut; ++k) {
    int64_t axis = k < c.outputAxes.size() ? c.outputAxes[k] : 0;
    if (parts[k].empty()) {
      scanOutputs[k] = emptyScanOutput(scanDecls[k], axis);
      continue;
    }
    const int64_t rank = parts[k].front().rank() + 1;
    if (axis < -rank || axis >= rank) return kernelError(ctx, "scan_output_axes[{}] = {} out of range", k, axis);
    if (axis < 0) axis += rank;
    if (k < c.outputDirections.size() && c.outputDirections[k] != 0) std::reverse(parts[k].begin(), parts[k].end());
    ASSIGN_OR_RETURN(scanOutputs[k], stackAxis(parts[k], axis, ctx.where()));
  }
  return Status::ok();
}

Status runScan9(const ScanConfig& c, const Executor& ex, const std::vector<const Value*>& scanDecls,
                KernelContext& ctx) {
  const size_t numInputs = ctx.numInputs();
  const size_t m = static_cast<size_t>(c.numScanInputs);
  const size_t numStates = numInputs - m;
  std::vector<TensorData> states(numStates), scanInputs(m);
  for (size_t i = 0; i < numStates; ++i) states[i] = ctx.input(i);
  std::vector<int64_t> axes(m, 0);
  int64_t length = -1;
  for (size_t j = 0; j < m; ++j) {
    scanInputs[j] = ctx.input(numStates + j);
    if (!copyable(scanInputs[j].dtype())) return kernelError(ctx, "cannot scan {} tensors", dataTypeName(scanInputs[j].dtype()));
    int64_t axis = j < c.inputAxes.size() ? c.inputAxes[j] : 0;
    const int64_t rank = scanInputs[j].rank();
    if (axis < -rank || axis >= rank) return kernelError(ctx, "scan_input_axes[{}] = {} out of range for rank {}", j, axis, rank);
    axes[j] = axis < 0 ? axis + rank : axis;
    const int64_t len = scanInputs[j].dim(axes[j]);
    if (length >= 0 && len != length) return kernelError(ctx, "scan inputs have lengths {} and {}", length, len);
    length = len;
  }
  if (length < 0) return kernelError(ctx, "Scan needs at least one scan input");
  std::vector<TensorData> outs;
  RETURN_IF_ERROR(scanOnce(ctx, ex, c, scanDecls, states, scanInputs, axes, length, outs));
  for (size_t i = 0; i < numStates && i < ctx.outputs.size(); ++i) ctx.outputs[i] = std::move(states[i]);
  for (size_t k = 0; k < outs.size() && numStates + k < ctx.outputs.size(); ++k)
    ctx.outputs[numStates + k] = std::move(outs[k]);
  return Status::ok();
}

// Opset 8: every input and output has a leading batch axis; scan axis is 1.
Status runScan8(const ScanConfig& c, const Executor& ex, const std::vector<const Value*>& scanDecls,
                KernelContext& ctx) {
  const size_t m = static_cast<size_t>(c.numScanInputs);
  const size_t numStates = ctx.numInputs() - 1 - m;
  std::vector<TensorData> states(numStates), scanInputs(m);
  int64_t batch = -1, seq = -1;
  auto checkBatch = [&](const TensorData& t, int64_t minRank) -> Status {
    if (t.rank() < minRank) return kernelError(ctx, "Scan-8 input of shape {} lacks batch/sequence axes", shapeToString(t.shape()));
    if (!copyable(t.dtype())) return kernelError(ctx, "cannot scan {} tensors", dataTypeName(t.dtype()));
    if (batch >= 0 && t.dim(0) != batch) return kernelError(ctx, "inputs disagree on the batch size");
    batch = t.dim(0);
    return Status::ok();
  };
  for (size_t i = 0; i < numStates; ++i) {
    states[i] = ctx.input(1 + i);
    RETURN_IF_ERROR(checkBatch(states[i], 1));
  }
  for (size_t j = 0; j < m; ++j) {
    scanInputs[j] = ctx.input(1 + numStates + j);
    RETURN_IF_ERROR(checkBatch(scanInputs[j], 2));
    if (seq >= 0 && scanInputs[j].dim(1) != seq) return kernelError(ctx, "scan inputs disagree on the sequence length");
    seq = scanInputs[j].dim(1);
  }
  if (seq < 0) return kernelError(ctx, "Scan needs at least one scan input");
  std::vector<int64_t> lens(static_cast<size_t>(batch), seq);
  if (ctx.hasInput(0)) {
    const TensorData& sl = ctx.input(0);
    if (sl.numElements() != batch) return kernelError(ctx, "sequence_lens has {} entries, batch is {}", sl.numElements(), batch);
    for (int64_t b = 0; b < batch; ++b) {
      lens[b] = sl.intAt(b);
      if (lens[b] < 0 || lens[b] > seq) return kernelError(ctx, "sequence_lens[{}] = {} outside [0, {}]", b, lens[b], seq);
    }
  }
  const size_t numOut = scanDecls.size();
  std::vector<std::vector<TensorData>> finalStates(numStates), scanParts(numOut);
  const std::vector<int64_t> axes(m, 0);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<TensorData> st(numStates), ins(m), outs;
    for (size_t i = 0; i < numStates; ++i) st[i] = sliceAxis(states[i], 0, b);
    for (size_t j = 0; j < m; ++j) ins[j] = sliceAxis(scanInputs[j], 0, b);
    RETURN_IF_ERROR(scanOnce(ctx, ex, c, scanDecls, st, ins, axes, lens[b], outs));
    for (size_t i = 0; i < numStates; ++i) finalStates[i].push_back(std::move(st[i]));
    for (size_t k = 0; k < numOut; ++k) scanParts[k].push_back(std::move(outs[k]));
  }
  for (size_t i = 0; i < numStates && i < ctx.outputs.size(); ++i) {
    if (batch == 0) {
      ctx.outputs[i] = TensorData::allocate(states[i].dtype(), states[i].shape());
      continue;
    }
    ASSIGN_OR_RETURN(ctx.outputs[i], stackAxis(finalStates[i], 0, ctx.where()));
  }
  for (size_t k = 0; k < numOut && numStates + k < ctx.outputs.size(); ++k) {
    // Pad each batch entry to [seq, ...] with zeros past its length.
    const TensorData* full = nullptr;
    for (const TensorData& p : scanParts[k])
      if (p.dim(0) == seq) full = &p;
    Shape elem;
    DataType dt = DataType::Float;
    if (full) {
      elem = full->shape();
      dt = full->dtype();
    } else {
      TensorData e = emptyScanOutput(scanDecls[k], 0);
      elem = e.shape();
      elem[0] = seq;
      dt = e.dtype();
      for (const TensorData& p : scanParts[k])
        if (p.dim(0) > 0) {
          elem = p.shape();
          elem[0] = seq;
          dt = p.dtype();
        }
    }
    std::vector<TensorData> padded;
    for (const TensorData& p : scanParts[k]) {
      if (p.shape() == elem) {
        padded.push_back(p);
        continue;
      }
      TensorData z = TensorData::zeros(dt, elem);
      if (dt == DataType::String) std::fill(z.strings->begin(), z.strings->end(), std::string());
      if (p.numElements() > 0) {
        if (p.dtype() != dt || p.rank() != static_cast<int64_t>(elem.size()))
          return kernelError(ctx, "scan output {} changes type or rank across the batch", k);
        copyElements(p, 0, z, 0, p.numElements());
      }
      padded.push_back(std::move(z));
    }
    if (padded.empty()) {
      Shape s = elem;
      s.insert(s.begin(), 0);
      ctx.outputs[numStates + k] = TensorData::allocate(dt, s);
      continue;
    }
    ASSIGN_OR_RETURN(ctx.outputs[numStates + k], stackAxis(padded, 0, ctx.where()));
  }
  return Status::ok();
}

Expected<KernelFn> makeScan(const KernelBuildContext& b) {
  const Graph* body = nullptr;
  ASSIGN_OR_RETURN(ExecutorPtr ex, buildSubgraph(b, "body", &body));
  ScanConfig c;
  c.batched = b.opset < 9;
  c.numScanInputs = b.node.intAttr("num_scan_inputs", -1);
  const int64_t lead = c.batched ? 1 : 0;
  const int64_t numIn = static_cast<int64_t>(b.node.numInputs()) - lead;
  if (c.numScanInputs < 1 || c.numScanInputs > numIn)
    return buildError(b, "num_scan_inputs {} is invalid for {} inputs", c.numScanInputs, numIn);
  const int64_t numStates = numIn - c.numScanInputs;
  if (static_cast<int64_t>(b.node.numOutputs()) < numStates)
    return buildError(b, "Scan has {} state inputs but {} outputs", numStates, b.node.numOutputs());
  const size_t numOut = b.node.numOutputs() - static_cast<size_t>(numStates);
  if (body->inputs().size() != static_cast<size_t>(numIn))
    return buildError(b, "body takes {} inputs, expected {}", body->inputs().size(), numIn);
  if (body->outputs().size() != static_cast<size_t>(numStates) + numOut)
    return buildError(b, "body has {} outputs, expected {}", body->outputs().size(), numStates + numOut);
  if (c.batched) {
    c.inputDirections = b.node.intsAttr("directions");
  } else {
    c.inputAxes = b.node.intsAttr("scan_input_axes");
    c.inputDirections = b.node.intsAttr("scan_input_directions");
    c.outputAxes = b.node.intsAttr("scan_output_axes");
    c.outputDirections = b.node.intsAttr("scan_output_directions");
  }
  auto checkLen = [&](const std::vector<int64_t>& v, size_t n, const char* what) -> Status {
    if (!v.empty() && v.size() != n) return buildError(b, "{} has {} entries, expected {}", what, v.size(), n);
    return Status::ok();
  };
  RETURN_IF_ERROR(checkLen(c.inputAxes, static_cast<size_t>(c.numScanInputs), "scan_input_axes"));
  RETURN_IF_ERROR(checkLen(c.inputDirections, static_cast<size_t>(c.numScanInputs), "scan input directions"));
  RETURN_IF_ERROR(checkLen(c.outputAxes, numOut, "scan_output_axes"));
  RETURN_IF_ERROR(checkLen(c.outputDirections, numOut, "scan_output_directions"));
  std::vector<const Value*> scanDecls;
  for (size_t k = 0; k < numOut; ++k) scanDecls.push_back(body->outputs()[static_cast<size_t>(numStates) + k]);
  return KernelFn([c, ex, scanDecls](KernelContext& ctx) -> Status {
    return c.batched ? runScan8(c, *ex, scanDecls, ctx) : runScan9(c, *ex, scanDecls, ctx);
  });
}

}  // namespace

std::vector<KernelEntry> controlFlowKernels() {
  return {
      {"", "If", makeIf},
      {"", "Loop", makeLoop},
      {"", "Scan", makeScan},
  };
}

}  // namespace onnxpress::runtime
