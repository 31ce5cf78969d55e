// prune: options, layer selection (op-types, exclude-nodes, per-layer) and
// granularity=layer. Tolerance for granularity=layer: rtol 1e-6, atol 1e-6, since
// dropping the chosen blocks must give exactly what drop-layers gives for the same
// block indices. Unstructured, n:m and sparse storage are in UnstructuredPruningTest.
#include "FusionTestUtil.h"
#include "PassTestUtil.h"
#include "onnxpress/pass/PassOptions.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/pruning/Prune.h"
#include "onnxpress/passes/pruning/PruneParse.h"
#include "onnxpress/passes/pruning/PruneTargets.h"
#include "onnxpress/passes/substitution/DropLayers.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {

// Names every node after its first output, as exporters do, so tests can address them.
void nameNodes(Model& m) {
  m.graph().forEachGraph([](Graph& g) {
    for (Node* n : g.nodes()) n->setName(n->output(0)->name());
  });
}

PassResult runPrune(Model& m, PruneOptions options) {
  PrunePass pass(std::move(options));
  return runPassOn(pass, m);
}

Status parseError(const RawOptions& raw) {
  auto parsed = parseOptions<PruneOptions>("prune", raw);
  return parsed ? Status::ok() : parsed.status();
}

std::vector<std::string> targetNames(Model& m, const PruneOptions& options) {
  auto targets = selectPruneTargets(m, options);
  EXPECT_TRUE(targets) << targets.status().message();
  std::vector<std::string> out;
  if (targets)
    for (const PruneTarget& t : *targets) out.push_back(fmt::format("{}={}", t.node->name(), t.sparsity));
  return out;
}

const char* kLayers = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[1,2,4,4] X, float[2,8] A, float[8,3] Dyn)
  => (float[1,3,4,4] Y, float[2,4] Z, float[2,3] D, float[2,3] I)
<float[3,2,3,3] K = $k$, float[4,8] G = $g$, float[8,3] M = $m$, int64[8,3] Q = $q$>
{
  conv = Conv <pads = [1, 1, 1, 1]> (X, K)
  Y = Relu(conv)
  gemm = Gemm <transB = 1> (A, G)
  Z = Relu(gemm)
  D = MatMul(A, Dyn)
  F = Constant <value = float[8,3] $m$> ()
  I = If(c) <
    then_branch = t () => (float[2,3] o) { o = MatMul(A, M) },
    else_branch = e () => (float[2,3] o) { o = MatMul(A, F) }
  >
}
)";

Model layersModel() {
  Model m = parseModel(substitute(kLayers, {{"$k$", seededLiteral(54, 1)},
                                            {"$g$", seededLiteral(32, 2)},
                                            {"$m$", seededLiteral(24, 3)},
                                            {"$q$", "{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, "
                                                    "18, 19, 20, 21, 22, 23}"}})
                       .c_str());
  nameNodes(m);
  return m;
}

// Three identity residual blocks; block 1 has the smallest weights, block 2 medium ones.
Model blocksModel() {
  Model m = parseModel(substitute(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,5,5] X) => (float[1,4,5,5] Y)
<float[4,4,3,3] W1 = $w1$, float[4,4,3,3] W2 = $w2$, float[4,4,3,3] W3 = $w3$, float[4,4,3,3] W4 = $w4$,
 float[4,4,3,3] W5 = $w5$, float[4,4,3,3] W6 = $w6$>
{
  A1 = Conv <pads = [1, 1, 1, 1]> (X, W1)
  A2 = Relu(A1)
  A3 = Conv <pads = [1, 1, 1, 1]> (A2, W2)
  S1 = Add(X, A3)
  B1 = Conv <pads = [1, 1, 1, 1]> (S1, W3)
  B2 = Relu(B1)
  B3 = Conv <pads = [1, 1, 1, 1]> (B2, W4)
  S2 = Add(S1, B3)
  C1 = Conv <pads = [1, 1, 1, 1]> (S2, W5)
  C2 = Relu(C1)
  C3 = Conv <pads = [1, 1, 1, 1]> (C2, W6)
  Y = Add(S2, C3)
}
)", {{"$w1$", seededLiteral(144, 11)},
     {"$w2$", seededLiteral(144, 12)},
     {"$w3$", seededLiteral(144, 13, -0.1, 0.1)},
     {"$w4$", seededLiteral(144, 14, -0.1, 0.1)},
     {"$w5$", seededLiteral(144, 15, -0.5, 0.5)},
     {"$w6$", seededLiteral(144, 16, -0.5, 0.5)}})
                      .c_str());
  nameNodes(m);
  return m;
}

