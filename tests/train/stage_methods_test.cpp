#include "lowbit/train/methods/stage_methods.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <sstream>

#include "lowbit/models/mlp.h"
#include "lowbit/nn/qlinear.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/train/quantize/layer_weights.h"
#include "lowbit/train/quantize/quantize_model.h"
#include "lowbit/train/regularizers/compression.h"
#include "lowbit/train/trainer.h"
#include "lowbit/util/atomic_file.h"
#include "train/train_fixtures.h"

namespace lowbit::train {
namespace {

StageData small_data() {
  return {testing::blobs(192, 1, true), testing::blobs(64, 2, true), testing::blobs(64, 3, true)};
}

torch::nn::AnyModule make_mlp(uint64_t seed, int64_t outputs = 2) {
  torch::manual_seed(seed);
  models::MlpOptions options;
  options.in_features = 2;
  options.widths = {16, 16};
  options.num_outputs = outputs;
  // One output: a sigmoid probability, as binary_cross_entropy stages use.
  if (outputs == 1) options.output_activation = "sigmoid";
  return torch::nn::AnyModule(models::Mlp(options));
}

StageConfig stage_from(const std::string& yaml, const std::vector<std::string>& earlier = {}) {
  return parse_stage(config::ConfigNode::parse(yaml, "stage.yaml"), earlier);
}

const char* kStage = R"(name: s
epochs: 6
batch_size: 32
optimizer: {type: sgd, lr: 0.1, momentum: 0.9, weight_decay: 0.001}
quantization: {weights: "uniform:bits=4"}
)";

class StageMethodsTest : public testing::TrainingTest {
 protected:
  TrainerOptions options(const std::string& run) { return training_options(run, 5); }
};

// Pruned fraction of each layer weight in a saved model state.
std::vector<double> zero_fractions(const NamedTensors& state) {
  std::vector<double> fractions;
  for (const auto& item : state) {
    if (item.key().size() < 7 || item.key().substr(item.key().size() - 7) != ".weight") continue;
    fractions.push_back(item.value().eq(0).sum().item<double>() / item.value().numel());
  }
  return fractions;
}

TEST_F(StageMethodsTest, PruningReachesTheScheduleAndPrunedWeightsStayZeroThroughExportCodes) {
  StageConfig stage =
      stage_from(std::string(kStage) + "methods: {prune: {final: 0.75, begin: 1, end: 3}}\n");
  torch::nn::AnyModule model = make_mlp(1);
  quantize_model(*model.ptr(), stage.quantization);
  StageResult result = Trainer(model, stage, options("run")).run(small_data());
  ASSERT_TRUE(result.completed) << log_.str();
  EXPECT_NE(log_.str().find("pruned to sparsity"), std::string::npos);
  // Schedule: 0 before epoch 1, then 1 - 0.75... cubic to 0.75 at epoch 3; weights are pruned
  // per layer, so every layer holds floor(0.75 n) zeros after training with momentum and decay.
  Checkpoint last = load_checkpoint(path("run/s/last.pt"));
  for (double f : zero_fractions(last.model)) EXPECT_GE(f, 0.75);
  // best.pt is chosen only among epochs at the final sparsity (selection restarts on pruning).
  Checkpoint best = load_checkpoint(path("run/s/best.pt"));
  EXPECT_GE(best.epoch, 3);
  for (double f : zero_fractions(best.model)) EXPECT_GE(f, 0.75);
  // The masks are in the checkpoint, and every pruned weight exports as code 0.
  EXPECT_NE(last.method_state.find("prune.mask.0"), nullptr);
  for (const LayerWeight& layer : layer_weights(*model.ptr(), true)) {
    quant::IntegerForm form = layer.quantizer->integer_form(layer.weight.detach());
    const torch::Tensor pruned = layer.weight.detach().eq(0);
    EXPECT_TRUE(torch::equal(form.codes.masked_select(pruned),
                             torch::zeros({pruned.sum().item<int64_t>()}, form.codes.dtype())))
        << layer.name;
  }
}

TEST_F(StageMethodsTest, ChannelGroupsAndRewindKeepTheMasks) {
  StageConfig stage = stage_from(
      std::string(kStage) +
      "methods: {prune: {final: 0.5, begin: 0, end: 2, rewind: true, channel_groups: {fraction: "
      "0.5, group_size: 4}}}\n");
  torch::nn::AnyModule model = make_mlp(2);
  quantize_model(*model.ptr(), stage.quantization);
  const torch::Tensor initial = model.ptr()->named_parameters()["fc1.weight"].detach().clone();
  Trainer(model, stage, options("run")).run(small_data());
  EXPECT_NE(log_.str().find("rewound"), std::string::npos);
  const torch::Tensor w = model.ptr()->named_parameters()["fc1.weight"].detach();
  // Half of the four groups of four output channels are zero rows.
  const torch::Tensor zero_rows = w.abs().sum(1).eq(0);
  EXPECT_GE(zero_rows.sum().item<int64_t>(), 8);
  EXPECT_GE(w.eq(0).sum().item<double>() / w.numel(), 0.5);
  EXPECT_FALSE(torch::equal(w, initial * w.ne(0)));  // trained on after the rewind
}

TEST_F(StageMethodsTest, ResumeWithPruningAndSwaMatchesAnUninterruptedRun) {
  StageConfig stage = stage_from(std::string(kStage) +
                                 "methods: {prune: {final: 0.5, begin: 1, end: 3}, "
                                 "swa: {start_epoch: 3}}\n");
  torch::nn::AnyModule a = make_mlp(3);
  quantize_model(*a.ptr(), stage.quantization);
  Trainer(a, stage, options("full")).run(small_data());

  torch::nn::AnyModule b = make_mlp(3);
  quantize_model(*b.ptr(), stage.quantization);
  TrainerOptions first = options("resumed");
  int epochs = 0;
  first.stop_requested = [&] { return ++epochs == 4; };
  Trainer(b, stage, first).run(small_data());
  torch::nn::AnyModule c = make_mlp(77);
  quantize_model(*c.ptr(), stage.quantization);
  TrainerOptions second = options("resumed");
  second.resume = true;
  Trainer(c, stage, second).run(small_data());

  Checkpoint full = load_checkpoint(path("full/s/best.pt"));
  Checkpoint again = load_checkpoint(path("resumed/s/best.pt"));
  for (const auto& item : full.model) {
    EXPECT_TRUE(torch::equal(item.value(), again.model[item.key()])) << item.key();
  }
  EXPECT_EQ(full.epoch, 5);  // the SWA model replaces best.pt
}

TEST_F(StageMethodsTest, SwaWritesTheMeanOfTheSnapshotsAndReappliesMasks) {
  MethodsConfig config;
  config.swa = SwaConfig{1, -1};
  torch::nn::AnyModule model = make_mlp(4);
  torch::nn::Module& m = *model.ptr();
  StageMethods methods(config, m, {}, OutputKind::kLogits, path("w.csv"), "s", log_);
  torch::Tensor w = m.named_parameters()["fc1.weight"];
  std::vector<torch::Tensor> seen;
  for (int64_t epoch = 0; epoch < 4; ++epoch) {
    {
      torch::NoGradGuard no_grad;
      w.add_(0.25 * (epoch + 1));
    }
    if (epoch >= 1) seen.push_back(w.detach().clone());
    methods.on_epoch_end(epoch);
  }
  ASSERT_TRUE(methods.has_average());
  int forwards = 0;
  EXPECT_TRUE(methods.finish([&] { ++forwards; }));
  EXPECT_EQ(forwards, 1);
  const torch::Tensor mean = (seen[0] + seen[1] + seen[2]) / 3.0;
  EXPECT_TRUE(torch::allclose(w.detach(), mean, 1e-6, 1e-6));

  // A restored state gives the same average.
  torch::nn::AnyModule copy = make_mlp(4);
  StageMethods restored(config, *copy.ptr(), {}, OutputKind::kLogits, path("w.csv"), "s", log_);
  restored.load_state(methods.state(), "test");
  restored.finish([] {});
  EXPECT_TRUE(
      torch::allclose(copy.ptr()->named_parameters()["fc1.weight"].detach(), mean, 1e-6, 1e-6));
}

TEST_F(StageMethodsTest, DistillationLossUsesTheTeacherOnTheSameInputs) {
  MethodsConfig config;
  config.distill = DistillConfig{"fp", true, DistillationOptions{0.25, 2.0, false}};
  torch::nn::AnyModule student = make_mlp(5);
  torch::nn::AnyModule teacher = make_mlp(6);
  StageMethods methods(config, *student.ptr(), teacher, OutputKind::kLogits, path("w.csv"), "s",
                       log_);
  torch::Tensor x = torch::randn({8, 2});
  torch::Tensor out = student.forward(x);
  torch::Tensor task = torch::tensor(0.7f);
  torch::Tensor expected =
      distillation_loss(out, teacher.forward(x).detach(), task, config.distill->options);
  EXPECT_TRUE(torch::allclose(methods.loss(out, x, task), expected));
  // Sigmoid probabilities are distilled as the Bernoulli KL of their logits.
  torch::nn::AnyModule binary_student = make_mlp(5, 1);
  torch::nn::AnyModule binary_teacher = make_mlp(6, 1);
  StageMethods binary(config, *binary_student.ptr(), binary_teacher, OutputKind::kProbabilities,
                      path("w.csv"), "s", log_);
  // A sigmoid output model: the methods see probabilities, its teacher outputs probabilities too.
  torch::Tensor p = binary_student.forward(x);
  torch::Tensor q = binary_teacher.forward(x).detach();
  const double t = 2.0;
  torch::Tensor ps = torch::sigmoid(torch::logit(p, 1e-6) / t);
  torch::Tensor pt = torch::sigmoid(torch::logit(q, 1e-6) / t);
  torch::Tensor kl =
      (pt * (pt.log() - ps.log()) + (1 - pt) * ((1 - pt).log() - (1 - ps).log())).mean();
  EXPECT_TRUE(torch::allclose(binary.loss(p, x, task), 0.25 * t * t * kl + 0.75 * task, 1e-5));
  EXPECT_THROW(StageMethods(config, *student.ptr(), {}, OutputKind::kLogits, "", "s", log_),
               std::invalid_argument);
}

TEST_F(StageMethodsTest, WeightReportLogsClipAndEntropyPerLayerEveryEpoch) {
  StageConfig stage = stage_from(
      "name: s\nepochs: 2\nbatch_size: 64\noptimizer: {type: adam, lr: 0.01}\n"
      "quantization: {weights: \"uniform:bits=4,scale=octav\"}\n"
      "events: [{at: 1, action: freeze, role: weights}]\n"
      "methods: {weight_report: true}\n");
  torch::nn::AnyModule model = make_mlp(7);
  quantize_model(*model.ptr(), stage.quantization);
  Trainer(model, stage, options("run")).run(small_data());
  EXPECT_NE(log_.str().find("weights clip/entropy[bits]: "), std::string::npos);
  const std::string csv = util::read_file(path("run/weights.csv"));
  EXPECT_EQ(csv.rfind("stage,epoch,layer,bits,clip,entropy,frozen,sparsity\n", 0), 0u);
  // Three layers, two epochs; the second epoch is after the freeze event.
  int rows = 0, frozen = 0;
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    ++rows;
    frozen += line.compare(line.size() - 4, 4, ",1,0") == 0;
  }
  EXPECT_EQ(rows, 6);
  EXPECT_EQ(frozen, 3);
}

