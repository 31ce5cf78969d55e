// Fuzz target: the text pipeline parser (pass/PassManager) and the pass options
// it feeds (driver/PassRegistry).
//
// Input: pipeline text, e.g. "fold-constants,prune{sparsity=0.5 granularity=channel}".
//
// Invariants (a violation aborts):
//   - refused text gets a one-line InvalidInput or Usage error;
//   - accepted text prints back (pipelineToText) to text that parses to the same
//     elements;
//   - when the passes build, the pipeline with every option spelled out parses
//     and builds again, and prints the same.
#include "FuzzErrors.h"
#include "onnxpress/driver/PassRegistry.h"

namespace {
using namespace onnxpress;
using fuzz::expectCleanRefusal;
using fuzz::fail;

bool sameElements(const std::vector<PipelineElement>& a, const std::vector<PipelineElement>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].pass != b[i].pass || a[i].options != b[i].options) return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto elements = parsePipelineText(text);
  if (!elements) {
    expectCleanRefusal(elements.status(), "parsePipelineText");
    return 0;
  }
  const std::string printed = pipelineToText(*elements);
  auto reparsed = parsePipelineText(printed);
  if (!reparsed) fail("printed pipeline does not parse: " + printed, reparsed.status().message());
  if (!sameElements(*elements, *reparsed)) fail("printing then parsing changed the pipeline", text + "\n" + printed);

  auto pipeline = buildPipeline(*elements);
  if (!pipeline) {
    expectCleanRefusal(pipeline.status(), "buildPipeline");
    return 0;
  }
  const std::string expanded = pipeline->expandedPipeline();
  auto rebuilt = buildPipeline(expanded);
  if (!rebuilt) fail("the expanded pipeline does not build: " + expanded, rebuilt.status().message());
  if (rebuilt->expandedPipeline() != expanded) fail("the expanded pipeline changes when rebuilt", expanded + "\n" + rebuilt->expandedPipeline());
  return 0;
}
