#include "onnxpress/driver/Compress.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "onnxpress/analysis/CompareModels.h"
#include "onnxpress/analysis/Evaluate.h"
#include "onnxpress/analysis/Fidelity.h"
#include "onnxpress/analysis/InputFeed.h"
#include "onnxpress/analysis/PairedLatency.h"
#include "onnxpress/driver/PassMeasurement.h"
#include "onnxpress/driver/PassRegistry.h"
#include "onnxpress/driver/TargetProfile.h"
#include "onnxpress/io/ModelIO.h"
#include "onnxpress/report/MeasureModel.h"
#include "onnxpress/report/OrtLatency.h"
#include "onnxpress/report/ReportFormats.h"
#include "onnxpress/support/AtomicFile.h"
#include "onnxpress/support/Progress.h"
#include "onnxpress/report/JsonText.h"

namespace onnxpress {
namespace {

// Command-line values take precedence over the recipe's.
Status applyCommandLine(const CompressArgs& args, Recipe& recipe) {
  if (!args.calibData.empty()) recipe.calibrationData = args.calibData;
  if (!args.evalData.empty()) recipe.evaluationData = args.evalData;
  if (!args.trainData.empty()) recipe.trainingData = args.trainData;
  if (!args.reports.empty()) recipe.reports = args.reports;
  if (!args.target.empty()) recipe.target = args.target;
  if (!args.maxAccuracyDrop.empty()) {
    ASSIGN_OR_RETURN(recipe.gates.maxAccuracyDrop, parseFractionOrPercent("--max-accuracy-drop", args.maxAccuracyDrop));
  }
  if (args.minSizeReduction > 0) recipe.gates.minSizeReduction = args.minSizeReduction;
  if (args.minSpeedup > 0) recipe.gates.minSpeedup = args.minSpeedup;
  for (const std::string& report : recipe.reports) {
    const std::string ext = std::filesystem::path(report).extension().string();
    if (ext != ".json" && ext != ".md" && ext != ".html")
      return usageError("--report {}: unknown format (use .json, .md or .html)", report);
  }
  return Status::ok();
}

Expected<std::optional<Dataset>> openData(const std::string& path, const Model& model) {
  if (path.empty()) return std::optional<Dataset>();
  ASSIGN_OR_RETURN(Dataset data, Dataset::open(path));
  RETURN_IF_ERROR(data.validateFor(model.graph()));
  return std::optional<Dataset>(std::move(data));
}

// Accuracy of both models (labels) and fidelity of OUT against MODEL on --eval-data.
Expected<Quality> measureQuality(const Model& original, const Model& compressed, Dataset& data,
                                 const CompressArgs& args) {
  Quality quality;
  quality.dataPath = data.path();
  EvalOptions options;
  options.metric = data.hasLabels() ? Metric::Top1 : Metric::Snr;
  options.samples = args.evalSamples;
  options.threads = args.threads;
  options.modelLabel = args.output;
  options.referenceLabel = args.model;
  Progress progress("evaluating", args.evalSamples > 0 ? std::min(args.evalSamples, data.size()) : data.size());
  options.onSample = [&progress] { progress.tick(); };
  ASSIGN_OR_RETURN(EvalResult result, evaluate(compressed, &original, data, options));
  progress.finish();
  if (result.accuracy && result.referenceAccuracy) {
    quality.accuracySamples = result.accuracy->samples;
    quality.accuracyBefore = result.referenceAccuracy->top1();
    quality.accuracyAfter = result.accuracy->top1();
  }
  if (result.fidelity) quality.fidelity = result.fidelity->overall.fidelity;
  return quality;
}


// Before and after timed in alternation (PairedLatency): their medians replace the
// single-run figures, and the ratio's spread over the rounds is its noise.
Status measureLatencyPair(const Model& original, const Model& compressed, const InputFeed& feed,
                          const CompressArgs& args, CompressionReport& report) {
  auto paired = measurePairedLatency(original, compressed, feed, args.iterations, args.threads);
  if (!paired) {  // both ran once already; a failure here is a bug, not the user's data
    return internalError("timing the models: {}", paired.status().message());
  }
  report.before.latency = Latency{paired->medianMsA, paired->p90MsA, paired->runsPerModel};
  report.after.latency = Latency{paired->medianMsB, paired->p90MsB, paired->runsPerModel};
  report.latencyComparison = LatencyComparison{paired->ratio,
                                               paired->ratioLow,
                                               paired->ratioHigh,
                                               static_cast<int64_t>(paired->roundRatios.size()),
                                               paired->runsPerModel,
                                               paired->withinNoise()};
  return Status::ok();
}

// Gates need their figures: checked before any work.
Status requireGateInputs(const Gates& gates, const std::optional<Dataset>& evalData, bool canFeed) {
  if (gates.maxAccuracyDrop && (!evalData || !evalData->hasLabels()))
    return usageError("--max-accuracy-drop needs --eval-data with a 'labels' array");
  if (gates.minSpeedup && !canFeed)
    return usageError("--min-speedup needs latency: give --eval-data or --calib-data, or fix the model's input dims");
  return Status::ok();
}

// Without data, latency is measured on random inputs with every symbolic dim (batch,
// sequence) set to 1.
InputShapes symbolicDimsAsOne(const Graph& graph) {
  InputShapes shapes;
  for (const Value* input : feedableInputs(graph)) {
    if (!input->type().isTensor() || !input->type().hasShape) continue;
    std::vector<int64_t> dims;
    for (const Dim& d : input->type().dims) dims.push_back(d.isFixed() ? d.value : 1);
    shapes[input->name()] = dims;
  }
  return shapes;
}

// Paths are written relative to the recipe file's directory, as loadRecipe() reads them.
Status saveRecipeFile(Recipe recipe, const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path base = fs::absolute(fs::path(path)).parent_path();
  auto relocate = [&](std::string& p) {
    if (!p.empty()) p = fs::absolute(p).lexically_normal().lexically_relative(base).string();
  };
  relocate(recipe.calibrationData);
  relocate(recipe.evaluationData);
  relocate(recipe.trainingData);
  for (std::string& report : recipe.reports) relocate(report);
  if (recipe.target.find('/') != std::string::npos) relocate(recipe.target);  // a profile file, not a name
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".json") return writeFileAtomically(path, jsonText(recipeToJson(recipe), 2) + "\n");
  if (ext == ".yaml" || ext == ".yml") return writeFileAtomically(path, recipeToYaml(recipe));
  return usageError("--save-recipe {}: use .yaml, .yml or .json", path);
}

}  // namespace

