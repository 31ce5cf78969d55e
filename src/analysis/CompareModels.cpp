#include "onnxpress/analysis/CompareModels.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/runtime/Executor.h"

namespace onnxpress {
using runtime::TensorData;

namespace {

// A value computed at run time from the inputs (not a weight made by a Constant node).

std::string dtypeText(const Value* v) { return std::string(dataTypeName(v->type().elemType)); }

bool dtypesConflict(const Value* a, const Value* b) {
  const DataType x = a->type().elemType, y = b->type().elemType;
  return x != DataType::Undefined && y != DataType::Undefined && x != y;
}

// A row for tensor `v`, named after it and its producer.
TensorComparison rowFor(const Value* v) {
  TensorComparison row;
  row.name = v->name();
  if (v->producer()) {
    row.node = v->producer()->describe();
    row.op = v->producer()->opType();
  }
  return row;
}

// Per-layer bookkeeping for one model pair: which of A's tensors are compared,
// and their accumulators.
struct LayerTable {
  std::vector<TensorComparison> rows;
  std::vector<ErrorAccumulator> accumulators;
  std::unordered_map<std::string, size_t> rowOf;  // tensor name -> row
};

// Every graph of a model with the prefix that qualifies its tensors: "" for the main
// graph, "<node>/<attribute>/" for an If/Loop/Scan body (nested bodies chain).
std::vector<std::pair<const Graph*, std::string>> graphsWithPrefixes(const Graph& main) {
  std::vector<std::pair<const Graph*, std::string>> out = {{&main, ""}};
  for (size_t i = 0; i < out.size(); ++i) {
    const auto [graph, prefix] = out[i];
    for (const Node* n : graph->nodes())
      for (const Attribute& a : n->attributes())
        for (size_t k = 0; k < a.graphs.size(); ++k)
          out.emplace_back(a.graphs[k].get(),
                           fmt::format("{}{}/{}{}/", prefix, n->name().empty() ? n->opType() : n->name(), a.name,
                                       a.graphs.size() > 1 ? fmt::format("[{}]", k) : ""));
  }
  return out;
}

std::unordered_map<const Graph*, std::string> prefixMap(const Graph& main) {
  std::unordered_map<const Graph*, std::string> map;
  for (const auto& [g, prefix] : graphsWithPrefixes(main)) map[g] = prefix;
  return map;
}

Expected<LayerTable> sharedTensors(const Graph& a, const Graph& b, const CompareOptions& options) {
  std::unordered_set<std::string> producedByB;
  for (const auto& [g, prefix] : graphsWithPrefixes(b))
    for (const Node* n : g->nodes())
      for (const Value* out : n->outputs())
        if (out && isActivation(out)) producedByB.insert(prefix + out->name());
  LayerTable table;
  for (const auto& [g, prefix] : graphsWithPrefixes(a)) {
    ASSIGN_OR_RETURN(std::vector<Node*> order, g->topologicalOrder());
    for (const Node* n : order)
      for (const Value* out : n->outputs()) {
        if (!out || !isActivation(out) || !producedByB.count(prefix + out->name())) continue;
        table.rowOf[prefix + out->name()] = table.rows.size();
        table.rows.push_back(rowFor(out));
        table.rows.back().name = prefix + out->name();
        table.accumulators.emplace_back(options.atol, options.rtol);
      }
  }
  return table;
}

}  // namespace

bool ModelComparison::outputsAllClose() const {
  return std::all_of(outputs.begin(), outputs.end(), [](const TensorComparison& t) { return t.stats.allClose; });
}

Status checkSameInterface(const Graph& a, const Graph& b, const std::string& labelA, const std::string& labelB) {
  const auto inputsA = feedableInputs(a), inputsB = feedableInputs(b);
  for (const Value* in : inputsA) {
    auto it = std::find_if(inputsB.begin(), inputsB.end(), [&](const Value* v) { return v->name() == in->name(); });
    if (it == inputsB.end()) return invalidInput("input '{}' of {} is not an input of {}", in->name(), labelA, labelB);
    if (dtypesConflict(in, *it))
      return invalidInput("input '{}' is {} in {} but {} in {}", in->name(), dtypeText(in), labelA, dtypeText(*it), labelB);
  }
  for (const Value* in : inputsB)
    if (std::none_of(inputsA.begin(), inputsA.end(), [&](const Value* v) { return v->name() == in->name(); }))
      return invalidInput("input '{}' of {} is not an input of {}", in->name(), labelB, labelA);
  const auto& outA = a.outputs();
  const auto& outB = b.outputs();
  for (size_t i = 0; i < std::max(outA.size(), outB.size()); ++i) {
    if (i >= outB.size()) return invalidInput("output '{}' of {} is missing from {}", outA[i]->name(), labelA, labelB);
    if (i >= outA.size()) return invalidInput("output '{}' of {} is missing from {}", outB[i]->name(), labelB, labelA);
    if (outA[i]->name() != outB[i]->name())
      return invalidInput("output {} is '{}' in {} but '{}' in {}", i, outA[i]->name(), labelA, outB[i]->name(), labelB);
    if (dtypesConflict(outA[i], outB[i]))
      return invalidInput("output '{}' is {} in {} but {} in {}", outA[i]->name(), dtypeText(outA[i]), labelA,
                          dtypeText(outB[i]), labelB);
  }
  return Status::ok();
}

Expected<ModelComparison> compareModels(const Model& a, const Model& b, Dataset& data, const CompareOptions& options) {
  RETURN_IF_ERROR(checkSameInterface(a.graph(), b.graph(), options.labelA, options.labelB));
  RETURN_IF_ERROR(data.validateFor(a.graph()));
  RETURN_IF_ERROR(data.validateFor(b.graph()));
  runtime::ExecutorOptions execOptions;
  execOptions.threads = options.threads;
  ASSIGN_OR_RETURN(auto execA, runtime::Executor::create(a, execOptions));
  ASSIGN_OR_RETURN(auto execB, runtime::Executor::create(b, execOptions));

  LayerTable layers;
  if (options.perLayer) {
    ASSIGN_OR_RETURN(layers, sharedTensors(a.graph(), b.graph(), options));
  }
  std::vector<ErrorAccumulator> outputAcc(a.graph().outputs().size(), ErrorAccumulator(options.atol, options.rtol));
  ErrorAccumulator overall(options.atol, options.rtol);

  // B's shared tensors of the current sample, waiting for A's twin.
  std::unordered_map<std::string, TensorData> pending;
  // Bodies run once per If/Loop iteration: a tensor's last value of the sample is compared.
  const auto prefixesA = prefixMap(a.graph()), prefixesB = prefixMap(b.graph());
  auto qualified = [](const std::unordered_map<const Graph*, std::string>& prefixes, const Node& node, size_t j) {
    auto it = prefixes.find(node.graph());
    return it == prefixes.end() ? std::string() : it->second + node.output(j)->name();
  };
  runtime::TensorObserver observeB = [&](const Node& node, size_t j, const TensorData& t) {
    const std::string name = qualified(prefixesB, node, j);
    if (!name.empty() && layers.rowOf.count(name)) pending[name] = t;  // shares storage, no copy
  };
  runtime::TensorObserver observeA = [&](const Node& node, size_t j, const TensorData& t) {
    const std::string name = qualified(prefixesA, node, j);
    if (name.empty()) return;
    auto row = layers.rowOf.find(name);
    auto twin = row == layers.rowOf.end() ? pending.end() : pending.find(row->first);
    if (twin == pending.end()) return;
    TensorComparison& cmp = layers.rows[row->second];
    if (cmp.notComparable.empty()) {
      Status s = layers.accumulators[row->second].add(t, twin->second);
      if (!s.isOk()) cmp.notComparable = s.message();
    }
    pending.erase(twin);
  };

  const int64_t samples = options.samples > 0 ? std::min(options.samples, data.size()) : data.size();
  for (int64_t s = 0; s < samples; ++s) {
    ASSIGN_OR_RETURN(InputFeed feed, datasetFeed(data, s));
    pending.clear();
    ASSIGN_OR_RETURN(auto outB, execB->run(feed, options.perLayer ? observeB : runtime::TensorObserver()));
    ASSIGN_OR_RETURN(auto outA, execA->run(feed, options.perLayer ? observeA : runtime::TensorObserver()));
    for (size_t o = 0; o < outputAcc.size(); ++o) {
      Status added = outputAcc[o].add(outA[o], outB[o]);
      if (!added.isOk())
        return invalidInput("{}: sample {}: output '{}' of {} and {} cannot be compared: {}", data.path(), s,
                            a.graph().outputs()[o]->name(), options.labelA, options.labelB, added.message());
      outputAcc[o].countSample();
      RETURN_IF_ERROR(overall.add(outA[o], outB[o]));
    }
    overall.countSample();
    for (auto& acc : layers.accumulators) acc.countSample();
    if (options.onOutputs) RETURN_IF_ERROR(options.onOutputs(s, outA, outB));
    if (options.onSample) options.onSample();
  }

  ModelComparison result;
  result.samples = samples;
  for (size_t o = 0; o < outputAcc.size(); ++o) {
    result.outputs.push_back(rowFor(a.graph().outputs()[o]));
    result.outputs.back().stats = outputAcc[o].result();
  }
  result.overall = overall.result();
  for (size_t i = 0; i < layers.rows.size(); ++i) layers.rows[i].stats = layers.accumulators[i].result();
  result.layers = std::move(layers.rows);
  if (options.perLayer)
    result.firstDivergence =
        markDivergence(a.graph(), result.layers, options.divergenceDropDb, options.divergenceFloorDb);
  return result;
}

std::optional<size_t> markDivergence(const Graph& a, std::vector<TensorComparison>& layers, double dropDb,
                                     double floorDb) {
  std::unordered_map<std::string, double> snrOf;  // compared tensors, capped SNR
  for (TensorComparison& t : layers) {
    t.snrDb = std::min(t.stats.fidelity.snrDb, kSnrCeilingDb);
    if (t.notComparable.empty()) snrOf[t.name] = t.snrDb;
  }
  std::optional<size_t> first;
  for (size_t i = 0; i < layers.size(); ++i) {
    TensorComparison& t = layers[i];
    t.inputSnrDb = kSnrCeilingDb;
    t.diverges = false;
    const Value* v = a.findValue(t.name);
    if (v && v->producer())
      for (const Value* in : v->producer()->inputs()) {
        auto it = in ? snrOf.find(in->name()) : snrOf.end();
        if (it != snrOf.end()) t.inputSnrDb = std::min(t.inputSnrDb, it->second);
      }
    if (!t.notComparable.empty()) continue;
    t.diverges = t.inputSnrDb - t.snrDb > dropDb || t.snrDb < floorDb;
    if (t.diverges && !first) first = i;
  }
  return first;
}

}  // namespace onnxpress