PruneOptions layerOptions(double sparsity) {
  PruneOptions o;
  o.granularity = "layer";
  o.sparsity = sparsity;
  return o;
}

Model droppedByDropLayers(std::vector<int64_t> indices) {
  Model m = blocksModel();
  DropLayersOptions o;
  o.indices = std::move(indices);
  DropLayersPass pass(o);
  runPassOn(pass, m);
  return m;
}

}  // namespace

TEST(Prune, DefaultOptionsPrintAndParseBack) {
  const std::string printed = printOptions(PruneOptions{});
  EXPECT_EQ(printed,
            "sparsity=0.5 granularity=unstructured n-m=2:4 criterion=l1 scope=auto per-layer= exclude-nodes= "
            "op-types=Conv,Gemm,MatMul sparse-storage=false seed=0");
  auto parsed = parseOptions<PruneOptions>("prune", {{"sparsity", "0.25"}, {"granularity", "n:m"}, {"n-m", "1:4"},
                                                     {"per-layer", "a=0.1,b=0"}, {"exclude-nodes", "^head"}});
  ASSERT_TRUE(parsed) << parsed.status().message();
  EXPECT_EQ(parsed->perLayer, (std::vector<std::string>{"a=0.1", "b=0"}));
  EXPECT_EQ(parsed->nm, "1:4");
}

TEST(Prune, BadOptionsAreUsageErrorsNamingTheOption) {
  const std::vector<std::pair<RawOptions, std::string>> cases = {
      {{{"sparsity", "1"}}, "'sparsity' must be in [0, 1)"},
      {{{"sparsity", "-0.1"}}, "'sparsity' must be in [0, 1)"},
      {{{"granularity", "block"}}, "'granularity'"},
      {{{"n-m", "4:2"}}, "N must not exceed M"},
      {{{"criterion", "l0"}}, "'criterion'"},
      {{{"scope", "model"}}, "'scope'"},
      {{{"op-types", "Relu"}}, "unsupported op 'Relu'"},
      {{{"per-layer", "conv1"}}, "expected NAME=S"},
      {{{"per-layer", "conv1=1.5"}}, "must be a number in [0, 1)"},
      {{{"per-layer", "auto"}}, "'auto' needs the prune command"},
      {{{"exclude-nodes", "(conv"}}, "not a valid regex"},
      {{{"granularity", "layer"}, {"per-layer", "a=0.5"}}, "does not apply to granularity=layer"},
  };
  for (const auto& [raw, expected] : cases) {
    Status s = parseError(raw);
    EXPECT_EQ(s.code(), ErrorCode::Usage) << expected;
    EXPECT_NE(s.message().find(expected), std::string::npos) << s.message();
    EXPECT_EQ(s.message().rfind("pass 'prune': option", 0), 0u) << s.message();
  }
}

TEST(Prune, PerLayerEntriesSplitAtTheLastEquals) {
  auto entries = parsePerLayer({"a=b=0.25", "/0/Conv=0"});
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].name, "a=b");
  EXPECT_EQ((*entries)[0].sparsity, 0.25);
  EXPECT_EQ((*entries)[1].name, "/0/Conv");
}

TEST(Prune, SelectsConstantFloatWeightsOfOpTypesInEveryGraph) {
  Model m = layersModel();
  // D reads a graph input (not constant): no target. The If branches' MatMuls read an
  // outer initializer and an outer Constant node.
  EXPECT_EQ(targetNames(m, PruneOptions{}), (std::vector<std::string>{"conv=0.5", "gemm=0.5", "o=0.5", "o=0.5"}));

  PruneOptions o;
  o.opTypes = {"Gemm"};
  EXPECT_EQ(targetNames(m, o), (std::vector<std::string>{"gemm=0.5"}));

  o = PruneOptions{};
  o.excludeNodes = "^(conv|o)$";
  EXPECT_EQ(targetNames(m, o), (std::vector<std::string>{"gemm=0.5"}));

  o = PruneOptions{};
  o.perLayer = {"conv=0.1", "G=0.2", "F=0"};  // by node name, by weight name, a Constant's output
  EXPECT_EQ(targetNames(m, o), (std::vector<std::string>{"conv=0.1", "gemm=0.2", "o=0.5", "o=0"}));
}