std::vector<Gate> checkGates(const Gates& gates, const CompressionReport& r) {
  std::vector<Gate> out;
  if (gates.maxAccuracyDrop) {
    const double drop = *r.quality.accuracyBefore - *r.quality.accuracyAfter;
    out.push_back({"max-accuracy-drop", *gates.maxAccuracyDrop * 100, drop * 100, "%",
                   drop <= *gates.maxAccuracyDrop + 1e-12, ""});
  }
  if (gates.minSizeReduction) {
    const double reduction = static_cast<double>(r.before.fileBytes) / static_cast<double>(r.after.fileBytes);
    out.push_back({"min-size-reduction", *gates.minSizeReduction, reduction, "x", reduction >= *gates.minSizeReduction, ""});
  }
  if (gates.minSpeedup) {
    // Fails only when every paired round is below the limit: a shortfall within the
    // rounds' spread is noise on a shared machine, and the gate says so.
    const LatencyComparison c = r.latencyComparison.value_or(LatencyComparison{});  // none: cannot pass
    Gate gate{"min-speedup", *gates.minSpeedup, c.ratio, "x", c.high >= *gates.minSpeedup, ""};
    if (c.rounds > 0 && c.ratio < *gates.minSpeedup)
      gate.note = fmt::format("{}: {} paired rounds gave {:.3g}x to {:.3g}x", gate.passed ? "within noise" : "beyond noise",
                              c.rounds, c.low, c.high);
    out.push_back(gate);
  }
  return out;
}

// The recipe of `compress`: --recipe FILE or --passes PIPELINE.
Expected<Recipe> compressRecipe(const CompressArgs& args) {
  if (args.pipeline.empty() == args.recipe.empty())
    return usageError("compress: give exactly one of --passes PIPELINE and --recipe FILE");
  Recipe recipe;
  if (!args.recipe.empty()) {
    ASSIGN_OR_RETURN(recipe, loadRecipe(args.recipe));
  } else {
    ASSIGN_OR_RETURN(recipe.pipeline, parsePipelineText(args.pipeline));
  }
  return recipe;
}

