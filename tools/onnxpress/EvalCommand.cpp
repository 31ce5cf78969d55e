// onnxpress eval MODEL --data DATA [--reference REF.onnx] [--metric top1|top5|mse|cosine|snr]
//                      [--samples N] [--threads N] [--json]
#include <iostream>

#include "Commands.h"
#include "ComparisonOutput.h"
#include "onnxpress/analysis/Evaluate.h"
#include "onnxpress/support/Format.h"
#include "onnxpress/support/Progress.h"

namespace onnxpress::cli {
namespace {

struct EvalArgs {
  std::string model, data, reference, metric;
  int64_t samples = 0;
  int threads = 0;
  bool json = false;
};

nlohmann::json accuracyJson(const std::optional<Accuracy>& a) {
  if (!a) return nullptr;
  return {{"top1", a->top1()}, {"top5", a->top5()}, {"top1_correct", a->top1Correct},
          {"top5_correct", a->top5Correct}, {"classes", a->classes}};
}

std::string percent(int64_t correct, int64_t samples) {
  return fmt::format("{:.2f}% ({}/{})", samples ? 100.0 * static_cast<double>(correct) / static_cast<double>(samples) : 0.0,
                     correct, samples);
}

Status runEval(const EvalArgs& args) {
  const bool hasReference = !args.reference.empty();
  ASSIGN_OR_RETURN(Metric metric, parseMetric(args.metric.empty() ? (hasReference ? "snr" : "top1") : args.metric));
  ASSIGN_OR_RETURN(Dataset data, Dataset::open(args.data));
  ASSIGN_OR_RETURN(Model model, loadForCommand(args.model));
  std::optional<Model> reference;
  if (hasReference) {
    ASSIGN_OR_RETURN(reference, loadForCommand(args.reference));
  }

  EvalOptions options;
  options.metric = metric;
  options.samples = args.samples;
  options.threads = args.threads;
  options.modelLabel = args.model;
  options.referenceLabel = args.reference;
  Progress progress("evaluating", args.samples > 0 ? std::min(args.samples, data.size()) : data.size());
  options.onSample = [&] { progress.tick(); };
  ASSIGN_OR_RETURN(EvalResult result, evaluate(model, reference ? &*reference : nullptr, data, options));
  progress.finish();

  const bool bothAccuracies = result.accuracy && result.referenceAccuracy;
  auto headline = [&](const Accuracy& a) { return metric == Metric::Top1 ? a.top1() : a.top5(); };
  if (args.json) {
    nlohmann::json fidelity = nullptr;
    if (result.fidelity) {
      fidelity = {{"outputs", nlohmann::json::array()}, {"overall", errorStatsJson(result.fidelity->overall, false)}};
      for (const TensorComparison& o : result.fidelity->outputs) {
        nlohmann::json entry = errorStatsJson(o.stats, false);
        entry["name"] = o.name;
        fidelity["outputs"].push_back(entry);
      }
    }
    printJson({{"schema", "onnxpress.eval"}, {"schema_version", 1}, {"model", args.model},
               {"reference", hasReference ? nlohmann::json(args.reference) : nlohmann::json(nullptr)},
               {"data", args.data}, {"samples", result.samples}, {"metric", metricName(metric)},
               {"value", result.value}, {"accuracy", accuracyJson(result.accuracy)},
               {"reference_accuracy", accuracyJson(result.referenceAccuracy)},
               {"accuracy_drop", bothAccuracies ? nlohmann::json(headline(*result.referenceAccuracy) - result.value)
                                                : nlohmann::json(nullptr)},
               {"fidelity", fidelity}});
    return Status::ok();
  }

  std::string out = fmt::format("model      {}\n", args.model);
  if (hasReference) out += fmt::format("reference  {}\n", args.reference);
  out += fmt::format("data       {} ({} samples)\nmetric     {}\n\n", args.data, result.samples, metricName(metric));
  if (result.accuracy) {
    TextTable accuracy({"", "top-1", "top-5"});
    auto addRow = [&](const std::string& label, const Accuracy& a) {
      accuracy.addRow({label, percent(a.top1Correct, a.samples), percent(a.top5Correct, a.samples)});
    };
    addRow("model", *result.accuracy);
    if (result.referenceAccuracy) addRow("reference", *result.referenceAccuracy);
    out += accuracy.render("");
    if (bothAccuracies)
      out += fmt::format("\n{} drop  {:.2f} percentage points (reference - model)\n", metricName(metric),
                         100 * (headline(*result.referenceAccuracy) - result.value));
  }
  if (result.fidelity) {
    TextTable fidelity(errorStatsHeader({"output"}));
    for (const TensorComparison& o : result.fidelity->outputs) fidelity.addRow(errorStatsRow({o.name}, o.stats));
    if (result.fidelity->outputs.size() > 1)
      fidelity.addRow(errorStatsRow({"(all outputs)"}, result.fidelity->overall));
    out += (result.accuracy ? "\n" : "") + std::string("fidelity of the model against the reference\n") +
           fidelity.render("");
  }
  std::cout << out;
  return Status::ok();
}

}  // namespace

void addEvalCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("eval", "Accuracy on labelled DATA, or fidelity against a reference model");
  auto args = std::make_shared<EvalArgs>();
  cmd->add_option("MODEL", args->model, "ONNX model file")->required();
  cmd->add_option("--data", args->data, "DATA (.npz or directory); 'labels' needed for top1/top5")->required();
  cmd->add_option("--reference", args->reference,
                  "reference model with the same inputs and outputs; MODEL is measured against it");
  cmd->add_option("--metric", args->metric,
                  "top1 or top5 (accuracy on output 0), mse, cosine or snr (against --reference); default top1, "
                  "snr with --reference")
      ->check(CLI::IsMember(metricNames()));
  cmd->add_option("--samples", args->samples, "evaluate the first N samples (default: all)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("-t,--threads", args->threads, "worker threads (0: all cores)")->capture_default_str();
  cmd->add_flag("--json", args->json, "machine-readable output (schema onnxpress.eval v1)");
  cmd->callback([&action, args] { action = [args] { return runEval(*args); }; });
}

}  // namespace onnxpress::cli
