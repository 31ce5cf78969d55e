// .npy/.npz parsing and the DATA format, including the bundled real data.
#include <cstring>

#include "TestUtil.h"
#include "onnxpress/data/Dataset.h"
#include "onnxpress/io/ModelIO.h"

using namespace onnxpress;
using namespace onnxpress::test;

namespace {
const std::string kSample = std::string(ONNXPRESS_SOURCE_DIR) + "/models/fashion_mnist/";

// A stored (uncompressed) zip with the given members, as np.savez writes it.
std::string storedZip(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& members) {
  std::string out, dir;
  auto u16 = [](std::string& s, uint16_t v) { s += char(v & 0xff); s += char(v >> 8); };
  auto u32 = [&](std::string& s, uint32_t v) { u16(s, v & 0xffff); u16(s, v >> 16); };
  for (const auto& [name, data] : members) {
    const uint32_t offset = static_cast<uint32_t>(out.size());
    u32(out, 0x04034b50); u16(out, 20); u16(out, 0); u16(out, 0); u16(out, 0); u16(out, 0);
    u32(out, 0); u32(out, data.size()); u32(out, data.size()); u16(out, name.size()); u16(out, 0);
    out += name;
    out.append(data.begin(), data.end());
    u32(dir, 0x02014b50); u16(dir, 20); u16(dir, 20); u16(dir, 0); u16(dir, 0); u16(dir, 0); u16(dir, 0);
    u32(dir, 0); u32(dir, data.size()); u32(dir, data.size()); u16(dir, name.size()); u16(dir, 0); u16(dir, 0);
    u16(dir, 0); u16(dir, 0); u32(dir, 0); u32(dir, offset);
    dir += name;
  }
  const uint32_t dirOffset = static_cast<uint32_t>(out.size());
  out += dir;
  u32(out, 0x06054b50); u16(out, 0); u16(out, 0); u16(out, members.size()); u16(out, members.size());
  u32(out, dir.size()); u32(out, dirOffset); u16(out, 0);
  return out;
}

std::vector<uint8_t> floats(std::vector<float> v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}
}  // namespace

TEST(Npy, SerializeParseRoundTrip) {
  auto data = floats({1, 2, 3, 4, 5, 6});
  for (std::vector<int64_t> shape : {std::vector<int64_t>{6}, {2, 3}, {1, 2, 3}}) {
    auto bytes = serializeNpy(DataType::Float, shape, data);
    EXPECT_EQ((bytes.size() - data.size()) % 64, 0u);  // header padded to 64 bytes
    auto a = parseNpy(bytes, "x.npy");
    ASSERT_TRUE(a) << a.status().message();
    EXPECT_EQ(a->dtype, DataType::Float);
    EXPECT_EQ(a->shape, shape);
    EXPECT_EQ(a->bytes, data);
  }
  auto scalar = parseNpy(serializeNpy(DataType::Int64, {}, std::vector<uint8_t>(8, 0)), "s.npy");
  ASSERT_TRUE(scalar);
  EXPECT_TRUE(scalar->shape.empty());
}

TEST(Npy, RejectsBadArrays) {
  std::string header = "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }";
  std::vector<uint8_t> bigEndian = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(header.size()), 0};
  bigEndian.insert(bigEndian.end(), header.begin(), header.end());
  bigEndian.resize(bigEndian.size() + 8);
  EXPECT_NE(parseNpy(bigEndian, "b.npy").status().message().find("big-endian"), std::string::npos);
  auto truncated = serializeNpy(DataType::Float, {4}, floats({1, 2, 3, 4}));
  truncated.resize(truncated.size() - 3);
  EXPECT_NE(parseNpy(truncated, "t.npy").status().message().find("truncated"), std::string::npos);
  std::vector<uint8_t> junk = {'n', 'o', 't', ' ', 'n', 'p', 'y', '!', '!', '!'};
  EXPECT_EQ(parseNpy(junk, "j.npy").status().code(), ErrorCode::InvalidInput);
}

