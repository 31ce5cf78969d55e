#include "onnxpress/analysis/InputFeed.h"

#include <random>

namespace onnxpress {
using runtime::TensorData;

namespace {

std::string inputList(const Graph& graph) {
  std::string list;
  for (const Value* in : feedableInputs(graph)) list += (list.empty() ? "" : ", ") + in->name();
  return list;
}

// Whether `dims` fits the declared shape of `in` (rank, and every fixed dim).
bool fitsDeclared(const Value& in, const std::vector<int64_t>& dims) {
  const Type& t = in.type();
  if (!t.isTensor() || !t.hasShape) return true;
  if (t.dims.size() != dims.size()) return false;
  for (size_t i = 0; i < dims.size(); ++i)
    if (t.dims[i].isFixed() && t.dims[i].value != dims[i]) return false;
  return true;
}

Expected<std::vector<int64_t>> randomShape(const Value& in, const InputShapes& shapes) {
  const Type& t = in.type();
  if (auto it = shapes.find(in.name()); it != shapes.end()) {
    if (!fitsDeclared(in, it->second))
      return usageError("--shape {}={}: the model declares input '{}' as {}", in.name(),
                        runtime::shapeToString(it->second), in.name(), t.toString());
    return it->second;
  }
  if (!t.hasShape) return usageError("input '{}' has unknown rank; give --shape {}=...", in.name(), in.name());
  std::vector<int64_t> dims;
  for (size_t i = 0; i < t.dims.size(); ++i) {
    if (!t.dims[i].isFixed())
      return usageError("input '{}' dim {} is symbolic ('{}'); give --shape {}=...", in.name(), i,
                        t.dims[i].toString(), in.name());
    dims.push_back(t.dims[i].value);
  }
  return dims;
}

template <typename T, typename Draw>
void fill(TensorData& t, Draw draw) {
  for (T& x : t.mutableSpan<T>()) x = static_cast<T>(draw());
}

}  // namespace

Expected<InputShapes> parseInputShapes(const std::vector<std::string>& specs) {
  InputShapes out;
  for (const auto& spec : specs) {
    const size_t eq = spec.rfind('=');
    if (eq == std::string::npos || eq == 0) return usageError("--shape expects NAME=D0xD1x..., got '{}'", spec);
    const std::string dimsText = spec.substr(eq + 1);
    std::vector<int64_t> dims;
    size_t start = 0;
    for (;;) {
      const size_t sep = dimsText.find_first_of("x,", start);
      const std::string item = dimsText.substr(start, sep == std::string::npos ? std::string::npos : sep - start);
      size_t used = 0;
      int64_t d = -1;
      try {
        d = std::stoll(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (item.empty() || used != item.size() || d < 0)
        return usageError("--shape '{}': dims must be non-negative integers separated by 'x' or ','", spec);
      dims.push_back(d);
      if (sep == std::string::npos) break;
      start = sep + 1;
    }
    out[spec.substr(0, eq)] = std::move(dims);
  }
  return out;
}

std::vector<const Value*> feedableInputs(const Graph& graph) {
  std::vector<const Value*> out;
  for (const Value* in : graph.inputs())
    if (!in->initializer() && !in->sparseInitializer()) out.push_back(in);
  return out;
}

Expected<InputFeed> datasetFeed(Dataset& data, int64_t index) {
  InputFeed feed;
  for (const auto& [name, spec] : data.arrays()) {
    ASSIGN_OR_RETURN(Tensor t, data.sample(name, index));
    feed[name] = TensorData::copyOf(t);
  }
  return feed;
}

Expected<InputFeed> randomFeed(const Graph& graph, const InputShapes& shapes, uint32_t seed) {
  for (const auto& [name, dims] : shapes) {
    const Value* v = graph.findValue(name);
    if (!v || !v->isGraphInput() || v->initializer())
      return usageError("--shape {}: the model has no input '{}' (inputs: {})", name, name, inputList(graph));
  }
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.f, 1.f);
  auto bit = [&] { return rng() % 2; };
  InputFeed feed;
  for (const Value* in : feedableInputs(graph)) {
    const Type& t = in->type();
    if (!t.isTensor()) return usageError("input '{}' is not a tensor; give --data for it", in->name());
    ASSIGN_OR_RETURN(std::vector<int64_t> dims, randomShape(*in, shapes));
    TensorData data = TensorData::allocate(t.elemType, dims);
    switch (t.elemType) {
      case DataType::Float: fill<float>(data, [&] { return real(rng); }); break;
      case DataType::Double: fill<double>(data, [&] { return real(rng); }); break;
      case DataType::Int64: fill<int64_t>(data, bit); break;
      case DataType::Int32: fill<int32_t>(data, bit); break;
      case DataType::Bool:
      case DataType::UInt8:
      case DataType::Int8: fill<uint8_t>(data, bit); break;
      default:
        return usageError("input '{}' has dtype {}; random inputs cover float32/float64/int64/int32/int8/uint8/bool, "
                          "give --data for it",
                          in->name(), dataTypeName(t.elemType));
    }
    feed[in->name()] = std::move(data);
  }
  return feed;
}

InputShapes shapesOf(const InputFeed& feed) {
  InputShapes out;
  for (const auto& [name, t] : feed) out[name] = t.shape();
  return out;
}

Status bindInputShapes(Graph& graph, const InputShapes& shapes) {
  for (const auto& [name, dims] : shapes) {
    Value* v = graph.findValue(name);
    if (!v || !v->isGraphInput()) return invalidInput("the model has no input '{}' (inputs: {})", name, inputList(graph));
    Type& t = v->mutableType();
    if (!t.isTensor()) continue;
    if (!fitsDeclared(*v, dims))
      return invalidInput("input '{}' is declared {} but is fed {}", name, t.toString(), runtime::shapeToString(dims));
    t.hasShape = true;
    t.dims.clear();
    for (int64_t d : dims) t.dims.push_back(Dim::fixed(d));
  }
  return Status::ok();
}

}  // namespace onnxpress
