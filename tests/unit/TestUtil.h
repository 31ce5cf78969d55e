// Helpers for unit tests: build models from ONNX text syntax, compare protos.
#pragma once

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <onnx/defs/parser.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "onnxpress/io/Proto.h"

namespace onnxpress::test {

/// Parses ONNX text syntax (onnx/defs/parser.h) into a ModelProto; fails the test on error.
inline onnx::ModelProto parseProto(const char* text) {
  onnx::ModelProto proto;
  auto status = onnx::OnnxParser::Parse(proto, text);
  EXPECT_TRUE(status.IsOK()) << status.ErrorMessage();
  return proto;
}

/// Parses ONNX text syntax straight into the IR.
inline Model parseModel(const char* text) {
  onnx::ModelProto proto = parseProto(text);
  auto model = modelFromProto(proto, ".", "<test>");
  EXPECT_TRUE(model) << model.status().message();
  return model ? std::move(*model) : Model();
}

/// Converts back to proto, failing the test on error.
inline onnx::ModelProto toProto(const Model& m) {
  auto proto = modelToProto(m);
  EXPECT_TRUE(proto) << proto.status().message();
  return proto ? *proto : onnx::ModelProto();
}

/// Equality with unset fields equal to their defaults; `diff` receives the differences.
inline bool equivalent(const google::protobuf::Message& a, const google::protobuf::Message& b, std::string* diff = nullptr) {
  google::protobuf::util::MessageDifferencer d;
  d.set_message_field_comparison(google::protobuf::util::MessageDifferencer::EQUIVALENT);
  if (diff) d.ReportDifferencesToString(diff);
  return d.Compare(a, b);
}

/// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "onnxpress-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace onnxpress::test
