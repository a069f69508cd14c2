#include "lowbit/train/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "lowbit/util/atomic_file.h"
#include "train/test_models.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(5);
    dir_ = fs::temp_directory_path() /
           ("lowbit_ckpt_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Checkpoint make(testing::TwoLayer& model, torch::optim::Optimizer& optimizer, int64_t epoch) {
    Checkpoint c;
    c.stage = "w4";
    c.epoch = epoch;
    c.best_epoch = epoch - 1;
    c.best_metric = 0.875;
    c.best_metric_name = "val_accuracy";
    c.scheduler_epoch = epoch + 1;
    c.lr_factor = 0.5;
    c.stage_config = "name: w4\nepochs: 3\n";
    c.model = model_state(model);
    c.optimizer_state = optimizer_state_bytes(optimizer);
    return c;
  }

  fs::path dir_;
};

void one_step(testing::TwoLayer& model, torch::optim::Optimizer& optimizer) {
  optimizer.zero_grad();
  model.forward(torch::ones({2, 3})).sum().backward();
  optimizer.step();
}

TEST_F(CheckpointTest, RoundTripRestoresEverything) {
  testing::TwoLayer model(3, 4, 2, true);
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
  one_step(model, optimizer);
  const std::string path = (dir_ / "sub" / "last.pt").string();
  save_checkpoint(make(model, optimizer, 2), path);

  Checkpoint loaded = load_checkpoint(path);
  EXPECT_EQ(loaded.format_version, kCheckpointFormatVersion);
  EXPECT_EQ(loaded.stage, "w4");
  EXPECT_EQ(loaded.epoch, 2);
  EXPECT_EQ(loaded.best_epoch, 1);
  EXPECT_EQ(loaded.best_metric, 0.875);
  EXPECT_EQ(loaded.best_metric_name, "val_accuracy");
  EXPECT_EQ(loaded.scheduler_epoch, 3);
  EXPECT_EQ(loaded.lr_factor, 0.5);
  EXPECT_EQ(loaded.stage_config, "name: w4\nepochs: 3\n");
  ASSERT_EQ(loaded.model.size(), 6u);
  EXPECT_EQ(loaded.model.keys()[0], "fc1.weight");

  // A fresh model and optimizer restored from the checkpoint take the same next step.
  testing::TwoLayer copy(3, 4, 2, true);
  load_model_state(copy, loaded.model, path);
  torch::optim::Adam copy_optimizer(copy.parameters(), torch::optim::AdamOptions(1e-2));
  load_optimizer_state(copy_optimizer, loaded.optimizer_state, path);
  one_step(model, optimizer);
  one_step(copy, copy_optimizer);
  EXPECT_TRUE(torch::equal(model.fc1->weight, copy.fc1->weight));
  EXPECT_TRUE(torch::equal(model.fc2->bias, copy.fc2->bias));
}

TEST_F(CheckpointTest, NanBestMetricSurvives) {
  testing::TwoLayer model(3, 4, 2, false);
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
  Checkpoint c = make(model, optimizer, 0);
  c.best_metric = std::nan("");
  const std::string path = (dir_ / "a.pt").string();
  save_checkpoint(c, path);
  EXPECT_TRUE(std::isnan(load_checkpoint(path).best_metric));
}

TEST_F(CheckpointTest, TruncatedAndForeignFilesGiveErrorsNamingThePath) {
  testing::TwoLayer model(3, 4, 2, false);
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
  const std::string path = (dir_ / "last.pt").string();
  save_checkpoint(make(model, optimizer, 1), path);
  const std::string bytes = util::read_file(path);
  const std::string truncated = (dir_ / "truncated.pt").string();
  {
    std::ofstream out(truncated, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  try {
    load_checkpoint(truncated);
    FAIL() << "expected CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(truncated), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos);
  }
  const std::string missing = (dir_ / "none.pt").string();
  EXPECT_THROW(load_checkpoint(missing), CheckpointError);
  const std::string text = (dir_ / "text.pt").string();
  util::write_text_atomically(text, "not a checkpoint\n");
  EXPECT_THROW(load_checkpoint(text), CheckpointError);
}

TEST_F(CheckpointTest, WriterDyingMidwayLeavesTheOldCheckpointIntact) {
  testing::TwoLayer model(3, 4, 2, false);
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
  const std::string path = (dir_ / "best.pt").string();
  save_checkpoint(make(model, optimizer, 1), path);
  const std::string old_bytes = util::read_file(path);
  // The same atomic writer save_checkpoint uses, killed half-way through a new checkpoint.
  EXPECT_THROW(util::write_file_atomically(path,
                                           [&](std::ostream& out) {
                                             out.write(old_bytes.data(), 100);
                                             throw std::runtime_error("killed");
                                           }),
               std::runtime_error);
  EXPECT_EQ(util::read_file(path), old_bytes);
  EXPECT_EQ(load_checkpoint(path).epoch, 1);
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1);  // no temporary file left behind
}

}  // namespace
}  // namespace lowbit::train
