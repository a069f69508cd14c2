#include "lowbit/train/trainer.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "lowbit/models/mlp.h"
#include "lowbit/nn/qlinear.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/train/quantize/quantize_model.h"
#include "lowbit/util/atomic_file.h"
#include "train/train_fixtures.h"

namespace lowbit::train {
namespace {

StageData small_data(bool class_targets) {
  return {testing::blobs(192, 1, class_targets), testing::blobs(64, 2, class_targets),
          testing::blobs(64, 3, class_targets)};
}

torch::nn::AnyModule make_mlp(uint64_t seed, int64_t outputs = 1) {
  torch::manual_seed(seed);
  models::MlpOptions options;
  options.in_features = 2;
  options.widths = {8};
  options.num_outputs = outputs;
  return torch::nn::AnyModule(models::Mlp(options));
}

StageConfig stage_from(const std::string& yaml) {
  return parse_stage(config::ConfigNode::parse(yaml, "stage.yaml"), {});
}

const char* kStage = R"(name: s
epochs: 4
batch_size: 32
optimizer: {type: adam, lr: 0.05}
lr_schedule: {type: polynomial, power: 2, end_lr: 0.005}
clipping: {mode: global_norm, max_norm: 1.0}
loss: {type: bce_with_logits}
quantization: {weights: "uniform:bits=4"}
)";

class TrainerTest : public testing::TrainingTest {
 protected:
  TrainerOptions options(const std::string& run) { return training_options(run, 11); }
};

TEST_F(TrainerTest, LearnsBlobsAndWritesMetricsAndCheckpoints) {
  StageConfig stage = stage_from(kStage);
  torch::nn::AnyModule model = make_mlp(1);
  quantize_model(*model.ptr(), stage.quantization);
  StageResult result = Trainer(model, stage, options("run")).run(small_data(false));
  EXPECT_TRUE(result.completed);
  EXPECT_EQ(result.epochs_run, 4);
  EXPECT_EQ(result.test_set, "test");
  EXPECT_GT(result.test.accuracy, 0.85) << log_.str();
  EXPECT_GT(result.test.auc, 0.9);
  EXPECT_EQ(result.bits, "w4 afp");
  EXPECT_EQ(result.parameters, 2 * 8 + 8 + 8 + 1);
  // Weights at 4 bits, biases at 32: (16 + 8) * 4 + (8 + 1) * 32 bits.
  EXPECT_EQ(result.weight_bytes, ((16 + 8) * 4 + (8 + 1) * 32) / 8);
  const std::string csv = util::read_file(path("run/metrics.csv"));
  EXPECT_EQ(csv.rfind("stage,epoch,lr,train_loss,train_accuracy,val_loss,val_"
                      "accuracy,val_auc,"
                      "seconds\n",
                      0),
            0u);
  int rows = 0;
  for (char c : csv) rows += c == '\n';
  EXPECT_EQ(rows, 5);
  EXPECT_NE(csv.find("\ns,4,"), std::string::npos);
  Checkpoint last = load_checkpoint(path("run/s/last.pt"));
  EXPECT_EQ(last.epoch, 3);
  EXPECT_EQ(last.stage_config, stage.yaml);
  Checkpoint best = load_checkpoint(path("run/s/best.pt"));
  EXPECT_EQ(best.epoch, result.best_epoch);
}

TEST_F(TrainerTest, ResumeReachesTheSameWeightsAsAnUninterruptedRun) {
  StageConfig stage = stage_from(std::string(kStage) +
                                 "events: [{at: 2, action: set_bits, bits: 3, role: weights}]\n");
  torch::nn::AnyModule a = make_mlp(1);
  quantize_model(*a.ptr(), stage.quantization);
  Trainer(a, stage, options("full")).run(small_data(false));

  torch::nn::AnyModule b = make_mlp(1);
  quantize_model(*b.ptr(), stage.quantization);
  TrainerOptions first = options("resumed");
  int epochs_done = 0;
  first.stop_requested = [&] { return ++epochs_done == 2; };
  StageResult stopped = Trainer(b, stage, first).run(small_data(false));
  EXPECT_FALSE(stopped.completed);
  EXPECT_TRUE(stopped.interrupted);
  EXPECT_EQ(load_checkpoint(path("resumed/s/last.pt")).epoch, 1);

  // A new process: another initialisation, the quantizers of the config, then
  // --resume.
  torch::nn::AnyModule c = make_mlp(99);
  quantize_model(*c.ptr(), stage.quantization);
  TrainerOptions second = options("resumed");
  second.resume = true;
  StageResult resumed = Trainer(c, stage, second).run(small_data(false));
  EXPECT_TRUE(resumed.completed);
  EXPECT_NE(log_.str().find("resuming after epoch 2"), std::string::npos);

  Checkpoint full = load_checkpoint(path("full/s/last.pt"));
  Checkpoint again = load_checkpoint(path("resumed/s/last.pt"));
  ASSERT_EQ(full.model.size(), again.model.size());
  for (const auto& item : full.model) {
    EXPECT_TRUE(torch::equal(item.value(), again.model[item.key()])) << item.key();
  }
  EXPECT_EQ(full.best_epoch, again.best_epoch);
  const std::string csv = util::read_file(path("resumed/metrics.csv"));
  int rows = 0;
  for (char c : csv) rows += c == '\n';
  EXPECT_EQ(rows, 5);  // header + epochs 1, 2 before the stop and 3, 4 after it
}

// A regularizer that returns NaN from a given epoch on, to trip the NaN guard.
class NanFromEpoch : public Regularizer {
 public:
  explicit NanFromEpoch(int64_t epoch) : epoch_(epoch) {}
  torch::Tensor penalty(torch::nn::Module&, int64_t epoch) override {
    return torch::tensor(epoch >= epoch_ ? std::numeric_limits<float>::quiet_NaN() : 0.0f);
  }
  std::string name() const override { return "nan_from_epoch"; }

