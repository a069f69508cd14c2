// `lowbit export --format qdq|qonnx` and `lowbit verify` of the ONNX files, run as programs on one
// run trained once on a tiny CSV set: the files, their model.json, ONNX Runtime's agreement with
// the C++ reference, and the bad requests (a stage that is not fully quantized, weights no ONNX
// format can express, options of another format) as errors naming the layer and the format with
// nothing written.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/run_lowbit.h"
#include "lowbit/export/onnx/onnx_runtime.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

using testing::exists;
using testing::quoted;
using testing::run_lowbit;
using testing::TempDir;
using testing::write_three_class_csv;

class ExportOnnxCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    // Three classes in the plane, written without randomness; a test split for verify.
    for (const char* name : {"train.csv", "test.csv"}) write_three_class_csv(*dir_ / name);
    const std::string quantized_stage = R"(
    from: fp
    epochs: 2
    batch_size: 16
    optimizer: {type: adam, lr: 0.01}
    quantization:
      activations: "uniform:bits=8"
      layers:
        - {match: fc1, inputs: "uniform:bits=8"}
        - {match: fc3, outputs: "uniform:bits=8"}
)";
    util::write_text_atomically(
        *dir_ / "run.yaml",
        "output: " + (*dir_ / "run") + "\ndata: {source: csv, train: " + (*dir_ / "train.csv") +
            ", test: " + (*dir_ / "test.csv") + ", label_column: label}\n" +
            "model: {type: mlp, widths: [8, 8]}\nstages:\n"
            "  - name: fp\n    epochs: 2\n    batch_size: 16\n"
            "    optimizer: {type: adam, lr: 0.02}\n" +
            "  - name: w4a8" + quantized_stage + "      weights: \"sym:bits=4\"\n" +
            "  - name: nf4" + quantized_stage + "      weights: \"nf4\"\n" + "  - name: e2m1" +
            quantized_stage + "      weights: \"fp:e=2,m=1\"\n");
    train_ = run_lowbit("train " + quoted(*dir_ / "run.yaml"));
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override { ASSERT_EQ(train_.code, 0) << train_.err << train_.out; }

  static std::string run() { return *dir_ / "run"; }

  static std::unique_ptr<TempDir> dir_;
  static testing::RunResult train_;
};

std::unique_ptr<TempDir> ExportOnnxCommandTest::dir_;
testing::RunResult ExportOnnxCommandTest::train_;

TEST_F(ExportOnnxCommandTest, QdqAndQonnxAreWrittenAndAgreeUnderOnnxRuntime) {
  for (const std::string format : {"qdq", "qonnx"}) {
    const std::string out = *dir_ / ("export_" + format);
    const auto e = run_lowbit("export " + quoted(run()) + " --stage w4a8 --format " + format +
                              " --out " + quoted(out));
    ASSERT_EQ(e.code, 0) << e.err << e.out;
    EXPECT_NE(e.out.find("as " + format + " (opset 13)"), std::string::npos) << e.out;
    EXPECT_NE(e.out.find("ONNX checker: passed"), std::string::npos) << e.out;
    ASSERT_TRUE(exists(out + "/model.onnx"));
    ASSERT_TRUE(exists(out + "/.lowbit-export"));
    EXPECT_FALSE(exists(out + "/model.c"));
    const nlohmann::json json = nlohmann::json::parse(util::read_file(out + "/model.json"));
    EXPECT_EQ(json.at("format"), "lowbit-onnx-model");
    EXPECT_EQ(json.at("onnx_format"), format);
    EXPECT_EQ(json.at("checked"), true);
    EXPECT_EQ(json.at("provenance").at("stage"), "w4a8");
    EXPECT_EQ(json.at("layers").size(), 3u);

    // `lowbit size` of an ONNX export: the integer model's table and the file's size.
    const auto s = run_lowbit("size " + quoted(out));
    ASSERT_EQ(s.code, 0) << s.err;
    EXPECT_NE(s.out.find("ONNX file " + out + "/model.onnx (" + format + ", opset 13): "),
              std::string::npos)
        << s.out;

    const std::string why = exporter::onnx_runtime_unavailable_reason();
    if (!why.empty()) {
      std::cout << "ONNX Runtime not available, " << format << " not run: " << why << "\n";
      continue;
    }
    const auto v = run_lowbit("verify " + quoted(out) + " --run " + quoted(run()));
    ASSERT_EQ(v.code, 0) << v.err << v.out;
    // 150 test samples x 3 outputs; the verify run asserts every own difference is a rounding
    // tie of at most one code, and this small model has none.
    EXPECT_NE(
        v.out.find("output codes equal to the C++ reference: 450 of 450 (100%), max |diff| 0"),
        std::string::npos)
        << v.out;
    EXPECT_NE(v.out.find("per layer on the first 150 samples: " + format +
                         " under ONNX Runtime (optimisations disabled), 150 samples: 0 codes "
                         "differ"),
              std::string::npos)
        << v.out;
    EXPECT_NE(v.out.find("ONNX model accuracy: "), std::string::npos) << v.out;
    if (format == "qonnx") {
      EXPECT_NE(v.out.find("FunctionProtos added"), std::string::npos) << v.out;
    }
  }
  // The QONNX file with its functions is run as written.
  const std::string out = *dir_ / "export_qonnx_runnable";
  const auto e =
      run_lowbit("export " + quoted(run()) +
                 " --stage w4a8 --format qonnx --runnable-functions --out " + quoted(out));
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(nlohmann::json::parse(util::read_file(out + "/model.json")).at("runnable_functions"),
            true);
  if (!exporter::onnx_runtime_unavailable_reason().empty()) {
    GTEST_SKIP() << "ONNX Runtime not available: " << exporter::onnx_runtime_unavailable_reason();
  }
  const auto v = run_lowbit("verify " + quoted(out) + " --run " + quoted(run()));
  ASSERT_EQ(v.code, 0) << v.err << v.out;
  EXPECT_EQ(v.out.find("FunctionProtos added"), std::string::npos) << v.out;
}