TEST(Npz, ReadsStoredArchives) {
  TempDir dir;
  writeFile(dir.file("d.npz"), storedZip({{"x.npy", serializeNpy(DataType::Float, {3, 2}, floats({1, 2, 3, 4, 5, 6}))},
                                          {"labels.npy", serializeNpy(DataType::Int64, {3}, std::vector<uint8_t>(24, 0))}}));
  auto arrays = readNpz(dir.file("d.npz"));
  ASSERT_TRUE(arrays) << arrays.status().message();
  ASSERT_EQ(arrays->size(), 2u);
  EXPECT_EQ(arrays->at("x").shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(arrays->at("x").bytes, floats({1, 2, 3, 4, 5, 6}));
  writeFile(dir.file("bad.npz"), "PK\x03\x04 truncated");
  EXPECT_EQ(readNpz(dir.file("bad.npz")).status().code(), ErrorCode::InvalidInput);
}

TEST(Dataset, ReadsTheBundledDeflatedDataAndMatchesTheSampleModel) {
  auto model = loadModel(kSample + "model.onnx");
  ASSERT_TRUE(model) << model.status().message();
  auto eval = Dataset::open(kSample + "eval.npz");
  ASSERT_TRUE(eval) << eval.status().message();
  EXPECT_EQ(eval->size(), 1000);
  EXPECT_TRUE(eval->hasLabels());
  ASSERT_EQ(eval->arrays().count("input"), 1u);
  EXPECT_EQ(eval->arrays().at("input").sampleShape, (std::vector<int64_t>{1, 1, 28, 28}));
  EXPECT_TRUE(eval->validateFor(model->graph()).isOk()) << eval->validateFor(model->graph()).message();
  auto s = eval->sample("input", 999);
  ASSERT_TRUE(s) << s.status().message();
  EXPECT_EQ(s->dims(), (std::vector<int64_t>{1, 1, 28, 28}));
  // Inputs are normalised: (x/255 - 0.2860) / 0.3530 lies in [-0.82, 2.03].
  for (float v : s->data<float>()) {
    EXPECT_GE(v, -0.82f);
    EXPECT_LE(v, 2.03f);
  }
  int histogram[10] = {};
  for (int64_t i = 0; i < eval->size(); ++i) {
    auto label = eval->label(i);
    ASSERT_TRUE(label);
    ASSERT_GE(*label, 0);
    ASSERT_LT(*label, 10);
    ++histogram[*label];
  }
  for (int c = 0; c < 10; ++c) EXPECT_GT(histogram[c], 50) << "class " << c;  // real, balanced labels

  auto calib = Dataset::open(kSample + "calib.npz");
  ASSERT_TRUE(calib);
  EXPECT_EQ(calib->size(), 256);
  EXPECT_FALSE(calib->hasLabels());
}

TEST(Dataset, DirectoriesAndMismatchesWithTheModel) {
  TempDir dir;
  auto part = [&](const std::string& name, int64_t n, std::vector<int64_t> sample, DataType dtype, const char* array) {
    std::vector<int64_t> shape = {n};
    shape.insert(shape.end(), sample.begin(), sample.end());
    int64_t count = n;
    for (int64_t d : sample) count *= d;
    writeFile(dir.file(name), storedZip({{std::string(array) + ".npy",
                                          serializeNpy(dtype, shape, std::vector<uint8_t>(count * 4, 0))}}));
  };
  part("a.npz", 2, {1, 4}, DataType::Float, "X");
  part("b.npz", 3, {1, 4}, DataType::Float, "X");
  auto ds = Dataset::open(dir.path().string());
  ASSERT_TRUE(ds) << ds.status().message();
  EXPECT_EQ(ds->size(), 5);
  EXPECT_TRUE(ds->sample("X", 4));

  Model m = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[B, 4] X) => (float[B, 4] Y) { Y = Relu(X) }
)");
  EXPECT_TRUE(ds->validateFor(m.graph()).isOk()) << ds->validateFor(m.graph()).message();
  Model wrongShape = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[B, 5] X) => (float[B, 5] Y) { Y = Relu(X) }
)");
  EXPECT_NE(ds->validateFor(wrongShape.graph()).message().find("shape [1,4]"), std::string::npos);
  Model wrongName = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[B, 4] Z) => (float[B, 4] Y) { Y = Relu(Z) }
)");
  EXPECT_NE(ds->validateFor(wrongName.graph()).message().find("'X' matches no model input"), std::string::npos);
  Model wrongType = parseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (int64[B, 4] X) => (int64[B, 4] Y) { Y = Neg(X) }
)");
  EXPECT_NE(ds->validateFor(wrongType.graph()).message().find("is float32 but the model input is int64"),
            std::string::npos);

  part("c.npz", 1, {1, 5}, DataType::Float, "X");
  auto mixed = Dataset::open(dir.path().string());
  ASSERT_FALSE(mixed);
  EXPECT_NE(mixed.status().message().find("must match"), std::string::npos);
}
