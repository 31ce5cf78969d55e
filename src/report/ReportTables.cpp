#include "onnxpress/report/ReportTables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>

#include "onnxpress/support/Format.h"

namespace onnxpress {
namespace {

constexpr const char* kNotMeasured = "not measured";

/// What "better" means for a figure: the word for a ratio above 1 and below 1.
enum class Sense { Size, Count, Time, Energy };

std::string changeText(std::optional<double> before, std::optional<double> after, Sense sense) {
  static constexpr const char* kBetter[] = {"smaller", "fewer", "faster", "less"};
  static constexpr const char* kWorse[] = {"larger", "more", "slower", "more"};
  const auto ratio = reductionRatio(before, after);
  if (!ratio || *ratio <= 0) return "-";
  const std::string factor = fmt::format("{:.2f}x", *ratio >= 1 ? *ratio : 1 / *ratio);
  if (factor == "1.00x") return "same (1.00x)";
  const auto s = static_cast<size_t>(sense);
  return factor + " " + (*ratio >= 1 ? kBetter[s] : kWorse[s]);
}

std::optional<double> asDouble(std::optional<int64_t> v) {
  return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}

std::string formatBytes(double v) { return humanBytes(std::llround(v)); }
std::string formatCount(double v) { return withThousands(std::llround(v)); }
std::string formatPercent(double fraction) { return fmt::format("{:.2f}%", fraction * 100); }

/// Builds figure | before | after | change rows.
class FigureRows {
 public:
  using Formatter = std::function<std::string(double)>;

  void add(const std::string& figure, std::optional<double> before, std::optional<double> after, Sense sense,
           const Formatter& format) {
    auto cell = [&](std::optional<double> v) { return v ? format(*v) : std::string(kNotMeasured); };
    table_.rows.push_back({figure, cell(before), cell(after), changeText(before, after, sense)});
  }
  /// Adds the row only when at least one side was measured.
  void addIfMeasured(const std::string& figure, std::optional<double> before, std::optional<double> after,
                     Sense sense, const Formatter& format) {
    if (before || after) add(figure, before, after, sense, format);
  }
  void addRaw(std::vector<std::string> row) { table_.rows.push_back(std::move(row)); }
  ReportTable take() { return std::move(table_); }