TEST_F(StageMethodsTest, LsqStepsStayFrozenUnderBinRegularizationAfterTheFreezeEvent) {
  StageConfig stage = stage_from(
      "name: s\nepochs: 4\nbatch_size: 32\noptimizer: {type: sgd, lr: 0.05, momentum: 0.9}\n"
      "quantization: {weights: \"lsq:bits=2\", activations: \"lsq:bits=2,signed=0\"}\n"
      "events: [{at: 1, action: freeze}]\n"
      "regularizers: [{type: bin, lambda: 5, lambda_act: 1, detach_act_step: false, "
      "start_epoch: 1}]\n");
  torch::nn::AnyModule model = make_mlp(8);
  quantize_model(*model.ptr(), stage.quantization);
  TrainerOptions first = options("run");
  first.stop_requested = [] { return true; };  // stop after epoch 1, the warm-up
  Trainer(model, stage, first).run(small_data());
  const NamedTensors warm = load_checkpoint(path("run/s/last.pt")).model;
  TrainerOptions second = options("run");
  second.resume = true;
  Trainer(model, stage, second).run(small_data());
  const NamedTensors done = load_checkpoint(path("run/s/last.pt")).model;
  int steps = 0;
  for (const auto& item : warm) {
    if (item.key().find(".step") == std::string::npos) continue;
    ++steps;
    EXPECT_TRUE(torch::equal(item.value(), done[item.key()])) << item.key();
  }
  EXPECT_GE(steps, 5);  // three weight and two activation steps
  // The weights themselves kept training under BR.
  EXPECT_FALSE(torch::equal(warm["fc1.weight"], done["fc1.weight"]));
}

