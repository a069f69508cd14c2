// The spiking flow net through train -> export -> verify -> size (issue 15): a tiny snn_flow with
// an integer LIF, its batch norms folded when quantization starts, exported to C as a sequence
// model (state struct, reset_state/step/finish beside predict), verified with 0 mismatches
// against the C++ reference and an AEE next to the fake-quantized model's; the ONNX backends and
// an unquantized input refuse it naming the layer.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <string>

#include "cli/run_lowbit.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

using testing::run_lowbit;
using testing::TempDir;

class SnnExport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    std::string config = testing::small_flow_run_config(*dir_ / "run");
    // The integer LIF with a shift leak; a w8 stage ready for export.
    config.replace(config.find("time_steps: 3}\nstages"), 14,
                   "time_steps: 3, leak_shift: 3, integer_state: true}");
    config += R"(  - name: w8
    from: fp
    epochs: 1
    batch_size: 4
    optimizer: {type: adam, lr: 0.001}
    loss: {type: flow_epe}
    best: {metric: val_aee}
    events: [{at: 0, action: fold_batchnorm}]
    quantization:
      weights: "uniform:bits=8,narrow=1"
      outputs: "uniform:bits=8,signed=1,narrow=1,scale=ema,momentum=0.1"
      layers: [{match: enc1.conv, inputs: "uniform:bits=8,scale=ema,momentum=0.1"}]
)";
    util::write_text_atomically(*dir_ / "flow.yaml", config);
    train_ = run_lowbit("train '" + (*dir_ / "flow.yaml") + "'");
  }
  static void TearDownTestSuite() { dir_.reset(); }

  static std::unique_ptr<TempDir> dir_;
  static testing::RunResult train_;
};

std::unique_ptr<TempDir> SnnExport::dir_;
testing::RunResult SnnExport::train_;

// The first number after `label` in `text`.
double number_after(const std::string& text, const std::string& label) {
  const size_t at = text.find(label);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + label.size()));
}

TEST_F(SnnExport, ExportsAStreamingSequenceModelThatVerifiesExactly) {
  ASSERT_EQ(train_.code, 0) << train_.err;
  const std::string run = *dir_ / "run";
  const std::string out = *dir_ / "c";
  const auto exported = run_lowbit("export '" + run + "' --stage w8 --out '" + out + "'");
  ASSERT_EQ(exported.code, 0) << exported.err;
  const std::string header = util::read_file(out + "/model.h");
  for (const char* api : {"} model_state_t;", "void model_reset_state(model_state_t* state);",
                          "lowbit_status_t model_step(const int8_t* input, model_state_t* state",
                          "lowbit_status_t model_finish(const model_state_t* state",
                          "#define MODEL_TIME_STEPS 3", "#define MODEL_FRAME_SIZE 768",
                          // enc1's 4 x 8 x 12 neurons hold int16 membranes.
                          "#define MODEL_INPUT_SIZE 2304", "  int16_t l1_membrane[384];"}) {
    EXPECT_NE(header.find(api), std::string::npos) << api << "\n" << header;
  }

  const auto verified = run_lowbit("verify '" + out + "' --run '" + run + "'");
  ASSERT_EQ(verified.code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("mismatches (C vs C++ reference): 0 of 3072 values"),
            std::string::npos)
      << verified.out;
  const double c_aee = number_after(verified.out, "C model AEE: ");
  const double fake_aee = number_after(verified.out, "(fake-quantized model ");
  ASSERT_GT(c_aee, 0) << verified.out;
  ASSERT_GT(fake_aee, 0) << verified.out;
  EXPECT_NEAR(c_aee, fake_aee, 0.05 * fake_aee) << verified.out;
  EXPECT_TRUE(std::regex_search(verified.out, std::regex("per time step: [0-9]+ MACs, [0-9]+ "
                                                         "synaptic operations")))
      << verified.out;
  EXPECT_NE(verified.out.find("spike rates: enc1.lif "), std::string::npos) << verified.out;

  // The sizes of the run and of the export's own model.json name the steps and the state.
  const auto size_run = run_lowbit("size '" + run + "' --stage w8");
  const auto size_export = run_lowbit("size '" + out + "'");
  for (const auto* size : {&size_run, &size_export}) {
    ASSERT_EQ(size->code, 0) << size->err;
    EXPECT_TRUE(std::regex_search(size->out, std::regex("sequence: 3 time steps of [0-9]+ MACs "
                                                        "each; state [0-9]+ bytes")))
        << size->out;
  }
  EXPECT_TRUE(std::regex_search(size_run.out,
                                std::regex("synaptic operations per time step: [0-9]+ of [0-9]+ "
                                           "conv and dense MACs .*on the first 4 evaluation")))
      << size_run.out;
  // The results table has the sequence columns, and RAM for every stage that exports.
  const std::string results = util::read_file(run + "/results.md");
  for (const char* column : {"RAM bytes", "MACs / step", "synaptic ops / step"}) {
    EXPECT_NE(results.find(column), std::string::npos) << column << "\n" << results;
  }
}

TEST_F(SnnExport, OnnxAndAnUnquantizedInputAreRefusedNamingTheLayer) {
  ASSERT_EQ(train_.code, 0) << train_.err;
  const std::string run = *dir_ / "run";
  const auto onnx =
      run_lowbit("export '" + run + "' --stage w8 --format qdq --out '" + (*dir_ / "q") + "'");
  EXPECT_NE(onnx.code, 0);
  EXPECT_NE(onnx.err.find("layer 'enc1.lif'"), std::string::npos) << onnx.err;
  EXPECT_NE(onnx.err.find("--format c"), std::string::npos) << onnx.err;
  EXPECT_FALSE(std::filesystem::exists(*dir_ / "q"));

  const auto fp = run_lowbit("export '" + run + "' --stage fp --out '" + (*dir_ / "f") + "'");
  EXPECT_NE(fp.code, 0);
  EXPECT_NE(fp.err.find("enc1.conv"), std::string::npos) << fp.err;
  EXPECT_FALSE(std::filesystem::exists(*dir_ / "f"));
}

}  // namespace
}  // namespace lowbit::cli