 private:
  ReportTable table_{{"figure", "before", "after", "change"}, {}};
};

std::optional<double> latencyField(const std::optional<Latency>& latency, double Latency::*field) {
  return latency ? std::optional<double>((*latency).*field) : std::nullopt;
}

std::optional<double> energyTotal(const ModelFigures& f) {
  return f.energy ? std::optional<double>(f.energy->totalPj()) : std::nullopt;
}

std::string gateValue(double value, const std::string& unit) {
  if (unit.empty()) return fmt::format("{:g}", value);
  return unit == "%" ? fmt::format("{:g}%", value) : fmt::format("{:g} {}", value, unit);
}

}  // namespace

std::optional<double> reductionRatio(std::optional<double> before, std::optional<double> after) {
  if (!before || !after || !(*after > 0)) return std::nullopt;
  return *before / *after;
}

std::string formatSnrDb(double db) {
  return db >= kIdenticalSnrDb ? "identical" : fmt::format("{:.1f} dB", db);
}

std::string formatPicojoules(double picojoules) {
  static constexpr const char* kUnits[] = {"pJ", "nJ", "\u00b5J", "mJ", "J"};
  double v = picojoules;
  size_t unit = 0;
  while (std::abs(v) >= 1000 && unit + 1 < std::size(kUnits)) {
    v /= 1000;
    ++unit;
  }
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

std::string formatMilliseconds(double ms) {
  return ms < 1 ? fmt::format("{:.3f} ms", ms) : fmt::format("{:.2f} ms", ms);
}

ReportTable figuresTable(const CompressionReport& r) {
  const ModelFigures& b = r.before;
  const ModelFigures& a = r.after;
  auto d = [](int64_t v) { return std::optional<double>(static_cast<double>(v)); };
  FigureRows rows;
  rows.add("file size", d(b.fileBytes), d(a.fileBytes), Sense::Size, formatBytes);
  rows.add("zstd-3 size", d(b.zstdBytes), d(a.zstdBytes), Sense::Size, formatBytes);
  rows.add("parameters", d(b.parameters), d(a.parameters), Sense::Count, formatCount);
  rows.add("nonzero parameters", d(b.nonzeroParameters), d(a.nonzeroParameters), Sense::Count, formatCount);
  rows.add("parameter bytes", d(b.parameterBytes), d(a.parameterBytes), Sense::Size, formatBytes);
  rows.add("nodes", d(b.nodes), d(a.nodes), Sense::Count, formatCount);
  rows.add("MACs", d(b.macs), d(a.macs), Sense::Count, formatCount);
  rows.addIfMeasured("peak activation memory", asDouble(b.peakActivationBytes), asDouble(a.peakActivationBytes),
                     Sense::Size, formatBytes);
  rows.addIfMeasured("latency median (built-in)", latencyField(b.latency, &Latency::medianMs),
                     latencyField(a.latency, &Latency::medianMs), Sense::Time, formatMilliseconds);
  rows.addIfMeasured("latency p90 (built-in)", latencyField(b.latency, &Latency::p90Ms),
                     latencyField(a.latency, &Latency::p90Ms), Sense::Time, formatMilliseconds);
  if (const auto& c = r.latencyComparison; c && c->rounds > 1)
    rows.addRaw({fmt::format("speed ratio over {} paired rounds", c->rounds), "", "",
                 fmt::format("{}{:.2f}x to {:.2f}x", c->withinNoise ? "within noise: " : "", c->low, c->high)});
  rows.addIfMeasured("latency median (ONNX Runtime)", latencyField(b.ortLatency, &Latency::medianMs),
                     latencyField(a.ortLatency, &Latency::medianMs), Sense::Time, formatMilliseconds);
  rows.addIfMeasured("latency p90 (ONNX Runtime)", latencyField(b.ortLatency, &Latency::p90Ms),
                     latencyField(a.ortLatency, &Latency::p90Ms), Sense::Time, formatMilliseconds);

  const Quality& q = r.quality;
  if (q.accuracyBefore || q.accuracyAfter) {
    auto cell = [](std::optional<double> v) { return v ? formatPercent(*v) : std::string(kNotMeasured); };
    const std::string change = q.accuracyBefore && q.accuracyAfter
                                   ? fmt::format("{:+.2f} pp", (*q.accuracyAfter - *q.accuracyBefore) * 100)
                                   : "-";
    rows.addRaw({fmt::format("top-1 accuracy ({} samples)", q.accuracySamples), cell(q.accuracyBefore),
                 cell(q.accuracyAfter), change});
  }
  if (q.fidelity) {
    const Fidelity& f = *q.fidelity;
    const std::string samples = fmt::format("{} samples", f.samples);
    rows.addRaw({"fidelity: cosine (" + samples + ")", "1 (reference)", fmt::format("{:.6f}", f.cosine), "-"});
    rows.addRaw({"fidelity: SNR", "identical (reference)", formatSnrDb(f.snrDb), "-"});
    rows.addRaw({"fidelity: max abs error", "0 (reference)", fmt::format("{:.4g}", f.maxAbs), "-"});
  }
  rows.addIfMeasured("energy per inference (estimate)", energyTotal(b), energyTotal(a), Sense::Energy,
                     formatPicojoules);
  return rows.take();
}

ReportTable energyTable(const CompressionReport& r) {
  const auto& b = r.before.energy;
  const auto& a = r.after.energy;
  if (!b && !a) return {{"part (estimate)", "before", "after", "change"}, {}};
  using Part = double (*)(const EnergyEstimate&);
  const std::pair<const char*, Part> parts[] = {
      {"compute: MACs x (mult + add)", [](const EnergyEstimate& e) { return e.computePj; }},
      {"weights read once from DRAM", [](const EnergyEstimate& e) { return e.weightPj; }},
      {"activations read + written at SRAM cost", [](const EnergyEstimate& e) { return e.activationPj; }},
      {"total (estimate)", [](const EnergyEstimate& e) { return e.totalPj(); }},
  };
  FigureRows rows;
  for (const auto& [name, part] : parts) {
    const auto& figure = part;  // clang 14 cannot capture a structured binding
    auto value = [&](const std::optional<EnergyEstimate>& e) { return e ? std::optional(figure(*e)) : std::nullopt; };
    rows.add(name, value(b), value(a), Sense::Energy, formatPicojoules);
  }
  ReportTable table = rows.take();
  table.header[0] = "part (estimate)";
  return table;
}

ReportTable passesTable(const CompressionReport& r) {
  ReportTable table{{"pass", "options", "changed", "statistics", "parameters", "MACs", "fidelity", "time"}, {}};
  const bool accuracy = std::any_of(r.passes.begin(), r.passes.end(), [](const PassEntry& p) { return p.accuracy; });
  if (accuracy) table.header.insert(table.header.end() - 1, "top-1");
  for (const PassEntry& p : r.passes) {
    std::string stats;
    for (const auto& [key, value] : p.statistics) stats += (stats.empty() ? "" : ", ") + fmt::format("{} {}", key, value);
    const std::string fidelity =
        p.fidelity ? fmt::format("cos {:.6f}, SNR {}", p.fidelity->cosine, formatSnrDb(p.fidelity->snrDb)) : "-";
    table.rows.push_back({p.pass, p.options.empty() ? "-" : p.options, p.changed ? "yes" : "no",
                          stats.empty() ? "-" : stats, p.parameters >= 0 ? withThousands(p.parameters) : "-",
                          p.macs >= 0 ? withThousands(p.macs) : "-", fidelity,
                          fmt::format("{:.1f} ms", p.seconds * 1000)});
    if (accuracy) table.rows.back().insert(table.rows.back().end() - 1, p.accuracy ? formatPercent(*p.accuracy) : "-");
  }
  return table;
}

std::vector<std::pair<int64_t, double>> lossCurve(const train::TrainingSummary& s, size_t buckets) {
  std::vector<std::pair<int64_t, double>> curve;
  const size_t n = s.stepLoss.size();
  if (n == 0) return curve;
  const size_t per = (n + buckets - 1) / buckets;
  for (size_t first = 0; first < n; first += per) {
    const size_t last = std::min(n, first + per);
    double sum = 0;
    for (size_t i = first; i < last; ++i) sum += s.stepLoss[i];
    curve.emplace_back(static_cast<int64_t>(last), sum / static_cast<double>(last - first));
  }
  return curve;
}

ReportTable trainingTable(const CompressionReport& r) {
  ReportTable table{{"pass", "teacher", "loss", "data", "schedule", "held-out loss", "stopped", "time"}, {}};
  for (const PassEntry& p : r.passes)
    for (const TrainingRecord* record : recordsOf<TrainingRecord>(p.records)) {
      const train::TrainingSummary& s = record->summary;
      std::string heldOut = "-";
      if (!s.validationLoss.empty()) {
        const double best = s.bestEpoch > 0 ? s.validationLoss[static_cast<size_t>(s.bestEpoch - 1)] : s.initialValidationLoss;
        heldOut = fmt::format("{:.4g} before, {:.4g} best (epoch {})", s.initialValidationLoss, best, s.bestEpoch);
      }
      table.rows.push_back({record->pass, record->teacher.empty() ? "-" : record->teacher, record->loss,
                            fmt::format("{} training + {} held-out samples, {} seen", withThousands(s.trainSamples),
                                        withThousands(s.validationSamples), withThousands(s.samplesSeen)),
                            fmt::format("{} steps of {} in {} epochs, lr {:g}; {} tensors ({} parameters){}", s.steps,
                                        s.batchSize, s.epochs, s.learningRate, s.trainedTensors,
                                        withThousands(s.trainedParameters),
                                        s.maskedTensors ? fmt::format(", {} sparse kept sparse", s.maskedTensors) : ""),
                            heldOut, s.stopReason, fmt::format("{:.1f} s", s.seconds)});
    }
  return table;
}

ReportTable layersTable(const CompressionReport& r) {
  ReportTable table{{"layer", "op", "parameters before", "parameters after", "nonzero after", "size before",
                     "size after", "size change", "MACs before", "MACs after", "SNR", "cosine"},
                    {}};
  for (const LayerRow& l : r.layers) {
    table.rows.push_back({l.name, l.opType, withThousands(l.parametersBefore), withThousands(l.parametersAfter),
                          withThousands(l.nonzeroAfter), humanBytes(l.bytesBefore), humanBytes(l.bytesAfter),
                          changeText(static_cast<double>(l.bytesBefore), static_cast<double>(l.bytesAfter), Sense::Size),
                          withThousands(l.macsBefore), withThousands(l.macsAfter),
                          l.snrDb ? formatSnrDb(*l.snrDb) : "-", l.cosine ? fmt::format("{:.6f}", *l.cosine) : "-"});
  }
  return table;
}

ReportTable quantizedTensorsTable(const CompressionReport& r) {
  ReportTable table{{"tensor", "role", "type", "granularity", "scale", "zero point", "range", "SQNR"}, {}};
  for (const PassEntry& p : r.passes)
    for (const QuantizedTensorInfo* record : recordsOf<QuantizedTensorInfo>(p.records)) {
      const QuantizedTensorInfo& q = *record;
      const std::string granularity = q.blockSize > 0 ? fmt::format("blocks of {} on axis {} ({})", q.blockSize, q.axis, q.count)
                                      : q.axis >= 0   ? fmt::format("per channel, axis {} ({})", q.axis, q.count)
                                      : q.count > 0   ? "per tensor"
                                                      : "-";
      std::string scale = "-", zeroPoint = "-";
      if (!q.scale.empty()) {
        const auto [lo, hi] = std::minmax_element(q.scale.begin(), q.scale.end());
        scale = *lo == *hi ? fmt::format("{:.6g}", *lo) : fmt::format("{:.4g} .. {:.4g}", *lo, *hi);
        if (q.count > static_cast<int64_t>(q.scale.size())) scale += fmt::format(" (first {})", q.scale.size());
      }
      if (!q.zeroPoint.empty()) {
        const auto [lo, hi] = std::minmax_element(q.zeroPoint.begin(), q.zeroPoint.end());
        zeroPoint = *lo == *hi ? fmt::format("{}", *lo) : fmt::format("{} .. {}", *lo, *hi);
      }
      const std::string range = q.rangeMin ? fmt::format("[{:.4g}, {:.4g}]", *q.rangeMin, *q.rangeMax) : "-";
      table.rows.push_back({q.tensor, q.role, q.dtype, granularity, scale, zeroPoint, range,
                            q.sqnrDb ? formatSnrDb(*q.sqnrDb) : "-"});
    }
  return table;
}

ReportTable quantizationPlanTable(const CompressionReport& r) {
  ReportTable table{{"layer", "op", "output SNR with only this layer int8", "precision"}, {}};
  for (const PassEntry& p : r.passes)
    for (const QuantizationPlan* plan : recordsOf<QuantizationPlan>(p.records))
      for (const LayerFallback& l : plan->layers)
        table.rows.push_back({l.node, l.op, fmt::format("{:.1f} dB", l.aloneSnrDb), l.keptFloat ? "float (fallback)" : "int8"});
  return table;
}

ReportTable deployabilityTable(const CompressionReport& r) {
  ReportTable table{{"severity", "rule", "finding", "where"}, {}};
  if (!r.deployability) return table;
  for (const DeployabilityFinding& f : r.deployability->findings) {
    std::string where = fmt::format("{}", fmt::join(f.nodes, ", "));
    if (f.count > static_cast<int64_t>(f.nodes.size())) where += fmt::format(" ({} in all)", f.count);
    table.rows.push_back({f.severity, f.rule, f.message, where});
  }
  for (const BudgetCheck& b : r.deployability->budgets)
    table.rows.push_back({!b.measured ? "not measured" : b.holds() ? "holds" : "error", b.name,
                          fmt::format("{} of {} allowed", b.measured ? humanBytes(*b.measured) : "not measured",
                                      humanBytes(b.limit)),
                          ""});
  if (table.rows.empty()) table.rows.push_back({"ok", "", "every rule of the target holds", ""});
  return table;
}

ReportTable gatesTable(const CompressionReport& r) {
  ReportTable table{{"gate", "threshold", "measured", "result"}, {}};
  for (const Gate& g : r.gates)
    table.rows.push_back(
        {g.name, gateValue(g.threshold, g.unit), gateValue(g.measured, g.unit),
         std::string(g.passed ? "passed" : "FAILED") + (g.note.empty() ? "" : " (" + g.note + ")")});
  return table;
}

}  // namespace onnxpress
