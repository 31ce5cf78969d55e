// Fuzz target: the runtime (runtime/Executor and its kernels) on small random
// graphs that are valid per the ONNX schema (opset 17).
//
// Input: a recipe for a graph. The bytes choose the input's shape, then up to 8
// ops, each with attributes and constant operands that its schema accepts, and
// which values become graph outputs. The generator computes every output's shape
// by the spec's formulas, independently of the runtime.
//
// Invariants (a violation aborts, printing the graph in ONNX text syntax):
//   - the runtime prepares and runs the graph (every op used here is one it claims);
//   - every output has the shape the spec gives;
//   - running twice gives the same bytes;
//   - the plan with run-time fusions (Conv+activation, ...) agrees with the plan
//     that keeps every intermediate and fuses nothing, within 1e-4 relative
//     (NaN where the other has NaN).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/defs/parser.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "FuzzTarget.h"
#include "onnxpress/io/Proto.h"
#include "onnxpress/runtime/Executor.h"

namespace {
using namespace onnxpress;
using runtime::Executor;
using runtime::Shape;
using runtime::TensorData;
using fuzz::ByteReader;
using fuzz::fail;

int64_t product(const Shape& s) { return std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<>()); }

struct Value {
  std::string name;
  Shape shape;
};

class GraphGenerator {
 public:
  GraphGenerator(ByteReader& in, uint32_t seed) : in_(in), rng_(seed) {}

  void generate() {
    Shape x(static_cast<size_t>(in_.pick(1, 4)));
    for (int64_t& d : x) d = in_.pick(1, 5);
    input_ = {"X", x};
    values_.push_back(input_);
    const int64_t count = in_.pick(1, 8);
    for (int64_t i = 0; i < count && !in_.exhausted(); ++i) {
      const Value operand = values_[static_cast<size_t>(in_.pick(0, static_cast<int64_t>(values_.size()) - 1))];
      if (!addOp(operand)) addUnary(operand);
    }
    if (values_.size() == 1) addUnary(input_);
    outputs_.push_back(values_.back());
    for (size_t i = 1; i + 1 < values_.size(); ++i)
      if (in_.flag()) outputs_.push_back(values_[i]);
  }

  std::string text() const {
    std::vector<std::string> outs;
    for (const Value& v : outputs_) outs.push_back("float " + v.name);
    return fmt::format("<ir_version: 8, opset_import: [\"\" : 17]>\ng (float[{}] X) => ({}) <{}>\n{{\n{}}}\n",
                       fmt::join(input_.shape, ","), fmt::join(outs, ", "), fmt::join(initializers_, ", "), nodes_);
  }
  const Value& input() const { return input_; }
  const std::vector<Value>& outputs() const { return outputs_; }
  std::mt19937& rng() { return rng_; }

 private:
  std::string fresh() { return fmt::format("v{}", counter_++); }

  std::string floatConstant(const Shape& shape, float lo = -2, float hi = 2) {
    std::uniform_real_distribution<float> uniform(lo, hi);
    std::vector<std::string> items;
    for (int64_t i = 0; i < product(shape); ++i) items.push_back(fmt::format("{:.4f}", uniform(rng_)));
    const std::string name = fresh();
    initializers_.push_back(shape.empty() ? fmt::format("float {} = {{{}}}", name, fmt::join(items, ", "))
                                          : fmt::format("float[{}] {} = {{{}}}", fmt::join(shape, ","), name,
                                                        fmt::join(items, ", ")));
    return name;
  }
  std::string intConstant(const std::vector<int64_t>& values) {
    const std::string name = fresh();
    initializers_.push_back(fmt::format("int64[{}] {} = {{{}}}", values.size(), name, fmt::join(values, ", ")));
    return name;
  }
  // One node with one float output of `shape`. A value with no elements, or with more
  // than kMaxOperandElements, only becomes an output (no op reads it: runs stay fast).
  static constexpr int64_t kMaxOperandElements = 4096;
  bool emit(const std::string& op, const std::string& attributes, const std::vector<std::string>& inputs,
            const Shape& shape) {
    const std::string out = fresh();
    nodes_ += fmt::format("  {} = {}{}({})\n", out, op, attributes, fmt::join(inputs, ", "));
    const bool operand = product(shape) > 0 && product(shape) <= kMaxOperandElements;
    (operand ? values_ : outputs_).push_back({out, shape});
    return operand;
  }
  int64_t rank(const Value& v) const { return static_cast<int64_t>(v.shape.size()); }
  int64_t pickAxis(const Value& v) { return in_.pick(-rank(v), rank(v) - 1); }
  static size_t normal(int64_t axis, int64_t rank) { return static_cast<size_t>(axis < 0 ? axis + rank : axis); }

