// Pipeline text: parsing, option errors that name pass and key, expansion round trip.
#include <map>

#include "TestUtil.h"
#include "onnxpress/pass/PassManager.h"
#include "onnxpress/driver/PassRegistry.h"

using namespace onnxpress;

TEST(PassManager, ParsesNestedOptionsAndQuotes) {
  auto elements = parsePipelineText(R"(a , b{x=1 y="two words" list=p,q flag}, c{})");
  ASSERT_TRUE(elements) << elements.status().message();
  ASSERT_EQ(elements->size(), 3u);
  EXPECT_EQ((*elements)[0].pass, "a");
  const auto& b = (*elements)[1];
  EXPECT_EQ(b.pass, "b");
  ASSERT_EQ(b.options.size(), 4u);
  EXPECT_EQ(b.options[1].second, "two words");
  EXPECT_EQ(b.options[2].second, "p,q");
  EXPECT_EQ(b.options[3].first, "flag");
  EXPECT_TRUE((*elements)[2].options.empty());
}

TEST(PassManager, SyntaxErrorsAreUsageErrors) {
  for (const char* bad : {"", "a,,b", "a{x=1", "a}x{", "a{x=1 x=2}", "a{=3}", "a{x=\"open}"}) {
    auto r = parsePipelineText(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::Usage) << bad;
  }
}

TEST(PassManager, ErrorsNameThePassAndTheKey) {
  auto unknownPass = buildPipeline("eliminate-dead,no-such-pass");
  ASSERT_FALSE(unknownPass);
  EXPECT_NE(unknownPass.status().message().find("'no-such-pass'"), std::string::npos);

  auto unknownKey = buildPipeline("eliminate-dead{bogus=1}");
  ASSERT_FALSE(unknownKey);
  EXPECT_EQ(unknownKey.status().code(), ErrorCode::Usage);
  EXPECT_NE(unknownKey.status().message().find("pass 'eliminate-dead'"), std::string::npos);
  EXPECT_NE(unknownKey.status().message().find("'bogus'"), std::string::npos);

  auto badValue = buildPipeline("eliminate-dead{functions=maybe}");
  ASSERT_FALSE(badValue);
  EXPECT_NE(badValue.status().message().find("option 'functions'"), std::string::npos);
}

TEST(PassManager, ExpandedPipelineFillsDefaultsAndRoundTrips) {
  auto pm = buildPipeline("eliminate-dead{opsets=false}");
  ASSERT_TRUE(pm);
  const std::string expanded = pm->expandedPipeline();
  EXPECT_EQ(expanded, "eliminate-dead{functions=true opsets=false}");
  auto again = buildPipeline(expanded);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->expandedPipeline(), expanded);
}

TEST(PassManager, RegistryListsEveryPassWithOptions) {
  ASSERT_FALSE(registeredPasses().empty());
  // Passes that cannot run without a choice from the user, with a minimal valid one.
  const std::map<std::string, RawOptions> required = {
      {"swap-activation", {{"from", "Sigmoid"}}},
      {"drop-layers", {{"indices", "0"}}},
  };
  for (const auto& info : registeredPasses()) {
    EXPECT_FALSE(info.summary.empty()) << info.name;
    auto pass = info.create({});
    if (auto it = required.find(info.name); it != required.end()) {
      ASSERT_FALSE(pass) << info.name << " should refuse to run without options";
      EXPECT_EQ(pass.status().code(), ErrorCode::Usage);
      EXPECT_NE(pass.status().message().find(info.name), std::string::npos) << pass.status().message();
      pass = info.create(it->second);
    }
    ASSERT_TRUE(pass) << info.name << ": " << pass.status().message();
    EXPECT_EQ((*pass)->name(), info.name);
    auto clone = (*pass)->clone();
    EXPECT_EQ(clone->optionsString(), (*pass)->optionsString());
  }
}

TEST(PassManager, RunsPassesAndRecordsStatistics) {
  Model m = test::parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] X) => (float[2] Y)
{
  Y = Relu(X)
  Z = Neg(X)
}
)");
  auto pm = buildPipeline("eliminate-dead,eliminate-dead");
  ASSERT_TRUE(pm);
  pm->setVerifyEach(true);
  PassContext ctx;
  ASSERT_TRUE(pm->run(m, ctx).isOk());
  ASSERT_EQ(pm->records().size(), 2u);
  EXPECT_TRUE(pm->records()[0].changed);
  EXPECT_FALSE(pm->records()[1].changed);
}
