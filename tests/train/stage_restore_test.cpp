#include "lowbit/train/checkpoint/stage_restore.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "lowbit/models/model.h"
#include "lowbit/train/quantize/quantize_model.h"
#include "lowbit/train/run.h"
#include "train/train_fixtures.h"

namespace lowbit::train {
namespace {

// A freshly built and quantized model (no checkpoint), as a stage starts.
torch::nn::AnyModule fresh_model(const config::ConfigNode& model_config,
                                 const QuantizationConfig& quantization) {
  torch::manual_seed(1);
  torch::nn::AnyModule model = models::build_model(model_config, 2, 2);
  quantize_model(*model.ptr(), quantization);
  return model;
}

// Every weight grid type, plus learned and observed activation quantizers: each keeps different
// state (lazily shaped statistics, learned steps, per-channel scales), which a restore must bring
// back exactly.
const char* const kWeightSpecs[] = {
    "uniform:bits=4",    "uniform:bits=3,per_channel=1",
    "sym:bits=2",        "sym:bits=4,per_channel=1",
    "ternary",           "binary",
    "binary:centered=1", "nf4",
    "fp:e=2,m=1",        "fp130",
    "lsq:bits=2",        "selfcompress",
};

class StageRestoreTest : public testing::TempDirTest,
                         public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    at::set_num_threads(1);
    data::Dataset d = testing::blobs(160, 4, true);
    std::ofstream csv(path("blobs.csv"));
    csv << "x,y,label\n";
    for (int64_t i = 0; i < d.size(); ++i) {
      csv << d.inputs[i][0].item<float>() << "," << d.inputs[i][1].item<float>() << ","
          << d.targets[i].item<int64_t>() << "\n";
    }
  }
  // A run of a quantized stage `t` and a student stage `s` distilled from it.
  void write_config(const std::string& spec) {
    std::ofstream cfg(path("run.yaml"));
    cfg << "seed: 5\noutput: " << path("out")
        << "\ndata: {source: csv, train: " << path("blobs.csv") << R"(, label_column: label}
model: {type: mlp, widths: [8]}
stages:
  - name: t
    epochs: 3
    batch_size: 32
    optimizer: {type: adam, lr: 0.01}
    quantization:
      weights: ")"
        << spec << R"("
      activations: "uniform:bits=8,signed=0"
      layers: [{match: fc1, inputs: "uniform:bits=8,scale=ema"}]
  - name: s
    epochs: 1
    batch_size: 32
    optimizer: {type: adam, lr: 0.01}
    quantization: {weights: "uniform:bits=8"}
    methods: {distill: {teacher: t, alpha: 0.5, temperature: 2}}
)";
  }
  RunSummary run(RunOptions options = {}) {
    options.log = &log_;
    return run_training(load_run_config(path("run.yaml")), options);
  }
  std::ostringstream log_;
};

TEST_P(StageRestoreTest, ResumeTeacherAndExportRestoreTheSavedModel) {
  write_config(GetParam());
  // Interrupt stage t after its first epoch, then resume it: the resumed stage loads last.pt into
  // a fresh model, which needs the lazily shaped quantizer buffers sized first.
  RunOptions first;
  int epochs_done = 0;
  first.stop_requested = [&] { return ++epochs_done == 1; };
  RunSummary stopped = run(first);
  ASSERT_FALSE(stopped.stopped.empty()) << log_.str();
  RunOptions again;
  again.resume = true;
  RunSummary resumed = run(again);
  ASSERT_TRUE(resumed.stopped.empty()) << log_.str();
  EXPECT_NE(log_.str().find("stage 't': resuming after epoch 1"), std::string::npos) << log_.str();
  // Stage s used t as its teacher.
  EXPECT_NE(log_.str().find("distillation teacher: " + path("out/t/best.pt")), std::string::npos);

  // The restored model is the saved one: every tensor equal, and the same outputs as a model that
  // loads the state the way training left it.
  const Checkpoint best = load_checkpoint(path("out/t/best.pt"));
  const RunConfig config = load_run_config(path("run.yaml"));
  torch::nn::AnyModule model =
      restore_stage_model(*config.model, 2, 2, stage_quantizers(config.stage("t")), best,
                          path("out/t/best.pt"), config.seed);
  const NamedTensors state = model_state(*model.ptr());
  ASSERT_EQ(state.size(), best.model.size());
  for (const auto& item : best.model) {
    ASSERT_NE(state.find(item.key()), nullptr) << item.key();
    EXPECT_TRUE(torch::equal(state[item.key()], item.value())) << item.key();
  }
  // The checkpoint's own saved stage section restores the same model.
  torch::nn::AnyModule from_file = restore_stage_model(
      *config.model, 2, 2, saved_stage_quantizers(best, "best.pt"), best, "best.pt", config.seed);
  const torch::Tensor x = testing::blobs(32, 9, true).inputs;
  EXPECT_TRUE(torch::equal(model.forward(x), from_file.forward(x)));
}

INSTANTIATE_TEST_SUITE_P(EveryGrid, StageRestoreTest, ::testing::ValuesIn(kWeightSpecs));

TEST(RestoreModelState, ReplaysOnlyTheEventsOfTheSavedEpochs) {
  const StageConfig stage = parse_stage(config::ConfigNode::parse(R"(name: s
epochs: 4
optimizer: {type: sgd, lr: 0.1}
quantization: {weights: "uniform:bits=8"}
events: [{at: 3, action: set_bits, bits: 2, role: weights}, {at: 1, action: set_bits, bits: 4, role: weights}]
)",
                                                                  "s.yaml"),
                                        {});
  const config::ConfigNode model_config =
      config::ConfigNode::parse("{type: mlp, widths: [4]}", "m.yaml");
  Checkpoint checkpoint;
  checkpoint.model = model_state(*fresh_model(model_config, stage.quantization).ptr());
  for (int64_t epoch : {0, 1, 2, 3}) {
    checkpoint.epoch = epoch;
    torch::nn::AnyModule m =
        restore_stage_model(model_config, 2, 2, stage_quantizers(stage), checkpoint, "c.pt", 1);
    const std::string bits = bits_summary(*m.ptr());
    const char* expected = epoch < 1 ? "w8" : (epoch < 3 ? "w4" : "w2");
    EXPECT_EQ(bits.rfind(expected, 0), 0u) << "epoch " << epoch << ": " << bits;
  }
}

TEST(RestoreModelState, AStateOfAnotherModelNamesTheFileAndTheTensor) {
  const config::ConfigNode small = config::ConfigNode::parse("{type: mlp, widths: [4]}", "m.yaml");
  const config::ConfigNode large = config::ConfigNode::parse("{type: mlp, widths: [6]}", "m.yaml");
  Checkpoint checkpoint;
  checkpoint.model = model_state(*fresh_model(small, {}).ptr());
  try {
    restore_stage_model(large, 2, 2, {}, checkpoint, "run/w4/best.pt", 1);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("run/w4/best.pt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fc1.weight"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lowbit::train
