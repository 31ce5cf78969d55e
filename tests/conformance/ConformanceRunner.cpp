// Runs the ONNX backend conformance data through the built-in runtime.
//
//   onnxpress_conformance [--data DIR] [--report docs/conformance.md]
//                         [--check EXPECTED.txt] [--write-expected EXPECTED.txt] [--filter TEXT] [-v]
//
// Each case is DIR/<suite>/<case>/model.onnx with test_data_set_*/input_*.pb and
// output_*.pb. A case passes when every output matches at the suite's tolerance
// (rtol 1e-3, atol 1e-7, as onnx's backend tests), fails on a mismatch or a
// runtime error, and is skipped when the model needs an op the runtime lacks or
// has non-tensor inputs/outputs. --check exits 1 if any case listed in EXPECTED
// no longer passes (a regression); new passes are reported, not errors.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "onnxpress/io/ModelIO.h"
#include "onnxpress/runtime/Compare.h"
#include "onnxpress/runtime/Executor.h"

namespace fs = std::filesystem;
using namespace onnxpress;
using namespace onnxpress::runtime;

namespace {

enum class Outcome { Pass, Fail, Skip };

struct CaseResult {
  std::string suite, name, op, detail;
  Outcome outcome = Outcome::Skip;
};

std::string caseOp(const Model& m, const std::string& suite, const std::string& name) {
  if (suite != "node") return suite;
  std::set<std::string> ops;
  for (Node* n : m.graph().nodes())
    if (n->opType() != "Constant") ops.insert(n->opType());
  if (ops.size() == 1) return *ops.begin();
  if (name.find("_expanded") != std::string::npos) return "(function-expanded)";
  return "(multi-op)";
}

// onnx 1.12's data stores bfloat16 tensors as uint16 bit patterns (numpy has no
// bfloat16); reinterpret them as the model declares.
TensorData asDeclaredBfloat16(const TensorData& t, const Type& declared) {
  if (t.dtype() != DataType::UInt16 || !declared.isTensor() || declared.elemType != DataType::BFloat16) return t;
  TensorData out = TensorData::allocate(DataType::BFloat16, t.shape());
  std::memcpy(out.raw(), t.raw(), t.byteSize());
  return out;
}

std::vector<fs::path> sortedFiles(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    auto num = [](const fs::path& p) {
      std::string s = p.stem().string();
      return std::stoi(s.substr(s.find('_') + 1));
    };
    return num(a) < num(b);
  });
  return out;
}

CaseResult runCase(const fs::path& dir, const std::string& suite) {
  CaseResult r;
  r.suite = suite;
  r.name = dir.filename().string();
  auto model = loadModel((dir / "model.onnx").string());
  if (!model) {
    r.outcome = Outcome::Fail;
    r.detail = "load: " + model.status().message();
    return r;
  }
  r.op = caseOp(*model, suite, r.name);
  if (r.name.rfind("test_training_dropout", 0) == 0 && r.name.find("zero_ratio") == std::string::npos) {
    r.detail = "expected output depends on the reference implementation's random generator";
    return r;
  }
  for (Value* v : model->graph().inputs())
    if (!v->initializer() && !v->type().isTensor()) {
      r.detail = "non-tensor input " + v->name();
      return r;
    }
  for (Value* v : model->graph().outputs())
    if (!v->type().isTensor() && v->type().kind != Type::Kind::None) {
      r.detail = "non-tensor output " + v->name();
      return r;
    }
  ExecutorOptions options;
  options.threads = 1;
  options.checkInputShapes = false;  // a few cases (castlike) feed data that contradicts the declared shape
  auto executor = Executor::create(*model, options);
  if (!executor) {
    const std::string msg = executor.status().message();
    r.outcome = msg.find("cannot run op") != std::string::npos ? Outcome::Skip : Outcome::Fail;
    r.detail = msg;
    return r;
  }
  auto required = (*executor)->requiredInputs();
  for (const auto& set : sortedFiles(dir, "test_data_set_")) {
    std::map<std::string, TensorData> inputs;
    auto inputFiles = sortedFiles(set, "input_");
    for (size_t i = 0; i < inputFiles.size() && i < required.size(); ++i) {
      auto t = loadTensorFile(inputFiles[i].string());
      if (!t) {
        r.outcome = Outcome::Fail;
        r.detail = t.status().message();
        return r;
      }
      TensorData value = TensorData::copyOf(*t);
      value = asDeclaredBfloat16(value, required[i]->type());
      inputs[required[i]->name()] = std::move(value);
    }
    auto outputs = (*executor)->run(inputs);
    if (!outputs) {
      r.outcome = Outcome::Fail;
      r.detail = outputs.status().message();
      return r;
    }
    auto expectedFiles = sortedFiles(set, "output_");
    for (size_t i = 0; i < expectedFiles.size() && i < outputs->size(); ++i) {
      auto e = loadTensorFile(expectedFiles[i].string());
      if (!e) {
        r.outcome = Outcome::Fail;
        r.detail = e.status().message();
        return r;
      }
      const TensorData expected = asDeclaredBfloat16(TensorData::view(*e), model->graph().outputs()[i]->type());
      CompareResult c = allClose((*outputs)[i], expected, 1e-3, 1e-7);
      if (!c.match) {
        r.outcome = Outcome::Fail;
        r.detail = fmt::format("output {} ('{}'): {}", i, model->graph().outputs()[i]->name(), c.reason);
        return r;
      }
    }
  }
  r.outcome = Outcome::Pass;
  return r;
}