 private:
  int64_t epoch_;
};

TEST_F(TrainerTest, NanLossStopsTheStageAndKeepsTheLastGoodCheckpoint) {
  register_regularizer("nan_from_epoch", [](const config::ConfigNode& node) {
    return std::make_shared<NanFromEpoch>(node.require<int64_t>("epoch"));
  });
  StageConfig stage =
      stage_from(std::string(kStage) + "regularizers: [{type: nan_from_epoch, epoch: 2}]\n");
  torch::nn::AnyModule model = make_mlp(1);
  StageResult result = Trainer(model, stage, options("run")).run(small_data(false));
  EXPECT_FALSE(result.completed);
  EXPECT_FALSE(result.interrupted);
  EXPECT_EQ(result.stop_reason, "loss became NaN at epoch 3, batch 1");
  EXPECT_EQ(result.epochs_run, 2);
  EXPECT_NE(log_.str().find("stopping the stage"), std::string::npos);
  Checkpoint last = load_checkpoint(path("run/s/last.pt"));
  EXPECT_EQ(last.epoch, 1);
  for (const auto& item : last.model) {
    EXPECT_TRUE(torch::isfinite(item.value().to(torch::kFloat64)).all().item<bool>());
  }
  EXPECT_FALSE(std::isnan(result.test.loss));  // evaluated with the best good weights
}

TEST_F(TrainerTest, EventsChangeBitsAtTheirEpoch) {
  StageConfig stage = stage_from(std::string(kStage) +
                                 "events: [{at: 2, action: set_bits, bits: 2, layers: 'fc1'}]\n");
  torch::nn::AnyModule model = make_mlp(1);
  quantize_model(*model.ptr(), stage.quantization);
  auto fc1 =
      std::dynamic_pointer_cast<nn::QLinearImpl>(model.ptr()->named_modules("", false)["fc1"]);
  auto fc2 =
      std::dynamic_pointer_cast<nn::QLinearImpl>(model.ptr()->named_modules("", false)["fc2"]);
  ASSERT_TRUE(fc1 && fc2);
  std::vector<int> fc1_bits, fc2_bits;
  TrainerOptions o = options("run");
  o.stop_requested = [&] {
    fc1_bits.push_back(fc1->weight_quant()->bits());
    fc2_bits.push_back(fc2->weight_quant()->bits());
    return false;
  };
  StageResult result = Trainer(model, stage, o).run(small_data(false));
  EXPECT_TRUE(result.completed);
  EXPECT_EQ(fc1_bits, (std::vector<int>{4, 4, 2}));  // after epochs 1, 2, 3
  EXPECT_EQ(fc2_bits, (std::vector<int>{4, 4, 4}));
  EXPECT_NE(log_.str().find("epoch 3: set 2 bits on 1 quantizer(s) of layers 'fc1'"),
            std::string::npos);
}

// Weights picked on the 4-bit grid must not be reported for the 2-bit model: a grid change in
// the last epoch leaves that epoch as the only candidate.
TEST_F(TrainerTest, BestCheckpointSelectionRestartsWhenTheGridChanges) {
  StageConfig stage = stage_from(std::string(kStage) +
                                 "events: [{at: 3, action: set_bits, bits: 2, role: weights}]\n");
  torch::nn::AnyModule model = make_mlp(1);
  quantize_model(*model.ptr(), stage.quantization);
  StageResult result = Trainer(model, stage, options("run")).run(small_data(false));
  EXPECT_TRUE(result.completed);
  EXPECT_EQ(result.best_epoch, 3);
  EXPECT_EQ(load_checkpoint(path("run/s/best.pt")).epoch, 3);
  EXPECT_NE(log_.str().find("epoch 4: the grid changed; best-checkpoint selection restarts"),
            std::string::npos)
      << log_.str();
}

TEST_F(TrainerTest, MulticlassCrossEntropyReportsAccuracyAndTwoClassAuc) {
  StageConfig stage = stage_from(R"(name: ce
epochs: 2
batch_size: 32
optimizer: {type: sgd, lr: 0.1, momentum: 0.9}
best: {metric: val_loss}
)");
  torch::nn::AnyModule model = make_mlp(3, 2);
  StageResult result = Trainer(model, stage, options("run")).run(small_data(true));
  EXPECT_TRUE(result.completed);
  EXPECT_GT(result.test.accuracy, 0.8);
  EXPECT_GT(result.test.auc, 0.85);
  EXPECT_EQ(result.bits, "fp");
}

TEST_F(TrainerTest, AugmentationReachesTheTrainingBatchesAndRepeatsWithTheSeed) {
  // The blobs as 1x1x2 images, so that a flip swaps the two features of training samples.
  StageData images = small_data(false);
  for (data::Dataset* d : {&images.train, &images.val, &images.test}) {
    d->inputs = d->inputs.reshape({d->size(), 1, 1, 2});
  }
  StageData flipped = images;
  flipped.augment = data::AugmentOptions{};
  flipped.augment->flip_probability = 0.5;
  const StageConfig stage = stage_from(kStage);
  auto train = [&](const StageData& data, const std::string& run) {
    torch::nn::AnyModule model = make_mlp(1);
    quantize_model(*model.ptr(), stage.quantization);
    Trainer(model, stage, options(run)).run(data);
    return torch::cat({model.ptr()->parameters()[0].flatten(), model.ptr()->parameters()[1]});
  };
  const torch::Tensor plain = train(images, "plain");
  const torch::Tensor aug = train(flipped, "aug");
  EXPECT_FALSE(torch::equal(plain, aug));
  EXPECT_TRUE(torch::equal(aug, train(flipped, "aug2")));
}

}  // namespace
}  // namespace lowbit::train