TEST_F(StageMethodsTest, LearnedBitsShrinkFasterWithTheQuantizerLrScaleAndStopAtTheFloor) {
  auto mean_bits = [&](double scale, const std::string& run) {
    StageConfig stage = stage_from(
        "name: s\nepochs: 3\nbatch_size: 8\n"
        "optimizer: {type: adam, lr: 0.01, quantizer_lr_scale: " +
        std::to_string(scale) +
        "}\nquantization: {weights: \"selfcompress:bits=6,min_bits=2\"}\n"
        "regularizers: [{type: compression, weight: 1}]\n");
    torch::nn::AnyModule model = make_mlp(9);
    quantize_model(*model.ptr(), stage.quantization);
    Trainer(model, stage, options(run)).run(small_data());
    return compression_bits(*model.ptr()).item<double>();
  };
  const double slow = mean_bits(1.0, "slow");
  const double fast = mean_bits(20.0, "fast");
  EXPECT_LT(slow, 6.0);
  EXPECT_LT(fast, slow);
  EXPECT_DOUBLE_EQ(fast, 2.0);  // the floor: b stops at min_bits
}

TEST(MethodsConfig, BadKeysAndValuesNameTheKey) {
  auto error = [](const std::string& yaml) {
    try {
      parse_methods(config::ConfigNode::parse(yaml, "m.yaml"), 10, {"fp"});
    } catch (const config::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error("{distill: {teacher: nowhere}}").find("teacher"), std::string::npos);
  EXPECT_NE(error("{distill: {teacher: nowhere}}").find("fp"), std::string::npos);
  EXPECT_NE(error("{distill: {teacher: fp, alpha: 2}}").find("alpha"), std::string::npos);
  EXPECT_NE(error("{prune: {final: 1.5}}").find("final"), std::string::npos);
  EXPECT_NE(error("{prune: {}}").find("final"), std::string::npos);
  EXPECT_NE(error("{prune: {final: 0.5, begin: 4, end: 3}}").find("end"), std::string::npos);
  EXPECT_NE(error("{swa: {start_epoch: 10}}").find("start_epoch"), std::string::npos);
  EXPECT_NE(error("{swa: {bn_batches: some}}").find("bn_batches"), std::string::npos);
  EXPECT_NE(error("{sam: {}}").find("sam"), std::string::npos);
  MethodsConfig m = parse_methods(
      config::ConfigNode::parse("{prune: {final: 0.5, scope: global}, swa: {}}", "m.yaml"), 8, {});
  EXPECT_EQ(m.prune->scope, PruneScope::kGlobal);
  EXPECT_EQ(m.prune->schedule.begin, 0);
  EXPECT_EQ(m.prune->schedule.end, 4);
  EXPECT_EQ(m.swa->start_epoch, 6);
  EXPECT_EQ(m.swa->bn_batches, -1);
  EXPECT_FALSE(m.distill.has_value());
}

}  // namespace
}  // namespace lowbit::train