  bool addOp(const Value& v) {
    switch (in_.pick(0, 26)) {
      case 0: return addBinary(v);
      case 1: return addSoftmax(v);
      case 2: return addTranspose(v);
      case 3: return addReshape(v);
      case 4: return addFlatten(v);
      case 5: return addReduce(v);
      case 6: return addConcat(v);
      case 7: return addSlice(v);
      case 8: return addMatMul(v);
      case 9: return addGemm(v);
      case 10: return addConv(v, false);
      case 11: return addConv(v, true);
      case 12: return addPool(v);
      case 13: return addGlobalPool(v);
      case 14: return addPad(v);
      case 15: return addUnsqueezeSqueeze(v);
      case 16: return addGather(v);
      case 17: return addClip(v);
      case 18: return addNormalization(v);
      case 19: return addExpandOrTile(v);
      case 20: return addWhere(v);
      case 21: return addCastRoundTrip(v);
      case 22: return addQuantizeRoundTrip(v);
      case 23: return addArgReduce(v);
      case 24: return addSplit(v);
      case 25: return addResize(v);
      default: return addCumSumOrTopK(v);
    }
  }

  void addUnary(const Value& v) {
    static const char* ops[] = {"Relu",     "Sigmoid", "Tanh",  "Abs",      "Neg",       "Exp",         "Sqrt",
                                "Erf",      "Softplus", "HardSwish", "LeakyRelu", "Elu", "Floor", "Ceil",
                                "Round",    "Sign",    "Reciprocal", "Identity", "HardSigmoid", "Softsign", "Log",
                                "Sin",      "Cos",     "Selu",  "Celu"};
    emit(ops[in_.pick(0, static_cast<int64_t>(std::size(ops)) - 1)], "", {v.name}, v.shape);
  }

  // A shape that broadcasts with `s`: some leading dims dropped, some dims 1, and
  // (when `widen`) some of s's 1s widened, so that the result is larger than s.
  Shape broadcastPartner(const Shape& s, bool widen = true) {
    Shape t(s.begin() + in_.pick(0, static_cast<int64_t>(s.size())), s.end());
    for (int64_t& d : t) {
      const int64_t choice = in_.pick(0, 3);
      if (choice == 0) d = 1;
      else if (choice == 1 && d == 1 && widen) d = in_.pick(1, 3);
    }
    return t;
  }
  static std::optional<Shape> broadcast(const Shape& a, const Shape& b) {
    Shape out(std::max(a.size(), b.size()));
    for (size_t i = 0; i < out.size(); ++i) {
      const int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
      const int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
      if (da != db && da != 1 && db != 1) return std::nullopt;
      out[i] = da == 1 ? db : da;
    }
    return out;
  }

