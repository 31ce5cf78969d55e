// onnxpress compress MODEL -o OUT --passes PIPELINE
#include <spdlog/spdlog.h>

#include <iostream>

#include "Commands.h"
#include "onnxpress/analysis/Fidelity.h"
#include "onnxpress/analysis/Macs.h"
#include "onnxpress/analysis/ModelSummary.h"
#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/io/ModelIO.h"
#include "onnxpress/pass/PassManager.h"
#include "onnxpress/support/Format.h"

namespace onnxpress::cli {
namespace {

struct CompressArgs {
  std::string model, output, pipeline, evalData;
  int64_t fidelitySamples = 16;
  bool externalData = false;
  bool verifyEach = false;
  bool json = false;
};

std::string ratio(int64_t before, int64_t after) {
  return after > 0 ? fmt::format("{:.2f}x", static_cast<double>(before) / static_cast<double>(after)) : "-";
}

Status runCompress(const CompressArgs& args) {
  RETURN_IF_ERROR(checkOutputPath(args.model, args.output));
  ASSIGN_OR_RETURN(PassManager pipeline, PassManager::fromText(args.pipeline));  // options errors before loading
  pipeline.setVerifyEach(pipeline.size() > 0 && args.verifyEach ? true : args.verifyEach);
  ASSIGN_OR_RETURN(Model model, loadForCommand(args.model));
  std::optional<Dataset> evalData;
  std::optional<FidelityProbe> probe;
  if (!args.evalData.empty()) {
    ASSIGN_OR_RETURN(evalData, Dataset::open(args.evalData));
    ASSIGN_OR_RETURN(probe, FidelityProbe::create(model, *evalData, args.fidelitySamples));
  }
  ASSIGN_OR_RETURN(auto inferred, inferShapes(model));
  (void)inferred;
  const ModelSummary before = summarizeModel(model);
  const int64_t macsBefore = countMacs(model.graph()).macs;
  pipeline.setMeasurement(true, probe ? &*probe : nullptr);
  PassContext context;
  RETURN_IF_ERROR(pipeline.run(model, context));
  SaveOptions save;
  if (args.externalData) save.externalData = SaveOptions::ExternalData::Always;
  RETURN_IF_ERROR(saveModel(model, args.output, save));
  const ModelSummary after = summarizeModel(model);
  const int64_t macsAfter = pipeline.records().empty() ? macsBefore : pipeline.records().back().macs;
  const int64_t sizeBefore = fileSize(args.model), sizeAfter = fileSize(args.output);

  if (args.json) {
    nlohmann::json passes = nlohmann::json::array();
    for (const auto& r : pipeline.records()) {
      nlohmann::json stats = nlohmann::json::object();
      for (const auto& [k, v] : r.statistics) stats[k] = v;
      nlohmann::json entry = {{"pass", r.pass},       {"options", r.options},       {"changed", r.changed},
                              {"statistics", stats}, {"seconds", r.seconds},       {"parameters", r.parameters},
                              {"macs", r.macs}};
      if (r.fidelity)
        entry["fidelity"] = {{"samples", r.fidelity->samples}, {"max_abs", r.fidelity->maxAbs},
                             {"mean_abs", r.fidelity->meanAbs}, {"cosine", r.fidelity->cosine},
                             {"snr_db", r.fidelity->snrDb}};
      passes.push_back(entry);
    }
    auto side = [](const ModelSummary& s, int64_t bytes, int64_t macs) {
      return nlohmann::json{{"file_bytes", bytes},
                            {"parameters", s.parameterCount},
                            {"parameter_bytes", s.parameterBytes},
                            {"nodes", s.nodeCount + s.subgraphNodeCount},
                            {"macs", macs}};
    };
    printJson({{"schema", "onnxpress.compress"}, {"schema_version", 1}, {"model", args.model},
               {"output", args.output}, {"pipeline", pipeline.expandedPipeline()}, {"passes", passes},
               {"before", side(before, sizeBefore, macsBefore)}, {"after", side(after, sizeAfter, macsAfter)}});
    return Status::ok();
  }
  std::string out = fmt::format("pipeline  {}\n\n", pipeline.expandedPipeline());
  TextTable passTable({"pass", "changed", "statistics", "parameters", "MACs", "fidelity", "time"});
  for (const auto& r : pipeline.records()) {
    std::string stats;
    for (const auto& [k, v] : r.statistics) stats += (stats.empty() ? "" : ", ") + fmt::format("{} {}", k, v);
    const std::string fidelity =
        r.fidelity ? fmt::format("cos {:.6f}, SNR {:.1f} dB", r.fidelity->cosine, r.fidelity->snrDb) : "-";
    passTable.addRow({r.pass, r.changed ? "yes" : "no", stats.empty() ? "-" : stats, withThousands(r.parameters),
                      withThousands(r.macs), fidelity, fmt::format("{:.1f} ms", r.seconds * 1000)});
  }
  out += passTable.render("") + "\n";
  TextTable sizes({"", "before", "after", "ratio"});
  sizes.addRow({"file size", humanBytes(sizeBefore), humanBytes(sizeAfter), ratio(sizeBefore, sizeAfter)});
  sizes.addRow({"parameters", withThousands(before.parameterCount), withThousands(after.parameterCount),
                ratio(before.parameterCount, after.parameterCount)});
  const int64_t nodesBefore = before.nodeCount + before.subgraphNodeCount;
  const int64_t nodesAfter = after.nodeCount + after.subgraphNodeCount;
  sizes.addRow({"MACs", withThousands(macsBefore), withThousands(macsAfter), ratio(macsBefore, macsAfter)});
  sizes.addRow({"nodes", withThousands(nodesBefore), withThousands(nodesAfter), ratio(nodesBefore, nodesAfter)});
  out += sizes.render("") + fmt::format("\nwrote {}\n", args.output);
  std::cout << out;
  return Status::ok();
}

}  // namespace

void addCompressCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("compress", "Run a pass pipeline on a model and write the result");
  auto args = std::make_shared<CompressArgs>();
  cmd->add_option("MODEL", args->model, "input ONNX model")->required();
  cmd->add_option("-o,--output", args->output, "output ONNX file (never the input)")->required();
  cmd->add_option("--passes", args->pipeline,
                  "pass pipeline, e.g. 'eliminate-dead{functions=true}' (see 'onnxpress passes')")
      ->required();
  cmd->add_option("--eval-data", args->evalData,
                  "DATA (.npz or directory): after every pass, measure fidelity against the input model");
  cmd->add_option("--fidelity-samples", args->fidelitySamples, "samples of --eval-data used for fidelity")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--external-data", args->externalData,
                "store weights in OUT.data beside the model (automatic above protobuf's 2 GB limit)");
  cmd->add_flag("--verify-each", args->verifyEach, "run the IR verifier after every pass (always on in debug builds)");
  cmd->add_flag("--json", args->json, "machine-readable output (schema onnxpress.compress v1)");
  cmd->callback([&action, args] { action = [args] { return runCompress(*args); }; });
}

}  // namespace onnxpress::cli
