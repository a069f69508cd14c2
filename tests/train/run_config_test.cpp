#include "lowbit/train/run_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
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
    parse_run_config(config::ConfigNode::parse(text, "run.yaml", overrides));
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, ReadsEveryStageSetting) {
  RunConfig run = parse_run_config(config::ConfigNode::parse(kBase, "run.yaml"));
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
  EXPECT_THROW(run.stage("nope"), config::ConfigError);
}

TEST(RunConfig, FullPrecisionIsAStageWithoutQuantizersOrAnEventThatSwitchesOneIn) {
  const auto stage = [](const std::vector<std::string>& overrides) {
    return parse_run_config(config::ConfigNode::parse(kBase, "run.yaml", overrides)).stages[0];
  };
  EXPECT_TRUE(trains_full_precision(stage({})));
  EXPECT_TRUE(trains_full_precision(stage({"stages.0.events=[{at: 1, action: set_lr, lr: 0.1}]"})));
  EXPECT_FALSE(trains_full_precision(stage({"stages.0.quantization={weights: \"sym:bits=4\"}"})));
  EXPECT_FALSE(trains_full_precision(
      stage({"stages.0.quantization={layers: [{match: fc1, inputs: \"uniform:bits=8\"}]}"})));
  EXPECT_FALSE(trains_full_precision(
      stage({"stages.0.events=[{at: 1, action: switch_quantizer, spec: \"uniform:bits=4\", role: "
             "weights}]"})));
  EXPECT_FALSE(trains_full_precision(
      parse_run_config(config::ConfigNode::parse(kBase, "run.yaml")).stages[1]));
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

TEST(RunConfig, StageNamesThatLeaveTheRunDirectoryAreRefused) {
  // A stage's name is the folder of its checkpoints: `..` used to write them beside --out.
  for (const std::string& name : std::vector<std::string>{
           "..", ".", "../x", "a/b", "/abs", "a\\\\b", ".hidden", "-rf", "+x", "a b", "", "tab\\t",
           "nul\\0x", "caf\\u00e9", std::string(kMaxStageNameLength + 1, 'n')}) {
    const std::string message = error_of(kBase, {"stages.0.name=\"" + name + "\""});
    EXPECT_NE(message.find("`stages[0].name`: expected 1 to 64 letters"), std::string::npos)
        << name << ": " << message;
  }
  for (const std::string& name :
       std::vector<std::string>{"w4x", "w4a8.v2", "fp_32-1", "a+b", std::string(64, 'n')}) {
    EXPECT_EQ(error_of(kBase, {"stages.0.name=" + name, "stages.1.from=" + name}), "") << name;
  }
  EXPECT_TRUE(is_safe_stage_name("fp"));
  EXPECT_FALSE(is_safe_stage_name(".."));
  EXPECT_FALSE(is_safe_stage_name(std::string("a\0b", 3)));
}

TEST(RunConfig, AbsurdCountsAreRefusedNamingKeyAndRange) {
  std::string message = error_of(kBase, {"stages.0.epochs=9223372036854775807"});
  EXPECT_NE(message.find("`stages[0].epochs`: expected an integer in [1, 1000000], got "
                         "9223372036854775807"),
            std::string::npos)
      << message;
  message = error_of(kBase, {"stages.1.batch_size=4294967296"});
  EXPECT_NE(message.find("`stages[1].batch_size`: expected an integer in [1, 1048576]"),
            std::string::npos)
      << message;
  EXPECT_NE(error_of(kBase, {"stages.1.batch_size=0"}).find("[1, 1048576], got 0"),
            std::string::npos);
  EXPECT_NE(error_of(kBase, {"threads=100000"}).find("`threads`"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"seed=-1"}).find("`seed`"), std::string::npos);
  message = error_of(kBase, {"stages.0.methods={swa: {bn_batches: 9223372036854775807}}"});
  EXPECT_NE(message.find("`stages[0].methods.swa.bn_batches`: expected an integer in [1, " +
                         std::to_string(kMaxBnBatches) + "]"),
            std::string::npos)
      << message;
  // Too many stages.
  std::string stages = "[";
  for (size_t i = 0; i <= kMaxStages; ++i) {
    stages += (i ? ", " : "") + std::string("{name: s") + std::to_string(i) +
              ", epochs: 1, optimizer: {type: sgd, lr: 0.1}}";
  }
  message = error_of(kBase, {"stages=" + stages + "]"});
  EXPECT_NE(message.find("`stages`: expected at most 1000 stages, got 1001"), std::string::npos)
      << message.substr(0, 200);
}