std::string markdownReport(const std::vector<CaseResult>& results) {
  struct Counts { int pass = 0, fail = 0, skip = 0; };
  std::map<std::string, Counts> bySuite, byOp;
  for (const auto& r : results) {
    auto bump = [&](Counts& c) { (r.outcome == Outcome::Pass ? c.pass : r.outcome == Outcome::Fail ? c.fail : c.skip)++; };
    bump(bySuite[r.suite]);
    if (r.suite == "node") bump(byOp[r.op]);
  }
  std::string out = "# Runtime conformance\n\n";
  out += "The built-in runtime against the ONNX backend conformance data of Debian's `libonnx-testdata` 1.12\n"
         "(`/usr/share/libonnx-testdata/data`), at onnx's tolerances (rtol 1e-3, atol 1e-7).\n"
         "Generated by `build/bin/onnxpress_conformance --report docs/conformance.md`; do not edit by hand.\n\n"
         "A case is skipped when its model needs an op the runtime does not implement, when it has\n"
         "sequence/optional inputs or outputs, or (training_dropout) when its expected output comes\n"
         "from the reference implementation's random generator.\n\n";
  out += "| suite | cases | pass | fail | skip | pass rate |\n| --- | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& [suite, c] : bySuite) {
    const int total = c.pass + c.fail + c.skip;
    out += fmt::format("| {} | {} | {} | {} | {} | {:.1f}% |\n", suite, total, c.pass, c.fail, c.skip,
                       total ? 100.0 * c.pass / total : 0.0);
  }
  out += "\n## Node cases by op\n\n| op | cases | pass | fail | skip |\n| --- | ---: | ---: | ---: | ---: |\n";
  for (const auto& [op, c] : byOp) out += fmt::format("| {} | {} | {} | {} | {} |\n", op, c.pass + c.fail + c.skip, c.pass, c.fail, c.skip);
  out += "\n## Failures\n\n";
  for (const auto& r : results)
    if (r.outcome == Outcome::Fail) out += fmt::format("- `{}/{}`: {}\n", r.suite, r.name, r.detail.substr(0, 300));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path data = "/usr/share/libonnx-testdata/data";
  std::string report, check, writeExpected, filter;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--data") data = next();
    else if (a == "--report") report = next();
    else if (a == "--check") check = next();
    else if (a == "--write-expected") writeExpected = next();
    else if (a == "--filter") filter = next();
    else if (a == "-v") verbose = true;
    else {
      std::cerr << "unknown argument " << a << "\n";
      return 1;
    }
  }
  if (!fs::exists(data)) {
    std::cout << "SKIP: no conformance data at " << data << "\n";
    return 0;
  }
  std::vector<CaseResult> results;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    if (!fs::exists(data / suite)) continue;
    std::vector<fs::path> cases;
    for (const auto& e : fs::directory_iterator(data / suite))
      if (fs::exists(e.path() / "model.onnx") && e.path().string().find(filter) != std::string::npos)
        cases.push_back(e.path());
    std::sort(cases.begin(), cases.end());
    for (const auto& c : cases) {
      results.push_back(runCase(c, suite));
      if (verbose && results.back().outcome != Outcome::Pass)
        std::cout << (results.back().outcome == Outcome::Fail ? "FAIL " : "SKIP ") << suite << "/"
                  << results.back().name << ": " << results.back().detail << "\n";
    }
  }
  int pass = 0, fail = 0, skip = 0, nodeCases = 0, nodePass = 0;
  for (const auto& r : results) {
    (r.outcome == Outcome::Pass ? pass : r.outcome == Outcome::Fail ? fail : skip)++;
    if (r.suite == "node") {
      ++nodeCases;
      nodePass += r.outcome == Outcome::Pass;
    }
  }
  std::cout << fmt::format("conformance: {} passed, {} failed, {} skipped; node cases {}/{} ({:.1f}%)\n", pass, fail,
                           skip, nodePass, nodeCases, nodeCases ? 100.0 * nodePass / nodeCases : 0.0);
  if (!report.empty()) std::ofstream(report) << markdownReport(results);
  if (!writeExpected.empty()) {
    std::ofstream out(writeExpected);
    out << "# Conformance cases the runtime passes; CI fails if one of them stops passing.\n"
           "# Regenerate with: build/bin/onnxpress_conformance --write-expected tests/conformance/expected_passes.txt\n";
    for (const auto& r : results)
      if (r.outcome == Outcome::Pass) out << r.suite << "/" << r.name << "\n";
  }
  if (!check.empty()) {
    std::ifstream in(check);
    if (!in) {
      std::cerr << "cannot read " << check << "\n";
      return 1;
    }
    std::map<std::string, const CaseResult*> byName;
    for (const auto& r : results) byName[r.suite + "/" + r.name] = &r;
    int regressions = 0, expected = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      ++expected;
      auto it = byName.find(line);
      if (it == byName.end() || it->second->outcome != Outcome::Pass) {
        ++regressions;
        std::cout << "REGRESSION " << line << ": " << (it == byName.end() ? "case missing" : it->second->detail) << "\n";
      }
    }
    std::cout << fmt::format("{} passed, {} failed\n", expected - regressions, regressions);
    return regressions ? 1 : 0;
  }
  return 0;
}