  bool addBinary(const Value& v) {
    static const char* ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "PRelu"};
    const std::string op = ops[in_.pick(0, 7)];
    std::string other;
    Shape otherShape;
    const Value& candidate = values_[static_cast<size_t>(in_.pick(0, static_cast<int64_t>(values_.size()) - 1))];
    if (in_.flag() && broadcast(v.shape, candidate.shape)) {
      other = candidate.name, otherShape = candidate.shape;
    } else {
      otherShape = broadcastPartner(v.shape);
      other = op == "Pow" ? floatConstant(otherShape, 0.5f, 2.f) : floatConstant(otherShape);
    }
    Shape out = *broadcast(v.shape, otherShape);
    if (op == "PRelu" && out != v.shape) return false;  // PRelu's slope broadcasts one way only
    const bool swap = op != "PRelu" && in_.flag();
    emit(op, "", swap ? std::vector{other, v.name} : std::vector{v.name, other}, out);
    return true;
  }

  bool addSoftmax(const Value& v) {
    if (v.shape.empty()) return false;  // axis must lie in [-r, r-1]
    static const char* ops[] = {"Softmax", "LogSoftmax", "Hardmax"};
    emit(ops[in_.pick(0, 2)], fmt::format("<axis = {}>", pickAxis(v)), {v.name}, v.shape);
    return true;
  }

  bool addTranspose(const Value& v) {
    if (v.shape.empty()) return false;  // perm would be an empty list, which the text syntax cannot write
    std::vector<int64_t> perm(v.shape.size());
    std::iota(perm.begin(), perm.end(), 0);
    for (size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[static_cast<size_t>(in_.pick(0, static_cast<int64_t>(i) - 1))]);
    Shape out;
    for (int64_t p : perm) out.push_back(v.shape[static_cast<size_t>(p)]);
    emit("Transpose", fmt::format("<perm = [{}]>", fmt::join(perm, ", ")), {v.name}, out);
    return true;
  }

  bool addReshape(const Value& v) {
    std::vector<int64_t> target;
    Shape out;
    switch (in_.pick(0, 2)) {
      case 0: target = {-1}, out = {product(v.shape)}; break;
      case 1:  // keep dim 0 (written 0), infer the rest
        if (v.shape.empty()) return false;
        target = {0, -1}, out = {v.shape[0], product(v.shape) / v.shape[0]};
        break;
      default:  // the dims reversed, with one of them inferred
        if (v.shape.empty()) return false;
        out.assign(v.shape.rbegin(), v.shape.rend());
        target = out;
        if (!target.empty()) target[static_cast<size_t>(in_.pick(0, rank(v) - 1))] = -1;
    }
    emit("Reshape", "", {v.name, intConstant(target)}, out);
    return true;
  }

  bool addFlatten(const Value& v) {
    const int64_t axis = in_.pick(-rank(v), rank(v));
    const size_t split = normal(axis, rank(v));
    const Shape out = {product(Shape(v.shape.begin(), v.shape.begin() + static_cast<long>(split))),
                       product(Shape(v.shape.begin() + static_cast<long>(split), v.shape.end()))};
    emit("Flatten", fmt::format("<axis = {}>", axis), {v.name}, out);
    return true;
  }

  bool addReduce(const Value& v) {
    if (v.shape.empty()) return false;
    static const char* ops[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2",
                                "ReduceLogSumExp", "ReduceSumSquare", "ReduceL1"};
    const std::string op = ops[in_.pick(0, 8)];
    std::vector<int64_t> axes;
    std::vector<bool> reduced(v.shape.size());
    for (size_t i = 0; i < v.shape.size(); ++i)
      if (in_.flag()) axes.push_back(in_.flag() ? static_cast<int64_t>(i) - rank(v) : static_cast<int64_t>(i)), reduced[i] = true;
    if (axes.empty()) reduced.assign(v.shape.size(), true);  // no axes: all of them
    const bool keep = in_.flag();
    Shape out;
    for (size_t i = 0; i < v.shape.size(); ++i)
      if (!reduced[i]) out.push_back(v.shape[i]);
      else if (keep) out.push_back(1);
    const std::string keepdims = fmt::format("keepdims = {}", keep ? 1 : 0);
    if (op == "ReduceSum") {
      if (axes.empty()) emit(op, "<" + keepdims + ">", {v.name}, out);
      else emit(op, "<" + keepdims + ">", {v.name, intConstant(axes)}, out);
    } else {
      emit(op, axes.empty() ? "<" + keepdims + ">" : fmt::format("<axes = [{}], {}>", fmt::join(axes, ", "), keepdims),
           {v.name}, out);
    }
    return true;
  }

  bool addConcat(const Value& v) {
    if (v.shape.empty()) return false;
    const int64_t axis = pickAxis(v);
    Shape otherShape = v.shape;
    otherShape[normal(axis, rank(v))] = in_.pick(1, 3);
    const std::string other = in_.flag() ? v.name : floatConstant(otherShape);
    if (other == v.name) otherShape = v.shape;
    Shape out = v.shape;
    out[normal(axis, rank(v))] += otherShape[normal(axis, rank(v))];
    emit("Concat", fmt::format("<axis = {}>", axis), {v.name, other}, out);
    return true;
  }

  // Slice's output length per the spec: bounds clamped per step direction.
  static int64_t sliceLength(int64_t dim, int64_t start, int64_t end, int64_t step) {
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim), end = std::clamp<int64_t>(end, 0, dim);
      return std::max<int64_t>(0, (end - start + step - 1) / step);
    }
    start = std::clamp<int64_t>(start, 0, dim - 1), end = std::clamp<int64_t>(end, -1, dim - 1);
    return std::max<int64_t>(0, (start - end + (-step) - 1) / (-step));
  }

  bool addSlice(const Value& v) {
    if (v.shape.empty()) return false;
    std::vector<int64_t> starts, ends, axes, steps;
    Shape out = v.shape;
    for (size_t i = 0; i < v.shape.size(); ++i) {
      if (!in_.flag()) continue;
      const int64_t dim = v.shape[i];
      static const int64_t stepChoices[] = {1, 1, 2, -1, -2, 3};
      const int64_t step = stepChoices[in_.pick(0, 5)];
      const int64_t start = in_.pick(0, 7) == 0 ? (step > 0 ? INT64_MIN : INT64_MAX) : in_.pick(-dim - 2, dim + 2);
      const int64_t end = in_.pick(0, 7) == 0 ? (step > 0 ? INT64_MAX : INT64_MIN) : in_.pick(-dim - 2, dim + 2);
      starts.push_back(start), ends.push_back(end), steps.push_back(step);
      axes.push_back(in_.flag() ? static_cast<int64_t>(i) - rank(v) : static_cast<int64_t>(i));
      out[i] = sliceLength(dim, start, end, step);
    }
    if (axes.empty()) return false;
    emit("Slice", "", {v.name, intConstant(starts), intConstant(ends), intConstant(axes), intConstant(steps)}, out);
    return true;
  }

  bool addMatMul(const Value& v) {
    if (v.shape.empty()) return false;
    const int64_t k = v.shape.back(), n = in_.pick(1, 6);
    Shape weight = {k, n};
    // A batched weight broadcasts against v's batch dims.
    if (rank(v) >= 3 && in_.flag()) weight.insert(weight.begin(), in_.flag() ? v.shape[v.shape.size() - 3] : 1);
    Shape out = v.shape;
    if (rank(v) == 1) out = {n};
    else out.back() = n;
    if (weight.size() == 3 && rank(v) >= 3) out[out.size() - 3] = std::max(out[out.size() - 3], weight[0]);
    emit("MatMul", "", {v.name, floatConstant(weight)}, out);
    return true;
  }

  bool addGemm(const Value& v) {
    if (rank(v) != 2) return false;
    const bool transA = in_.flag(), transB = in_.flag();
    const int64_t m = transA ? v.shape[1] : v.shape[0], k = transA ? v.shape[0] : v.shape[1], n = in_.pick(1, 6);
    std::vector<std::string> inputs = {v.name, floatConstant(transB ? Shape{n, k} : Shape{k, n})};
    static const Shape biasShapes[] = {{}, {1}};
    switch (in_.pick(0, 3)) {
      case 0: break;
      case 1: inputs.push_back(floatConstant({n})); break;
      case 2: inputs.push_back(floatConstant({m, n})); break;
      default: inputs.push_back(floatConstant(biasShapes[in_.pick(0, 1)]));
    }
    emit("Gemm", fmt::format("<transA = {}, transB = {}, alpha = {:.2f}, beta = {:.2f}>", transA ? 1 : 0, transB ? 1 : 0,
                             0.5 + 0.25 * static_cast<double>(in_.pick(0, 4)), 0.5 * static_cast<double>(in_.pick(0, 3))),
         inputs, {m, n});
    return true;
  }

  // Conv and ConvTranspose over 1 to 3 spatial dims: groups, strides, dilations, pads.
  bool addConv(const Value& v, bool transpose) {
    if (rank(v) < 3 || rank(v) > 5) return false;
    const int64_t channels = v.shape[1];
    std::vector<int64_t> divisors;
    for (int64_t g = 1; g <= channels; ++g)
      if (channels % g == 0) divisors.push_back(g);
    const int64_t group = divisors[static_cast<size_t>(in_.pick(0, static_cast<int64_t>(divisors.size()) - 1))];
    const int64_t outChannels = group * in_.pick(1, 2);
    std::vector<int64_t> kernel, strides, dilations, padsBegin, padsEnd, outputPadding;
    Shape out = {v.shape[0], outChannels};
    for (size_t i = 2; i < v.shape.size(); ++i) {
      int64_t k = in_.pick(1, 3), s = in_.pick(1, 3), d = in_.pick(1, 2), pb = in_.pick(0, 2), pe = in_.pick(0, 2);
      const int64_t dim = v.shape[i];
      int64_t length;
      if (transpose) {
        const int64_t op = in_.pick(0, s - 1);
        length = s * (dim - 1) + op + (k - 1) * d + 1 - pb - pe;
        if (length < 1) pb = pe = 0, length = s * (dim - 1) + op + (k - 1) * d + 1;
        outputPadding.push_back(op);
      } else {
        if (dim + pb + pe < (k - 1) * d + 1) k = 1, d = 1;
        length = (dim + pb + pe - ((k - 1) * d + 1)) / s + 1;
      }
      kernel.push_back(k), strides.push_back(s), dilations.push_back(d), padsBegin.push_back(pb), padsEnd.push_back(pe);
      out.push_back(length);
    }
    Shape weight = transpose ? Shape{channels, outChannels / group} : Shape{outChannels, channels / group};
    weight.insert(weight.end(), kernel.begin(), kernel.end());
    std::vector<std::string> inputs = {v.name, floatConstant(weight, -1, 1)};
    if (in_.flag()) inputs.push_back(floatConstant({outChannels}));
    std::vector<int64_t> pads = padsBegin;
    pads.insert(pads.end(), padsEnd.begin(), padsEnd.end());
    std::string attributes = fmt::format("<group = {}, kernel_shape = [{}], strides = [{}], dilations = [{}], pads = [{}]",
                                         group, fmt::join(kernel, ", "), fmt::join(strides, ", "),
                                         fmt::join(dilations, ", "), fmt::join(pads, ", "));
    if (transpose) attributes += fmt::format(", output_padding = [{}]", fmt::join(outputPadding, ", "));
    const bool readable = emit(transpose ? "ConvTranspose" : "Conv", attributes + ">", inputs, out);
    // Often an activation follows: the runtime fuses some of these into the Conv.
    if (readable && in_.flag()) addFusableActivation(values_.back());
    return true;
  }

  void addFusableActivation(const Value& v) {
    switch (in_.pick(0, 3)) {
      case 0: emit("Relu", "", {v.name}, v.shape); break;
      case 1: emit("Clip", "", {v.name, floatConstant({}, -1, 0), floatConstant({}, 0, 6)}, v.shape); break;
      case 2: emit("LeakyRelu", "<alpha = 0.1>", {v.name}, v.shape); break;
      default: {
        const Shape partner = broadcastPartner(v.shape);
        emit("Add", "", {v.name, floatConstant(partner)}, *broadcast(v.shape, partner));
      }
    }
  }

  bool addPool(const Value& v) {
    if (rank(v) < 3 || rank(v) > 5) return false;
    const bool isMax = in_.flag();
    std::vector<int64_t> kernel, strides, dilations, pads, padsEnd;
    Shape out = {v.shape[0], v.shape[1]};
    for (size_t i = 2; i < v.shape.size(); ++i) {
      int64_t k = in_.pick(1, 3), s = in_.pick(1, 3), d = isMax ? in_.pick(1, 2) : 1;
      int64_t pb = in_.pick(0, k - 1), pe = in_.pick(0, k - 1);
      if (v.shape[i] + pb + pe < (k - 1) * d + 1) k = 1, d = 1, pb = pe = 0;
      out.push_back((v.shape[i] + pb + pe - ((k - 1) * d + 1)) / s + 1);
      kernel.push_back(k), strides.push_back(s), dilations.push_back(d), pads.push_back(pb), padsEnd.push_back(pe);
    }
    pads.insert(pads.end(), padsEnd.begin(), padsEnd.end());
    std::string attributes = fmt::format("<kernel_shape = [{}], strides = [{}], pads = [{}]", fmt::join(kernel, ", "),
                                         fmt::join(strides, ", "), fmt::join(pads, ", "));
    if (isMax) attributes += fmt::format(", dilations = [{}]>", fmt::join(dilations, ", "));
    else attributes += fmt::format(", count_include_pad = {}>", in_.flag() ? 1 : 0);
    emit(isMax ? "MaxPool" : "AveragePool", attributes, {v.name}, out);
    return true;
  }

  bool addGlobalPool(const Value& v) {
    if (rank(v) < 3) return false;
    Shape out = v.shape;
    std::fill(out.begin() + 2, out.end(), 1);
    emit(in_.flag() ? "GlobalMaxPool" : "GlobalAveragePool", "", {v.name}, out);
    return true;
  }

  bool addPad(const Value& v) {
    if (v.shape.empty()) return false;
    static const char* modes[] = {"constant", "reflect", "edge"};
    const std::string mode = modes[in_.pick(0, 2)];
    std::vector<int64_t> begin, end;
    Shape out = v.shape;
    for (size_t i = 0; i < v.shape.size(); ++i) {
      const int64_t limit = mode == "reflect" ? std::min<int64_t>(2, v.shape[i] - 1) : 2;
      begin.push_back(in_.pick(0, limit)), end.push_back(in_.pick(0, limit));
      out[i] += begin.back() + end.back();
    }
    begin.insert(begin.end(), end.begin(), end.end());
    std::vector<std::string> inputs = {v.name, intConstant(begin)};
    if (mode == "constant" && in_.flag()) inputs.push_back(floatConstant({}));
    emit("Pad", fmt::format("<mode = \"{}\">", mode), inputs, out);
    return true;
  }

  bool addUnsqueezeSqueeze(const Value& v) {
    if (rank(v) >= 5 || in_.flag()) {
      std::vector<int64_t> ones;
      Shape out;
      for (size_t i = 0; i < v.shape.size(); ++i)
        if (v.shape[i] == 1 && in_.flag()) ones.push_back(static_cast<int64_t>(i));
        else out.push_back(v.shape[i]);
      if (ones.empty()) return false;
      emit("Squeeze", "", {v.name, intConstant(ones)}, out);
      return true;
    }
    const int64_t axis = in_.pick(-rank(v) - 1, rank(v));
    Shape out = v.shape;
    out.insert(out.begin() + static_cast<long>(normal(axis, rank(v) + 1)), 1);
    emit("Unsqueeze", "", {v.name, intConstant({axis})}, out);
    return true;
  }

  bool addGather(const Value& v) {
    if (v.shape.empty()) return false;
    const int64_t axis = pickAxis(v), dim = v.shape[normal(axis, rank(v))];
    const bool scalarIndex = in_.flag();
    std::vector<int64_t> indices(scalarIndex ? 1 : static_cast<size_t>(in_.pick(1, 4)));
    for (int64_t& i : indices) i = in_.pick(-dim, dim - 1);
    std::string name = fresh();
    initializers_.push_back(scalarIndex ? fmt::format("int64 {} = {{{}}}", name, indices[0])
                                        : fmt::format("int64[{}] {} = {{{}}}", indices.size(), name, fmt::join(indices, ", ")));
    Shape out(v.shape.begin(), v.shape.begin() + static_cast<long>(normal(axis, rank(v))));
    if (!scalarIndex) out.push_back(static_cast<int64_t>(indices.size()));
    out.insert(out.end(), v.shape.begin() + static_cast<long>(normal(axis, rank(v))) + 1, v.shape.end());
    emit("Gather", fmt::format("<axis = {}>", axis), {v.name, name}, out);
    return true;
  }

  bool addClip(const Value& v) {
    std::vector<std::string> inputs = {v.name};
    switch (in_.pick(0, 3)) {
      case 0: break;
      case 1: inputs.push_back(floatConstant({}, -1, 0)); break;
      case 2: inputs.push_back(""), inputs.push_back(floatConstant({}, 0, 1)); break;
      default: inputs.push_back(floatConstant({}, -1, 0)), inputs.push_back(floatConstant({}, 0, 1));
    }
    emit("Clip", "", inputs, v.shape);
    return true;
  }

  bool addNormalization(const Value& v) {
    if (rank(v) < 2) return false;
    const int64_t channels = v.shape[1];
    switch (in_.pick(0, 2)) {
      case 0:
        emit("BatchNormalization", "<epsilon = 0.001>",
             {v.name, floatConstant({channels}), floatConstant({channels}), floatConstant({channels}),
              floatConstant({channels}, 0.1f, 2.f)},
             v.shape);
        return true;
      case 1: {
        const int64_t axis = pickAxis(v);
        const Shape normalized(v.shape.begin() + static_cast<long>(normal(axis, rank(v))), v.shape.end());
        std::vector<std::string> inputs = {v.name, floatConstant(normalized)};
        if (in_.flag()) inputs.push_back(floatConstant(normalized));
        emit("LayerNormalization", fmt::format("<axis = {}>", axis), inputs, v.shape);
        return true;
      }
      default:
        if (rank(v) < 3) return false;
        emit("InstanceNormalization", "", {v.name, floatConstant({channels}), floatConstant({channels})}, v.shape);
        return true;
    }
  }

  bool addExpandOrTile(const Value& v) {
    if (v.shape.empty()) return false;
    if (in_.flag()) {
      Shape target = v.shape;
      for (int64_t& d : target)
        if (d == 1) d = in_.pick(1, 3);
      if (in_.flag() && target.size() < 5) target.insert(target.begin(), in_.pick(1, 2));
      // The target may also write 1 where v has a larger dim: broadcasting keeps v's.
      std::vector<int64_t> written = target;
      const size_t offset = target.size() - v.shape.size();
      for (size_t i = 0; i < v.shape.size(); ++i)
        if (in_.pick(0, 3) == 0) written[offset + i] = 1, target[offset + i] = v.shape[i];
      emit("Expand", "", {v.name, intConstant(written)}, target);
      return true;
    }
    std::vector<int64_t> repeats(v.shape.size());
    Shape out = v.shape;
    for (size_t i = 0; i < repeats.size(); ++i) repeats[i] = in_.pick(1, 2), out[i] *= repeats[i];
    emit("Tile", "", {v.name, intConstant(repeats)}, out);
    return true;
  }

  bool addWhere(const Value& v) {
    static const char* comparisons[] = {"Greater", "Less", "Equal", "GreaterOrEqual", "LessOrEqual"};
    const std::string condition = fresh();
    const Shape partner = broadcastPartner(v.shape);
    nodes_ += fmt::format("  {} = {}({}, {})\n", condition, comparisons[in_.pick(0, 4)], v.name, floatConstant(partner));
    const Shape conditionShape = *broadcast(v.shape, partner);
    const Shape other = broadcastPartner(v.shape, false);  // widening both could disagree (3 against 2)
    emit("Where", "", {condition, v.name, floatConstant(other)}, *broadcast(conditionShape, v.shape));
    return true;
  }

  bool addCastRoundTrip(const Value& v) {
    static const int types[] = {10, 11, 6, 7, 3, 2, 9, 16};  // float16, double, int32, int64, int8, uint8, bool, bfloat16
    const std::string middle = fresh();
    nodes_ += fmt::format("  {} = Cast<to = {}>({})\n", middle, types[in_.pick(0, 7)], v.name);
    emit("Cast", "<to = 1>", {middle}, v.shape);
    return true;
  }

  bool addQuantizeRoundTrip(const Value& v) {
    const bool perAxis = rank(v) > 0 && in_.flag();
    const int64_t axis = perAxis ? pickAxis(v) : 1;
    const Shape paramShape = perAxis ? Shape{v.shape[normal(axis, rank(v))]} : Shape{};
    const std::string scale = floatConstant(paramShape, 0.01f, 0.2f);
    const bool isSigned = in_.flag();
    std::vector<std::string> zeros;
    for (int64_t i = 0; i < product(paramShape); ++i)
      zeros.push_back(std::to_string(isSigned ? in_.pick(-10, 10) : in_.pick(0, 255)));
    const std::string zero = fresh();
    initializers_.push_back(paramShape.empty()
                                ? fmt::format("{} {} = {{{}}}", isSigned ? "int8" : "uint8", zero, zeros[0])
                                : fmt::format("{}[{}] {} = {{{}}}", isSigned ? "int8" : "uint8", paramShape[0], zero,
                                              fmt::join(zeros, ", ")));
    const std::string quantized = fresh();
    const std::string attributes = perAxis ? fmt::format("<axis = {}>", axis) : "";
    nodes_ += fmt::format("  {} = QuantizeLinear{}({}, {}, {})\n", quantized, attributes, v.name, scale, zero);
    emit("DequantizeLinear", attributes, {quantized, scale, zero}, v.shape);
    return true;
  }

  bool addArgReduce(const Value& v) {
    if (v.shape.empty()) return false;
    const int64_t axis = pickAxis(v);
    const bool keep = in_.flag();
    Shape out = v.shape;
    if (keep) out[normal(axis, rank(v))] = 1;
    else out.erase(out.begin() + static_cast<long>(normal(axis, rank(v))));
    const std::string index = fresh();
    nodes_ += fmt::format("  {} = {}<axis = {}, keepdims = {}, select_last_index = {}>({})\n", index,
                          in_.flag() ? "ArgMax" : "ArgMin", axis, keep ? 1 : 0, in_.flag() ? 1 : 0, v.name);
    emit("Cast", "<to = 1>", {index}, out);
    return true;
  }

  bool addSplit(const Value& v) {
    if (v.shape.empty()) return false;
    const int64_t axis = pickAxis(v), dim = v.shape[normal(axis, rank(v))];
    const int64_t first = in_.pick(0, dim);
    const std::string a = fresh(), b = fresh();
    nodes_ += fmt::format("  {}, {} = Split<axis = {}>({}, {})\n", a, b, axis, v.name, intConstant({first, dim - first}));
    const bool takeFirst = in_.flag();
    Shape out = v.shape;
    out[normal(axis, rank(v))] = takeFirst ? first : dim - first;
    emit("Identity", "", {takeFirst ? a : b}, out);
    return true;
  }

  bool addResize(const Value& v) {
    if (rank(v) < 3) return false;
    static const char* modes[] = {"nearest", "linear", "cubic"};
    static const char* transforms[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"};
    static const float scaleChoices[] = {0.5f, 1.f, 1.5f, 2.f, 3.f};
    const std::string mode = modes[in_.pick(0, rank(v) == 4 ? 2 : 1)];  // cubic: 2-D only
    std::vector<float> scales = {1, 1};
    Shape out = {v.shape[0], v.shape[1]};
    for (size_t i = 2; i < v.shape.size(); ++i) {
      float s = scaleChoices[in_.pick(0, 4)];
      if (std::floor(static_cast<float>(v.shape[i]) * s) < 1) s = 1;
      scales.push_back(s);
      out.push_back(static_cast<int64_t>(std::floor(static_cast<float>(v.shape[i]) * s)));
    }
    const std::string scaleName = fresh();
    initializers_.push_back(fmt::format("float[{}] {} = {{{}}}", scales.size(), scaleName, fmt::join(scales, ", ")));
    emit("Resize",
         fmt::format("<mode = \"{}\", coordinate_transformation_mode = \"{}\">", mode, transforms[in_.pick(0, 3)]),
         {v.name, "", scaleName}, out);
    return true;
  }

  bool addCumSumOrTopK(const Value& v) {
    if (v.shape.empty()) return false;
    const int64_t axis = pickAxis(v);
    if (in_.flag()) {
      emit("CumSum", fmt::format("<exclusive = {}, reverse = {}>", in_.flag() ? 1 : 0, in_.flag() ? 1 : 0),
           {v.name, intConstant({axis})}, v.shape);
      return true;
    }
    const int64_t dim = v.shape[normal(axis, rank(v))], k = in_.pick(1, dim);
    const std::string values = fresh(), indices = fresh();
    nodes_ += fmt::format("  {}, {} = TopK<axis = {}, largest = {}, sorted = 1>({}, {})\n", values, indices, axis,
                          in_.flag() ? 1 : 0, v.name, intConstant({k}));
    Shape out = v.shape;
    out[normal(axis, rank(v))] = k;
    emit("Identity", "", {values}, out);
    return true;
  }

  ByteReader& in_;
  std::mt19937 rng_;
  Value input_;
  std::vector<Value> values_, outputs_;
  std::vector<std::string> initializers_;
  std::string nodes_;
  int counter_ = 0;
};