Gate deployabilityGate(const Deployability& deployability) {
  Gate gate{.name = "deployable-on-" + deployability.target + " (errors)", .threshold = 0,
            .measured = static_cast<double>(deployability.errors()), .unit = "",
            .passed = deployability.deployable(), .note = ""};
  std::vector<std::string> notes;
  for (const DeployabilityFinding& f : deployability.findings)
    if (f.severity == "error" && notes.empty()) notes.push_back(f.message);
  for (const BudgetCheck& b : deployability.budgets)
    if (b.measured && !b.holds()) notes.push_back(fmt::format("{} {} over {}", b.name, *b.measured, b.limit));
  if (deployability.warnings() > 0) notes.push_back(fmt::format("{} warnings", deployability.warnings()));
  gate.note = fmt::format("{}", fmt::join(notes, "; "));
  return gate;
}

Expected<double> parseFractionOrPercent(const std::string& flag, const std::string& text) {
  std::string number = text;
  const bool percent = !number.empty() && number.back() == '%';
  if (percent) number.pop_back();
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (number.empty() || *end != '\0' || value < 0)
    return usageError("{} '{}': expected a fraction (0.01) or a percentage (1%)", flag, text);
  return percent ? value / 100 : value;
}

Expected<CompressionReport> compressModel(const CompressArgs& args, Recipe recipe) {
  RETURN_IF_ERROR(applyCommandLine(args, recipe));
  RETURN_IF_ERROR(checkOutputPath(args.model, args.output));
  if (args.iterations == 0 && (recipe.gates.minSpeedup || args.ort))
    return usageError("{} needs latency: -n/--iterations must be at least 1", args.ort ? "--ort" : "--min-speedup");
  std::optional<TargetProfile> target;
  if (!recipe.target.empty()) {
    ASSIGN_OR_RETURN(target, loadTargetProfile(recipe.target));
    applyTargetDefaults(*target, recipe.pipeline);
  }
  ASSIGN_OR_RETURN(PassManager pipeline, buildPipeline(recipe.pipeline));  // option errors first
  if (const auto needy = pipeline.passesNeedingCalibrationData(); !needy.empty() && recipe.calibrationData.empty())
    return usageError("pass '{}' needs calibration data: give --calib-data DATA (random data is never used)",
                      needy.front());
  if (const auto needy = pipeline.passesNeedingTrainingData(); !needy.empty() && recipe.trainingData.empty())
    return usageError("pass '{}' needs training data: give --train-data DATA", needy.front());
  if (args.verifyEach) pipeline.setVerifyEach(true);
  ASSIGN_OR_RETURN(Model model, loadModel(args.model, LoadOptions{.runChecker = true}));
  ASSIGN_OR_RETURN(std::optional<Dataset> evalData, openData(recipe.evaluationData, model));
  ASSIGN_OR_RETURN(std::optional<Dataset> calibData, openData(recipe.calibrationData, model));
  ASSIGN_OR_RETURN(std::optional<Dataset> trainData, openData(recipe.trainingData, model));

  // Latency and peak memory need one input: a DATA sample, else random data for fixed dims.
  std::optional<InputFeed> feed;
  if (evalData || calibData) {
    ASSIGN_OR_RETURN(feed, datasetFeed(evalData ? *evalData : *calibData, 0));
  } else if (auto random = randomFeed(model.graph(), symbolicDimsAsOne(model.graph())); random) {
    feed = std::move(*random);
  } else {
    spdlog::warn("{}: latency and peak memory not measured: {}", args.model, random.status().message());
  }
  RETURN_IF_ERROR(requireGateInputs(recipe.gates, evalData, feed.has_value()));
  std::optional<std::string> ortPython;
  if (args.ort) {
    ortPython = findOrtPython();
    if (!ortPython)
      return usageError("--ort needs a Python with onnxruntime and numpy (set ONNXPRESS_PYTHON, or pip install onnxruntime)");
    if (!feed) return usageError("--ort needs inputs to time: give --eval-data or --calib-data");
  }

  // Latency is timed at the end, before and after in alternation; this pass measures
  // peak memory (one run) and whether the models run at all.
  MeasureOptions measure{feed, std::min(args.iterations, 1), args.threads};
  ASSIGN_OR_RETURN(MeasuredModel before, measureModel(model, loadedModelFiles(model, args.model), measure));
  const Model original = model.clone();
  std::optional<FidelityProbe> probe;
  if (evalData && args.fidelitySamples > 0) {
    ASSIGN_OR_RETURN(probe, FidelityProbe::create(model, *evalData, args.fidelitySamples, args.threads));
  }

  PassMeasurement measurement(probe ? &*probe : nullptr,
                              feed ? std::optional<InputShapes>(shapesOf(*feed)) : std::nullopt);
  if (evalData && evalData->hasLabels())
    measurement.measureAccuracy(&*evalData, args.evalSamples, args.threads, pipeline.size());
  pipeline.addInstrumentation(&measurement);
  PassContext context;
  context.calibrationData = calibData ? &*calibData : nullptr;
  context.trainingData = trainData ? &*trainData : nullptr;
  context.pipelineInput = &original;
  context.threads = args.threads;
  RETURN_IF_ERROR(pipeline.run(model, context));
  SaveOptions save;
  if (args.externalData) save.externalData = SaveOptions::ExternalData::Always;
  const std::vector<std::string> outputFiles = savedModelFiles(model, args.output, save);
  RETURN_IF_ERROR(saveModel(model, args.output, save));

  CompressionReport report;
  report.inputPath = args.model;
  report.outputPath = args.output;
  report.pipeline = pipeline.expandedPipeline();
  report.passes = measurement.entries();
  ASSIGN_OR_RETURN(MeasuredModel after, measureModel(model, outputFiles, measure));
  report.before = before.figures;
  report.after = after.figures;
  if (report.before.latency && report.after.latency) RETURN_IF_ERROR(measureLatencyPair(original, model, *feed, args, report));
  if (ortPython) {
    ASSIGN_OR_RETURN(report.before.ortLatency,
                     measureOrtLatency(*ortPython, args.model, *feed, args.iterations, args.threads));
    ASSIGN_OR_RETURN(report.after.ortLatency,
                     measureOrtLatency(*ortPython, args.output, *feed, args.iterations, args.threads));
  }
  std::vector<TensorComparison> perTensor;
  if (evalData) {
    ASSIGN_OR_RETURN(report.quality, measureQuality(original, model, *evalData, args));
    if (report.quality.accuracyAfter && !report.passes.empty()) report.passes.back().accuracy = report.quality.accuracyAfter;
  }
  // Per-layer error on the evaluation data, else on the calibration data (quantization's SQNR).
  Dataset* layerData = evalData ? &*evalData : calibData ? &*calibData : nullptr;
  if (layerData && args.fidelitySamples > 0) {
    CompareOptions compare;
    compare.samples = std::min<int64_t>(args.fidelitySamples, layerData->size());
    compare.perLayer = true;
    compare.threads = args.threads;
    report.layerDataPath = layerData->path();
    auto layers = compareModels(original, model, *layerData, compare);
    // Passes keep a rewritten value's name (GraphUtil replaceValue), so equal names
    // mean the same quantity; an error here only loses the per-layer column.
    if (layers) perTensor = std::move(layers->layers);
  }
  report.layers = layerTable(before, after, perTensor);
  report.gates = checkGates(recipe.gates, report);
  if (target) {
    report.deployability = checkDeployability(model, target->name, target->rules, target->budgets,
                                              {after.figures.fileBytes, after.figures.peakActivationBytes});
    report.gates.push_back(deployabilityGate(*report.deployability));
  }

  for (const std::string& path : recipe.reports) RETURN_IF_ERROR(writeReport(report, path));
  if (!args.saveRecipe.empty()) {
    Recipe expanded = recipe;
    ASSIGN_OR_RETURN(expanded.pipeline, parsePipelineText(report.pipeline));
    RETURN_IF_ERROR(saveRecipeFile(expanded, args.saveRecipe));
  }
  return report;
}

}  // namespace onnxpress
