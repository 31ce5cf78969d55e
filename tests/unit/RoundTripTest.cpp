// Every model in the ONNX conformance data must survive import -> export unchanged:
// the same graph, every field, and every tensor bit for bit.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "onnxpress/io/Proto.h"

namespace fs = std::filesystem;
using namespace onnxpress;

namespace {
std::vector<fs::path> conformanceModels() {
  std::vector<fs::path> out;
  fs::path root = ONNXPRESS_TESTDATA_DIR;
  if (!fs::exists(root)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.path().extension() == ".onnx") out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST(RoundTrip, EveryConformanceModelIsReproducedExactly) {
  auto models = conformanceModels();
  if (models.empty()) GTEST_SKIP() << "libonnx-testdata not installed at " << ONNXPRESS_TESTDATA_DIR;
  size_t identical = 0;
  for (const auto& path : models) {
    auto original = readModelProto(path.string());
    ASSERT_TRUE(original) << original.status().message();
    onnx::ModelProto input = *original;  // the importer consumes its argument
    auto model = modelFromProto(input, path.parent_path().string(), path.string());
    if (!model) {
      ADD_FAILURE() << path << ": import failed: " << model.status().message();
      continue;
    }
    ASSERT_TRUE(model->graph().verify().isOk()) << path << ": " << model->graph().verify().message();
    auto exported = modelToProto(*model);
    ASSERT_TRUE(exported) << exported.status().message();
    google::protobuf::util::MessageDifferencer diff;
    diff.set_message_field_comparison(google::protobuf::util::MessageDifferencer::EQUIVALENT);
    std::string report;
    diff.ReportDifferencesToString(&report);
    if (diff.Compare(*original, *exported)) {
      ++identical;
    } else {
      ADD_FAILURE() << path << " differs after round trip:\n" << report.substr(0, 2000);
    }
  }
  std::cout << "round trip: " << identical << " of " << models.size() << " conformance models identical\n";
  EXPECT_EQ(identical, models.size());
  EXPECT_GE(models.size(), 1000u);
}