bool closeEnough(const TensorData& a, const TensorData& b) {
  const auto x = a.span<float>(), y = b.span<float>();
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) {
      if (std::isnan(x[i]) != std::isnan(y[i])) return false;
      continue;
    }
    if (x[i] == y[i]) continue;  // equal infinities included
    if (!(std::abs(x[i] - y[i]) <= 1e-4f * std::max({1.f, std::abs(x[i]), std::abs(y[i])}))) return false;
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  if (size < 4) return 0;
  uint32_t seed;
  std::memcpy(&seed, data, 4);
  ByteReader in(data + 4, size - 4);
  GraphGenerator generator(in, seed);
  generator.generate();
  const std::string text = generator.text();
  if (std::getenv("ONNXPRESS_FUZZ_PRINT")) std::fputs(text.c_str(), stderr);  // to see what an input builds

  onnx::ModelProto proto;
  if (auto parsed = onnx::OnnxParser::Parse(proto, text.c_str()); !parsed.IsOK())
    fail("the generator wrote a graph onnx's parser refuses: " + parsed.ErrorMessage(), text);
  auto model = modelFromProto(proto, ".", "fuzz");
  if (!model) fail("the IR refused a generated graph: " + model.status().message(), text);

  std::uniform_real_distribution<float> uniform(-3, 3);
  std::vector<float> values(static_cast<size_t>(product(generator.input().shape)));
  for (float& x : values) x = uniform(generator.rng());
  const std::map<std::string, TensorData> inputs = {
      {"X", TensorData::fromVector(DataType::Float, generator.input().shape, values)}};

  auto fused = Executor::create(*model, {.threads = 1});
  if (!fused) fail("the runtime cannot prepare a valid graph: " + fused.status().message(), text);
  auto first = (*fused)->run(inputs);
  if (!first) fail("the runtime cannot run a valid graph: " + first.status().message(), text);
  for (size_t i = 0; i < first->size(); ++i)
    if ((*first)[i].shape() != generator.outputs()[i].shape)
      fail(fmt::format("output {} has shape [{}], the spec gives [{}]", generator.outputs()[i].name,
                       fmt::join((*first)[i].shape(), ","), fmt::join(generator.outputs()[i].shape, ",")),
           text);
  auto second = (*fused)->run(inputs);
  if (!second) fail("the second run failed: " + second.status().message(), text);
  for (size_t i = 0; i < first->size(); ++i)
    if ((*first)[i].byteSize() != (*second)[i].byteSize() ||
        std::memcmp((*first)[i].raw(), (*second)[i].raw(), (*first)[i].byteSize()) != 0)
      fail("two runs of the same graph and input differ in output " + generator.outputs()[i].name, text);

  auto unfused = Executor::create(*model, {.threads = 1, .keepIntermediates = true});
  if (!unfused) fail("the runtime cannot prepare the unfused plan: " + unfused.status().message(), text);
  auto reference = (*unfused)->run(inputs);
  if (!reference) fail("the unfused plan cannot run: " + reference.status().message(), text);
  for (size_t i = 0; i < first->size(); ++i)
    if (!closeEnough((*first)[i], (*reference)[i]))
      fail("the fused and unfused plans disagree on output " + generator.outputs()[i].name, text);
  return 0;
}
