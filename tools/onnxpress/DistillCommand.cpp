// onnxpress distill TEACHER -o OUT --student STUDENT.onnx --train-data DATA
//     [the distill pass's options: --epochs, --lr, --loss, --temperature, ...]
//     [compress's --eval-data, --report, gates, ... --json]
//
// Sugar for `compress STUDENT --passes distill{teacher=TEACHER ...}`: trains STUDENT
// (any architecture with TEACHER's inputs and outputs, trained or freshly
// initialised) against TEACHER. The report's "before" is the untrained student.
#include <memory>

#include "Commands.h"
#include "CompressRun.h"
#include "PassOptionsCli.h"
#include "onnxpress/io/ModelIO.h"  // checkOutputPath
#include "onnxpress/passes/training/Distill.h"

namespace onnxpress::cli {
namespace {

struct DistillArgs {
  CompressArgs compress;
  PassFlags pass;
  std::string teacher;
};

Status runDistill(const DistillArgs& args) {
  if (args.compress.trainData.empty()) return usageError("distill: --train-data DATA is required");
  RETURN_IF_ERROR(checkOutputPath(args.teacher, args.compress.output));
  RawOptions raw = args.pass.raw();
  raw.insert(raw.begin(), {"teacher", args.teacher});
  ASSIGN_OR_RETURN(DistillOptions options, parseOptions<DistillOptions>("distill", raw));
  (void)options;  // option errors before any work
  Recipe recipe;
  recipe.pipeline.push_back({"distill", std::move(raw)});
  return runCompression(args.compress, std::move(recipe));
}

}  // namespace

void addDistillCommand(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "distill", "Train a student model against a teacher (knowledge distillation) and report what it recovered; "
                 "the same as compress STUDENT --passes distill{teacher=TEACHER ...}");
  auto args = std::make_shared<DistillArgs>();
  cmd->add_option("TEACHER", args->teacher, "teacher ONNX model")->required();
  cmd->add_option("-o,--output", args->compress.output, "output ONNX file: the trained student (never an input)")->required();
  cmd->add_option("--student", args->compress.model, "student ONNX model with the teacher's inputs and outputs")->required();
  cmd->add_option("--train-data", args->compress.trainData, "training DATA (labels optional)")->required();
  args->pass.add<DistillOptions>(cmd);
  cmd->remove_option(args->pass.option("teacher"));  // the positional TEACHER
  addCompressionOptions(cmd, args->compress);
  cmd->footer("Exit codes: 0 ok, 1 usage, 2 invalid model or data (or NaN in training), 3 internal error,\n"
              "4 a gate was not met (OUT and the reports are written first).");
  cmd->callback([&action, args] { action = [args] { return runDistill(*args); }; });
}

}  // namespace onnxpress::cli
