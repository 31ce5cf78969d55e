// reportToJson: schema "onnxpress.report" v1, field by field as in docs/report.md.
// A figure that was not measured is null, never 0.
#include <optional>

#include "onnxpress/report/ReportFormats.h"
#include "onnxpress/report/ReportTables.h"

namespace onnxpress {
namespace {

using nlohmann::json;

template <typename T, typename ToJson>
json orNull(const std::optional<T>& value, ToJson toJson) {
  return value ? toJson(*value) : json(nullptr);
}

json numberOrNull(std::optional<double> value) {
  return orNull(value, [](double v) { return json(v); });
}

json countOrNull(int64_t value) { return value >= 0 ? json(value) : json(nullptr); }

json latencyToJson(const Latency& l) {
  return {{"median_ms", l.medianMs}, {"p90_ms", l.p90Ms}, {"iterations", l.iterations}};
}

json energyToJson(const EnergyEstimate& e) {
  json macs = json::object();
  for (size_t c = 0; c < kMacClasses; ++c) macs[std::string(macClassName(static_cast<MacClass>(c)))] = e.counts.macs[c];
  return {{"estimate", true},
          {"source", std::string(kEnergySource)},
          {"total_pj", e.totalPj()},
          {"compute_pj", e.computePj},
          {"weight_dram_pj", e.weightPj},
          {"activation_sram_pj", e.activationPj},
          {"macs_by_class", macs},
          {"weight_bytes", e.counts.weightBytes},
          {"activation_bytes", e.counts.activationBytes},
          {"unknown_nodes", e.counts.unknownNodes}};
}

json figuresToJson(const ModelFigures& f) {
  return {{"file_bytes", f.fileBytes},
          {"zstd_bytes", f.zstdBytes},
          {"parameters", f.parameters},
          {"nonzero_parameters", f.nonzeroParameters},
          {"parameter_bytes", f.parameterBytes},
          {"nodes", f.nodes},
          {"macs", f.macs},
          {"peak_activation_bytes", orNull(f.peakActivationBytes, [](int64_t v) { return json(v); })},
          {"latency", {{"builtin", orNull(f.latency, latencyToJson)}, {"onnxruntime", orNull(f.ortLatency, latencyToJson)}}},
          {"energy", orNull(f.energy, energyToJson)}};
}

/// Every cost figure as before / after (> 1: smaller or faster), null when not measured on both sides.
json ratiosToJson(const ModelFigures& b, const ModelFigures& a) {
  auto ratio = [](std::optional<double> before, std::optional<double> after) {
    return numberOrNull(reductionRatio(before, after));
  };
  auto d = [](int64_t v) { return std::optional<double>(static_cast<double>(v)); };
  auto peak = [](const ModelFigures& f) {
    return f.peakActivationBytes ? std::optional<double>(static_cast<double>(*f.peakActivationBytes)) : std::nullopt;
  };
  auto median = [](const std::optional<Latency>& l) { return l ? std::optional(l->medianMs) : std::nullopt; };
  auto p90 = [](const std::optional<Latency>& l) { return l ? std::optional(l->p90Ms) : std::nullopt; };
  auto energy = [](const ModelFigures& f) { return f.energy ? std::optional(f.energy->totalPj()) : std::nullopt; };
  return {{"file_bytes", ratio(d(b.fileBytes), d(a.fileBytes))},
          {"zstd_bytes", ratio(d(b.zstdBytes), d(a.zstdBytes))},
          {"parameters", ratio(d(b.parameters), d(a.parameters))},
          {"nonzero_parameters", ratio(d(b.nonzeroParameters), d(a.nonzeroParameters))},
          {"parameter_bytes", ratio(d(b.parameterBytes), d(a.parameterBytes))},
          {"nodes", ratio(d(b.nodes), d(a.nodes))},
          {"macs", ratio(d(b.macs), d(a.macs))},
          {"peak_activation_bytes", ratio(peak(b), peak(a))},
          {"latency_median_ms", ratio(median(b.latency), median(a.latency))},
          {"latency_p90_ms", ratio(p90(b.latency), p90(a.latency))},
          {"ort_latency_median_ms", ratio(median(b.ortLatency), median(a.ortLatency))},
          {"ort_latency_p90_ms", ratio(p90(b.ortLatency), p90(a.ortLatency))},
          {"energy_pj", ratio(energy(b), energy(a))}};
}

json qualityToJson(const Quality& q) {
  json accuracy = nullptr;
  if (q.accuracyBefore || q.accuracyAfter) {
    std::optional<double> drop;
    if (q.accuracyBefore && q.accuracyAfter) drop = *q.accuracyBefore - *q.accuracyAfter;
    accuracy = {{"samples", q.accuracySamples},
                {"before", numberOrNull(q.accuracyBefore)},
                {"after", numberOrNull(q.accuracyAfter)},
                {"drop", numberOrNull(drop)}};
  }
  return {{"data", q.dataPath.empty() ? json(nullptr) : json(q.dataPath)},
          {"accuracy", accuracy},
          {"fidelity", orNull(q.fidelity, fidelityToJson)}};
}

json layerToJson(const LayerRow& l) {
  return {{"name", l.name},
          {"op_type", l.opType},
          {"parameters_before", l.parametersBefore},
          {"parameters_after", l.parametersAfter},
          {"nonzero_after", l.nonzeroAfter},
          {"bytes_before", l.bytesBefore},
          {"bytes_after", l.bytesAfter},
          {"macs_before", l.macsBefore},
          {"macs_after", l.macsAfter},
          {"snr_db", numberOrNull(l.snrDb)},
          {"cosine", numberOrNull(l.cosine)}};
}

json quantizedTensorToJson(const QuantizedTensorInfo& q) {
  json entry = {{"tensor", q.tensor},       {"role", q.role},   {"dtype", q.dtype},
                {"axis", q.axis},           {"block_size", q.blockSize}, {"count", q.count},
                {"scale", q.scale},         {"zero_point", q.zeroPoint}};
  if (q.rangeMin) entry["range"] = {*q.rangeMin, *q.rangeMax};
  entry["sqnr_db"] = numberOrNull(q.sqnrDb);
  return entry;
}

json gateToJson(const Gate& g) {
  json entry = {{"name", g.name}, {"threshold", g.threshold}, {"measured", g.measured}, {"unit", g.unit},
                {"passed", g.passed}};
  if (!g.note.empty()) entry["note"] = g.note;
  return entry;
}

json latencyComparisonToJson(const LatencyComparison& c) {
  return {{"ratio", c.ratio}, {"ratio_low", c.low}, {"ratio_high", c.high}, {"rounds", c.rounds},
          {"runs_per_model", c.runsPerModel}, {"within_noise", c.withinNoise}};
}

}  // namespace

json fidelityToJson(const Fidelity& f) {
  return {{"samples", f.samples}, {"max_abs", f.maxAbs}, {"mean_abs", f.meanAbs}, {"cosine", f.cosine},
          {"snr_db", f.snrDb}};
}

json passRecordToJson(const PassEntry& r) {
  json stats = json::object();
  for (const auto& [key, value] : r.statistics) stats[key] = value;
  json entry = {{"pass", r.pass},         {"options", r.options},
                {"changed", r.changed},   {"statistics", stats},
                {"seconds", r.seconds},   {"parameters", countOrNull(r.parameters)},
                {"macs", countOrNull(r.macs)}};
  if (r.fidelity) entry["fidelity"] = fidelityToJson(*r.fidelity);
  if (r.accuracy) entry["accuracy"] = *r.accuracy;
  for (const TrainingRecord* t : recordsOf<TrainingRecord>(r.records)) {
    const train::TrainingSummary& s = t->summary;
    json curve = json::array();
    for (const auto& [step, loss] : lossCurve(s)) curve.push_back(loss);
    entry["training"] = {{"teacher", t->teacher.empty() ? json(nullptr) : json(t->teacher)},
                         {"loss", t->loss},
                         {"steps", s.steps},
                         {"epochs", s.epochs},
                         {"batch", s.batchSize},
                         {"learning_rate", s.learningRate},
                         {"train_samples", s.trainSamples},
                         {"validation_samples", s.validationSamples},
                         {"samples_seen", s.samplesSeen},
                         {"tensors", s.trainedTensors},
                         {"parameters", s.trainedParameters},
                         {"sparse_tensors_kept_sparse", s.maskedTensors},
                         {"seconds", s.seconds},
                         {"loss_curve", curve},
                         {"loss_curve_steps_per_point", s.stepLoss.empty() ? 0 : (s.stepLoss.size() + 99) / 100},
                         {"initial_validation_loss", s.validationSamples ? json(s.initialValidationLoss) : json(nullptr)},
                         {"validation_loss", s.validationLoss},
                         {"best_epoch", s.bestEpoch},
                         {"stop_reason", s.stopReason}};
  }
  if (const auto quantized = recordsOf<QuantizedTensorInfo>(r.records); !quantized.empty()) {
    json tensors = json::array();
    for (const QuantizedTensorInfo* q : quantized) tensors.push_back(quantizedTensorToJson(*q));
    entry["quantized"] = tensors;
  }
  for (const QuantizationPlan* plan : recordsOf<QuantizationPlan>(r.records)) {
    json layers = json::array();
    for (const LayerFallback& l : plan->layers)
      layers.push_back({{"node", l.node}, {"op", l.op}, {"alone_snr_db", l.aloneSnrDb}, {"kept_float", l.keptFloat}});
    entry["quantization_plan"] = {{"target", plan->target},          {"fidelity_before", plan->fidelityBefore},
                                  {"fidelity_after", plan->fidelityAfter}, {"met", plan->met},
                                  {"tries", plan->tries},            {"exclude_nodes", plan->excludeNodes},
                                  {"layers", layers}};
  }
  return entry;
}

json deployabilityToJson(const Deployability& d) {
  json findings = json::array(), budgets = json::array();
  for (const DeployabilityFinding& f : d.findings)
    findings.push_back({{"severity", f.severity}, {"rule", f.rule}, {"message", f.message}, {"count", f.count},
                        {"nodes", f.nodes}});
  for (const BudgetCheck& b : d.budgets)
    budgets.push_back({{"name", b.name}, {"limit", b.limit}, {"measured", b.measured ? json(*b.measured) : json(nullptr)},
                       {"holds", b.measured ? json(b.holds()) : json(nullptr)}});
  return {{"target", d.target}, {"deployable", d.deployable()}, {"errors", d.errors()}, {"warnings", d.warnings()},
          {"findings", findings}, {"budgets", budgets}};
}

json reportToJson(const CompressionReport& r) {
  json passes = json::array(), layers = json::array(), gates = json::array();
  for (const PassEntry& p : r.passes) passes.push_back(passRecordToJson(p));
  for (const LayerRow& l : r.layers) layers.push_back(layerToJson(l));
  for (const Gate& g : r.gates) gates.push_back(gateToJson(g));
  return {{"schema", kReportSchema},
          {"schema_version", kReportSchemaVersion},
          {"tool", {{"name", "onnxpress"}, {"version", r.toolVersion}}},
          {"input", r.inputPath},
          {"output", r.outputPath},
          {"pipeline", r.pipeline},
          {"passes", passes},
          {"before", figuresToJson(r.before)},
          {"after", figuresToJson(r.after)},
          {"ratios", ratiosToJson(r.before, r.after)},
          {"quality", qualityToJson(r.quality)},
          {"layers", layers},
          {"layers_data", r.layerDataPath.empty() ? json(nullptr) : json(r.layerDataPath)},
          {"gates", gates},
          {"latency_comparison", orNull(r.latencyComparison, latencyComparisonToJson)},
          {"deployability", orNull(r.deployability, deployabilityToJson)},
          {"gates_passed", r.gatesPassed()}};
}

}  // namespace onnxpress