TEST(RunConfig, HostilePathsAreConfigErrors) {
  // A name longer than the OS allows made std::filesystem::exists throw its own error.
  const std::string long_path = std::string(5000, 'p');
  EXPECT_NE(error_of(kBase, {"stages.1.from=" + long_path})
                .find("`stages[1].from`: expected at "
                      "most 4096 characters"),
            std::string::npos);
  const std::string too_long_for_the_os = "/tmp/" + std::string(300, 'p') + "/ckpt.pt";
  EXPECT_NE(error_of(kBase, {"stages.1.from=" + too_long_for_the_os}).find("existing checkpoint"),
            std::string::npos);
  EXPECT_NE(error_of(kBase, {"stages.1.from=\"best\\0.pt\""}).find("NUL"), std::string::npos);
  EXPECT_NE(error_of(kBase, {"output=\"runs/x\\0y\""}).find("`output`"), std::string::npos);
  EXPECT_NE(
      error_of(kBase, {"stages.1.methods={distill: {teacher: \"" + too_long_for_the_os + "\"}}"})
          .find("teacher"),
      std::string::npos);
  EXPECT_NE(error_of(kBase, {"stages.1.quantization.layers.0.match=" + long_path}).find("match"),
            std::string::npos);
}

TEST(RunConfig, HostileSpecsAreConfigErrors) {
  for (const std::string& spec : std::vector<std::string>{
           "uniform:bits=99999999999999999999", "uniform:bits=nan", "lsq:bits=2147483647",
           "fp:e=1000000,m=1000000", "sym:quantscale=1e39", "sym:quantscale=inf",
           "uniform:bits=4\\0", std::string("uniform:") + std::string(100000, 'x')}) {
    const std::string message = error_of(kBase, {"stages.1.quantization.weights=\"" + spec + "\""});
    EXPECT_NE(message.find("`stages[1].quantization.weights`: expected a quantizer SPEC"),
              std::string::npos)
        << spec.substr(0, 80) << ": " << message;
    EXPECT_LT(message.size(), 600u) << message;
  }
}

TEST(RunConfig, TamperedRunDirectoryConfigIsAnError) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "lowbit_run_config_tampered";
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "config.yaml").string();
  std::string text = kBase;
  text += "extra: &e [*e]\n";
  std::ofstream(file) << text;
  try {
    load_run_config(file);
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(file + ":30:8"), std::string::npos) << e.what();
  }
  std::ofstream(file) << std::string(kBase) + "seed: 8\n";
  try {
    load_run_config(file);
    ADD_FAILURE() << "no error";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(file + ":30:1: `seed`: repeated key (first at " + file +
                                         ":1:1)"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

// A stage may train its own model (a teacher of another architecture); a warm start copies
// tensors by name, so it must come from a stage of the same model.
TEST(RunConfig, StageModelOverridesTheRunsAndWarmStartsNeedTheSameModel) {
  const std::string teacher = "stages.0.model={type: mlp, widths: [32, 16]}";
  const RunConfig same = parse_run_config(
      config::ConfigNode::parse(kBase, "run.yaml", {"stages.0.model={type: mlp, widths: [8]}"}));
  EXPECT_EQ(same.model_of(same.stage("fp")).yaml()["widths"][0].as<int>(), 8);
  EXPECT_EQ(same.model_of(same.stage("w4")).yaml()["widths"][0].as<int>(), 8);

  const std::string error = error_of(kBase, {teacher});
  EXPECT_NE(error.find("from"), std::string::npos) << error;
  EXPECT_NE(error.find("stage 'fp' trains another model"), std::string::npos) << error;

  const RunConfig run = parse_run_config(
      config::ConfigNode::parse(kBase, "run.yaml", {teacher, "stages.1.from=\"\""}));
  EXPECT_EQ(run.model_of(run.stage("fp")).yaml()["widths"].size(), 2u);
  EXPECT_EQ(run.model_of(run.stage("w4")).yaml()["widths"].size(), 1u);
  EXPECT_FALSE(run.stage("w4").model.has_value());
}

TEST(RunConfig, OverridesApplyToStages) {
  RunConfig run = parse_run_config(
      config::ConfigNode::parse(kBase, "run.yaml", {"stages.1.epochs=6", "seed=3"}));
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
