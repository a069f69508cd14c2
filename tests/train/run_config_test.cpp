#include "lowbit/train/run_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace lowbit::train {
namespace {

const char* kBase = R"(seed: 7
threads: 1
output: runs/x
data: {source: smartpix, count: 100}
model: {type: mlp, widths: [8]}
stages:
  - name: fp
    epochs: 3
    optimizer: {type: adam, lr: 0.001}
    loss: {type: bce_with_logits}
  - name: w4
    from: fp
    strict: true
    epochs: 4
    batch_size: 16
    optimizer: {type: adam, lr: 0.0005}
    lr_schedule: {type: polynomial, power: 2, end_lr: 0.00001}
    clipping: {mode: global_norm, max_norm: 1.0}
    loss: {type: bce_with_logits}
    best: {metric: val_auc}
    quantization:
      weights: "uniform:bits=4"
      activations: "uniform:bits=8,signed=0"
      layers:
        - {match: "fc2", weights: "uniform:bits=8", biases: none}
    events:
      - {at: 2, action: set_bits, bits: 2, layers: "fc*", role: weights}
      - {at: 1, action: set_lr, lr: 0.0001}
      - {at: 3, action: freeze}
)";

std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse_run_config(ConfigNode::parse(text, "run.yaml", overrides));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, ReadsEveryStageSetting) {
  RunConfig run = parse_run_config(ConfigNode::parse(kBase, "run.yaml"));
  EXPECT_EQ(run.seed, 7u);
  EXPECT_EQ(run.output, "runs/x");
  ASSERT_EQ(run.stages.size(), 2u);
  const StageConfig& fp = run.stages[0];
  EXPECT_EQ(fp.batch_size, 64);
  EXPECT_TRUE(fp.from.empty());
  EXPECT_EQ(fp.best_metric, "val_accuracy");
  const StageConfig& w4 = run.stage("w4");
  EXPECT_EQ(w4.from, "fp");
  EXPECT_TRUE(w4.from_stage);
  EXPECT_TRUE(w4.strict);
  EXPECT_EQ(w4.epochs, 4);
  EXPECT_EQ(w4.batch_size, 16);
  EXPECT_EQ(w4.optimizer.lr, 0.0005);
  EXPECT_EQ(w4.lr_schedule.type, LrScheduleType::kPolynomial);
  EXPECT_EQ(w4.lr_schedule.power, 2.0);
  EXPECT_EQ(w4.clipping.mode, ClipMode::kGlobalNorm);
  EXPECT_EQ(w4.loss.type, LossType::kBinaryCrossEntropyWithLogits);
  EXPECT_EQ(w4.best_metric, "val_auc");
  EXPECT_EQ(w4.best_mode, MetricMode::kMax);
  EXPECT_EQ(w4.quantization.weights, "uniform:bits=4");
  EXPECT_EQ(w4.quantization.biases, "");
  ASSERT_EQ(w4.quantization.layers.size(), 1u);
  EXPECT_EQ(*w4.quantization.layers[0].weights, "uniform:bits=8");
  EXPECT_EQ(*w4.quantization.layers[0].biases, "");
  EXPECT_FALSE(w4.quantization.layers[0].activations.has_value());
  ASSERT_EQ(w4.events.size(), 3u);  // sorted by epoch
  EXPECT_EQ(w4.events[0].action, EventAction::kSetLr);
  EXPECT_EQ(w4.events[0].lr, 0.0001);
  EXPECT_EQ(w4.events[1].action, EventAction::kSetBits);
  EXPECT_EQ(w4.events[1].bits, 2);
  EXPECT_EQ(w4.events[1].layers, "fc*");
  EXPECT_EQ(w4.events[1].role, "weights");
  EXPECT_EQ(w4.events[2].action, EventAction::kFreeze);
  EXPECT_EQ(w4.events[2].role, "all");
  EXPECT_NE(w4.yaml.find("name: w4"), std::string::npos);
  EXPECT_THROW(run.stage("nope"), ConfigError);
}

TEST(RunConfig, UnknownKeyNamesKeyFileAndLine) {
  std::string text = kBase;
  text.replace(text.find("    batch_size: 16"), 0, "    batch_sise: 16\n");
  const std::string message = error_of(text);
  EXPECT_NE(message.find("batch_sise"), std::string::npos) << message;
  EXPECT_NE(message.find("run.yaml:15:5"), std::string::npos) << message;
  EXPECT_NE(message.find("stages[1]"), std::string::npos) << message;
  EXPECT_NE(message.find("batch_size"), std::string::npos) << message;  // the accepted keys
}

TEST(RunConfig, BadValuesAreErrorsNamingTheKey) {
  EXPECT_NE(error_of(kBase, {"stages.1.from=nothing"}).find("from"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"stages.0.name=w4"}).find("used twice"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"stages.1.events.0.at=9"}).find("[0, 3]"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"stages.1.events.0.action=jump"}).find("set_bits"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"stages.1.quantization.weights=nosuch:bits=4"})
                .find("stages[1].quantization.weights"),
            std::string::npos);
  EXPECT_NE(error_of(kBase, {"stages.1.events.1.spec=x"}).find("spec"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"stages.0.epochs=0"}).find("epochs"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"stages.0.regularizers=[{type: l1}]"}).find("regularizer"),
            std::string::npos);
  EXPECT_NE(error_of("data: {}\nmodel: {}\nstages: []\n").find("stages"), std::string::npos);
}

TEST(RunConfig, OverridesApplyToStages) {
  RunConfig run =
      parse_run_config(ConfigNode::parse(kBase, "run.yaml", {"stages.1.epochs=6", "seed=3"}));
  EXPECT_EQ(run.stage("w4").epochs, 6);
  EXPECT_EQ(run.seed, 3u);
}

}  // namespace
}  // namespace lowbit::train

namespace lowbit::train {
namespace {

// Every shipped config (and every bench config) must stay readable as the code changes.
TEST(RunConfig, EveryShippedConfigParses) {
  int files = 0;
  for (const char* folder : {"configs", "bench/configs", "bench/methods"}) {
    const std::filesystem::path dir = std::filesystem::path(LOWBIT_SOURCE_DIR) / folder;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() != ".yaml") continue;
      ++files;
      RunConfig run;
      EXPECT_NO_THROW(run = load_run_config(entry.path().string())) << entry.path();
      EXPECT_FALSE(run.stages.empty()) << entry.path();
    }
  }
  EXPECT_GE(files, 10);
  // The LSQ + BR recipe: warm-up, freeze of every step, BR from the freeze on.
  RunConfig br =
      load_run_config(std::string(LOWBIT_SOURCE_DIR) + "/configs/fmnist_cnn_lsq_br.yaml");
  const StageConfig& qat = br.stage("w2a2_br");
  ASSERT_EQ(qat.events.size(), 1u);
  EXPECT_EQ(qat.events[0].action, EventAction::kFreeze);
  ASSERT_EQ(qat.regularizers.size(), 1u);
  EXPECT_EQ(qat.regularizers[0]->name(), "bin");
}

}  // namespace
}  // namespace lowbit::train