TEST_F(ExportOnnxCommandTest, Int4QdqAtOpset21IsWrittenUnchecked) {
  const std::string out = *dir_ / "export_int4";
  const auto e =
      run_lowbit("export " + quoted(run()) +
                 " --stage w4a8 --format qdq --opset 21 --int4-weights --out " + quoted(out));
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_NE(e.out.find("ONNX checker: not run"), std::string::npos) << e.out;
  const nlohmann::json json = nlohmann::json::parse(util::read_file(out + "/model.json"));
  EXPECT_EQ(json.at("opset"), 21);
  EXPECT_EQ(json.at("int4_weights"), true);
}

TEST_F(ExportOnnxCommandTest, BadRequestsNameTheLayerAndFormatAndWriteNothing) {
  struct Case {
    std::string args;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      // Not fully quantized: the float stage's first layer has no input quantizer.
      {"--stage fp --format qdq", {"layer 'fc1'", "qdq"}},
      {"--stage fp --format qonnx", {"layer 'fc1'", "qonnx"}},
      // Codebook and minifloat weights have no integer codes.
      {"--stage nf4 --format qonnx",
       {"export --format qonnx of stage 'nf4'", "layer 'fc1'", "codebook"}},
      {"--stage nf4 --format qdq", {"export --format qdq of stage 'nf4'", "layer 'fc1'"}},
      {"--stage e2m1 --format qonnx", {"export --format qonnx of stage 'e2m1'", "layer 'fc1'"}},
      // Options of another format or a bad opset.
      {"--stage w4a8 --format qdq --target rv32e", {"--format qdq", "--target", "--format c only"}},
      {"--stage w4a8 --format qonnx --prefix net", {"--format qonnx", "--prefix"}},
      {"--stage w4a8 --format qonnx --int4-weights", {"--format qonnx", "qdq option"}},
      {"--stage w4a8 --format qdq --runnable-functions", {"--format qdq", "qonnx option"}},
      {"--stage w4a8 --opset 13", {"--format c", "--opset is an ONNX option"}},
      {"--stage w4a8 --format qdq --opset 12", {"qdq export: opset 12"}},
      {"--stage w4a8 --format qdq --int4-weights", {"qdq export: int4 weights need opset 21"}},
      {"--stage w4a8 --format qonnx --opset 21", {"qonnx export: opset 21"}},
  };
  const std::string out = *dir_ / "refused";
  for (const Case& c : cases) {
    const auto r = run_lowbit("export " + quoted(run()) + " " + c.args + " --out " + quoted(out));
    EXPECT_EQ(r.code, 1) << c.args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("lowbit: error: ", 0), 0u) << c.args << "\n" << r.err;
    for (const std::string& text : c.expected) {
      EXPECT_NE(r.err.find(text), std::string::npos) << c.args << ": no '" << text << "' in\n"
                                                     << r.err;
    }
    EXPECT_FALSE(exists(out)) << c.args;
  }
  const auto unknown =
      run_lowbit("export " + quoted(run()) + " --stage w4a8 --format onnx --out " + quoted(out));
  EXPECT_EQ(unknown.code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("qonnx"), std::string::npos) << unknown.err;
  EXPECT_FALSE(exists(out));

  // verify of an ONNX export takes no --target.
  const std::string good = *dir_ / "export_for_verify";
  ASSERT_EQ(
      run_lowbit("export " + quoted(run()) + " --stage w4a8 --format qdq --out " + quoted(good))
          .code,
      0);
  const auto v = run_lowbit("verify " + quoted(good) + " --run " + quoted(run()) + " --target x86");
  EXPECT_EQ(v.code, 1);
  EXPECT_NE(v.err.find("is a qdq (ONNX) export; --target applies to C exports"), std::string::npos)
      << v.err;
}

TEST_F(ExportOnnxCommandTest, HelpNamesTheFormats) {
  const auto help = run_lowbit("export --help");
  ASSERT_EQ(help.code, 0);
  for (const char* text :
       {"--format", "qdq", "qonnx", "--opset", "--int4-weights", "--runnable-functions"}) {
    EXPECT_NE(help.out.find(text), std::string::npos) << text << "\n" << help.out;
  }
}

}  // namespace
}  // namespace lowbit::cli