TEST(Prune, PerLayerNameThatMatchesNothingFailsBeforeAnyChange) {
  Model m = layersModel();
  Model before = m.clone();
  PruneOptions o;
  o.perLayer = {"conv=0.3", "nope=0.5"};
  PrunePass pass(o);
  PassContext context;
  auto result = pass.run(m, context);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), ErrorCode::Usage);
  EXPECT_EQ(result.status().message(), "option 'per-layer': 'nope' matches no node or weight name");
  EXPECT_TRUE(equivalent(toProto(before), toProto(m)));

  o.perLayer = {"Y=0.5"};  // a Relu
  auto relu = selectPruneTargets(m, o);
  ASSERT_FALSE(relu);
  EXPECT_NE(relu.status().message().find("'Y' names Relu 'Y', which is not pruned"), std::string::npos)
      << relu.status().message();

  o.perLayer = {"D=0.5"};  // a MatMul without a constant weight
  EXPECT_FALSE(selectPruneTargets(m, o));
  o.perLayer = {"conv=0.5"};
  o.excludeNodes = "conv";  // excluded: the entry has nothing to act on
  EXPECT_FALSE(selectPruneTargets(m, o));
}

TEST(Prune, LayerGranularityDropsTheBlocksWithTheSmallestL1) {
  Model m = blocksModel();
  PassResult r = runPrune(m, layerOptions(0.34));  // round(0.34 * 3) = 1
  EXPECT_EQ(statistic(r, "blocks found"), 3);
  EXPECT_EQ(statistic(r, "blocks dropped"), 1);
  EXPECT_EQ(m.graph().findValue("W3"), nullptr);
  EXPECT_EQ(m.graph().findValue("W4"), nullptr);
  EXPECT_EQ(countOps(m, "Conv"), 4);
  expectSameOutputs(droppedByDropLayers({1}), m, 1e-6, 1e-6);

  Model two = blocksModel();
  PruneOptions o = layerOptions(0.67);  // 2 blocks: 1 and then 2 (medium weights)
  o.criterion = "l2";
  r = runPrune(two, o);
  EXPECT_EQ(statistic(r, "blocks dropped"), 2);
  EXPECT_EQ(countOps(two, "Conv"), 2);
  expectSameOutputs(droppedByDropLayers({1, 2}), two, 1e-6, 1e-6);
}

TEST(Prune, LayerGranularityHonoursExcludeNodesAndZeroSparsity) {
  Model m = blocksModel();
  PruneOptions o = layerOptions(0.34);
  o.excludeNodes = "^B";  // protects block 1: block 2 goes instead
  runPrune(m, o);
  expectSameOutputs(droppedByDropLayers({2}), m, 1e-6, 1e-6);

  Model untouched = blocksModel();
  Model before = untouched.clone();
  PassResult r = runPrune(untouched, layerOptions(0));
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(statistic(r, "blocks found"), 3);
  EXPECT_EQ(countOps(untouched, "Conv"), 6);
  expectSameOutputs(before, untouched, 0, 0);
}

TEST(Prune, RandomLayerCriterionIsSeeded) {
  auto dropWithSeed = [](int64_t seed) {
    Model m = blocksModel();
    PruneOptions o = layerOptions(0.34);
    o.criterion = "random";
    o.seed = seed;
    runPrune(m, o);
    std::string kept;
    for (const char* w : {"W1", "W3", "W5"}) kept += m.graph().findValue(w) ? w : "-";
    return kept;
  };
  const std::string a = dropWithSeed(7);
  EXPECT_EQ(a, dropWithSeed(7));
  EXPECT_EQ(std::count(a.begin(), a.end(), '-'), 1);
}
