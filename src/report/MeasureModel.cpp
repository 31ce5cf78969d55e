#include "onnxpress/report/MeasureModel.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <set>

#include "onnxpress/analysis/Macs.h"
#include "onnxpress/analysis/ModelSummary.h"
#include "onnxpress/analysis/Profile.h"
#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/report/ZstdSize.h"

namespace onnxpress {
namespace {
namespace fs = std::filesystem;

int64_t filesBytes(const std::vector<std::string>& files) {
  int64_t total = 0;
  for (const std::string& file : files) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (!ec) total += static_cast<int64_t>(size);
  }
  return total;
}

std::vector<LayerFigures> layerFigures(const Graph& graph) {
  std::vector<LayerFigures> layers;
  auto order = graph.topologicalOrder();
  if (!order) return layers;
  for (const Node* node : *order) {
    LayerFigures layer;
    for (const Value* in : node->inputs()) {
      const Tensor* t = constantTensor(in);
      if (!t) continue;
      layer.parameters += t->numElements();
      layer.nonzero += nonzeroElements(*t);
      layer.bytes += static_cast<int64_t>(t->byteSize());
    }
    layer.macs = nodeMacs(*node).value_or(0);
    if (layer.parameters == 0 && layer.macs == 0) continue;
    layer.tensor = node->output(0) ? node->output(0)->name() : "";
    layer.name = node->name().empty() ? layer.tensor : node->name();
    layer.op = qualifiedOpType(*node);
    layers.push_back(std::move(layer));
  }
  return layers;
}

}  // namespace

Expected<MeasuredModel> measureModel(const Model& model, const std::vector<std::string>& files,
                                     const MeasureOptions& options) {
  const std::string& path = files.front();
  MeasuredModel measured;
  Model copy = model.clone();
  (void)inferShapes(copy);
  const ModelSummary summary = summarizeModel(copy);
  ModelFigures& f = measured.figures;
  f.fileBytes = filesBytes(files);
  f.zstdBytes = 0;
  for (const std::string& file : files) {
    if (!fs::exists(file)) continue;  // an external data file saveModel found nothing to put in
    ASSIGN_OR_RETURN(int64_t compressed, zstdCompressedSize(file));
    f.zstdBytes += compressed;
  }
  f.parameters = summary.parameterCount;
  f.nonzeroParameters = summary.nonzeroParameterCount;
  f.parameterBytes = summary.parameterBytes;
  f.nodes = summary.nodeCount + summary.subgraphNodeCount;
  if (options.feed && options.iterations > 0) {  // iterations 0: latency not asked for
    ProfileOptions profileOptions;
    profileOptions.iterations = options.iterations;
    profileOptions.threads = options.threads;
    auto profile = profileModel(copy, *options.feed, profileOptions);
    if (profile) {
      f.latency = Latency{profile->medianLatencySeconds * 1e3, profile->p90LatencySeconds * 1e3, profile->iterations};
      f.peakActivationBytes = profile->peak.bytes;
    } else {  // e.g. a dead branch that cannot run: the other figures still stand
      spdlog::warn("{}: latency and peak memory not measured: {}", path, profile.status().message());
    }
  }
  // After profiling, symbolic dims carry the fed sizes, so MACs count every layer.
  f.macs = countMacs(copy.graph()).macs;
  f.energy = estimateEnergy(copy);
  measured.layers = layerFigures(copy.graph());
  return measured;
}

std::vector<LayerRow> layerTable(const MeasuredModel& before, const MeasuredModel& after,
                                 const std::vector<TensorComparison>& perTensor) {
  // Matched by output tensor (a rewrite keeps it), else by node name.
  std::map<std::string, const LayerFigures*> afterByTensor, afterByName;
  for (const LayerFigures& l : after.layers) {
    afterByTensor.emplace(l.tensor, &l);
    afterByName.emplace(l.name, &l);
  }
  std::set<const LayerFigures*> matched;
  std::map<std::string, const TensorComparison*> errorByTensor;
  for (const TensorComparison& c : perTensor)
    if (c.notComparable.empty()) errorByTensor.emplace(c.name, &c);
  std::vector<LayerRow> rows;
  auto addError = [&](LayerRow& row, const std::string& tensor) {
    if (auto it = errorByTensor.find(tensor); it != errorByTensor.end()) {
      row.snrDb = it->second->stats.fidelity.snrDb;
      row.cosine = it->second->stats.fidelity.cosine;
    }
  };
  for (const LayerFigures& b : before.layers) {
    LayerRow row{b.name, b.op, b.parameters, 0, 0, b.bytes, 0, b.macs, 0, std::nullopt, std::nullopt};
    auto byTensor = afterByTensor.find(b.tensor);
    auto byName = afterByName.find(b.name);
    const LayerFigures* a = byTensor != afterByTensor.end() ? byTensor->second
                            : byName != afterByName.end()   ? byName->second
                                                            : nullptr;
    if (a && !matched.count(a)) {
      row.parametersAfter = a->parameters;
      row.nonzeroAfter = a->nonzero;
      row.bytesAfter = a->bytes;
      row.macsAfter = a->macs;
      addError(row, a->tensor);
      matched.insert(a);
    }
    rows.push_back(std::move(row));
  }
  for (const LayerFigures& a : after.layers) {
    if (matched.count(&a)) continue;
    LayerRow row{a.name, a.op, 0, a.parameters, a.nonzero, 0, a.bytes, 0, a.macs, std::nullopt, std::nullopt};
    addError(row, a.tensor);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace onnxpress
