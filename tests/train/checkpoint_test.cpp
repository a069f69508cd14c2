#include "lowbit/train/checkpoint/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/optim/adam.h>
#include <torch/serialize/output-archive.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "file_size_limit.h"
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
  EXPECT_EQ(loaded.content_hash.size(), 64u);
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

using lowbit::testing::FileSizeLimit;

TEST_F(CheckpointTest, FullDiskIsACheckpointErrorNamingTheFile) {
  testing::TwoLayer model(3, 256, 4, true);
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
  const std::string path = (dir_ / "last.pt").string();
  save_checkpoint(make(model, optimizer, 1), path);
  const std::string old_bytes = util::read_file(path);
  ASSERT_GT(old_bytes.size(), 4096u);
  one_step(model, optimizer);
  {
    FileSizeLimit limit(4096);
    ASSERT_TRUE(limit.ok());
    try {
      save_checkpoint(make(model, optimizer, 2), path);
      FAIL() << "expected CheckpointError";
    } catch (const CheckpointError& e) {
      EXPECT_NE(std::string(e.what()).find("cannot write checkpoint '" + path + "'"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(util::read_file(path), old_bytes);
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1);  // the partial temporary file is gone
}

// Replaces the first occurrence of `from` in the file by `to` (same length).
void patch_file(const std::string& path, const std::string& from, const std::string& to) {
  std::string bytes = util::read_file(path);
  const size_t at = bytes.find(from);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(bytes.find(from, at + 1), std::string::npos) << "the pattern is not unique";
  bytes.replace(at, from.size(), to);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST_F(CheckpointTest, FlippedWeightsFailTheIntegrityCheck) {
  testing::TwoLayer model(3, 4, 2, false);
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
  const std::string path = (dir_ / "best.pt").string();
  save_checkpoint(make(model, optimizer, 1), path);
  // fc1.weight's 12 floats are stored raw in the archive; flip the sign bit of four of them.
  const torch::Tensor w = model.fc1->weight.detach().contiguous();
  const std::string raw(static_cast<const char*>(w.data_ptr()), 16);
  std::string flipped = raw;
  for (int i = 3; i < 16; i += 4) flipped[static_cast<size_t>(i)] ^= static_cast<char>(0x80);
  patch_file(path, raw, flipped);
  try {
    load_checkpoint(path);
    FAIL() << "expected CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint '" + path + "' fails its integrity check"),
              std::string::npos)
        << e.what();
  }
  patch_file(path, flipped, raw);
  EXPECT_NO_THROW(load_checkpoint(path));
}

TEST_F(CheckpointTest, ContentHashCoversEveryField) {
  testing::TwoLayer model(3, 4, 2, true);
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
  const Checkpoint base = make(model, optimizer, 1);
  const std::string hash = checkpoint_content_hash(base);
  EXPECT_EQ(checkpoint_content_hash(base), hash);
  std::vector<Checkpoint> changed(9, base);
  changed[0].stage = "w5";
  changed[1].epoch = 2;
  changed[2].best_metric = 0.876;
  changed[3].scheduler_epoch = 9;
  changed[4].lr_factor = 0.25;
  changed[5].stage_config += " ";
  changed[6].optimizer_state[10] ^= 1;
  changed[7].model = model_state(model);
  changed[7].model["fc2.bias"] = base.model["fc2.bias"].clone();
  {
    torch::NoGradGuard no_grad;
    changed[7].model["fc2.bias"][0] += 1e-6;
  }
  changed[8].method_state.insert("mask", torch::ones({2}));
  for (size_t i = 0; i < changed.size(); ++i) {
    EXPECT_NE(checkpoint_content_hash(changed[i]), hash) << "field " << i;
  }
  // The same bytes under another dtype or shape are other content.
  Checkpoint reshaped = base;
  reshaped.model = model_state(model);
  reshaped.model["fc1.weight"] = base.model["fc1.weight"].reshape({3, 4});
  EXPECT_NE(checkpoint_content_hash(reshaped), hash);
}

// A checkpoint without the "content_hash" key, as lowbit wrote format 1, under `version`.
void write_without_hash(const Checkpoint& c, const std::string& path, int64_t version) {
  torch::serialize::OutputArchive archive;
  archive.write("lowbit_checkpoint", c10::IValue(true));
  archive.write("format_version", c10::IValue(version));
  archive.write("stage", c10::IValue(c.stage));
  archive.write("epoch", c10::IValue(c.epoch));
  archive.write("best_epoch", c10::IValue(c.best_epoch));
  archive.write("best_metric", c10::IValue(c.best_metric));
  archive.write("best_metric_name", c10::IValue(c.best_metric_name));
  archive.write("scheduler_epoch", c10::IValue(c.scheduler_epoch));
  archive.write("lr_factor", c10::IValue(c.lr_factor));
  archive.write("stage_config", c10::IValue(c.stage_config));
  c10::List<std::string> names;
  torch::serialize::OutputArchive section;
  int64_t index = 0;
  for (const auto& item : c.model) {
    names.push_back(item.key());
    section.write("t" + std::to_string(index++), item.value(), true);
  }
  archive.write("model_names", c10::IValue(names));
  archive.write("model", section);
  auto optimizer = torch::empty({static_cast<int64_t>(c.optimizer_state.size())}, torch::kUInt8);
  std::memcpy(optimizer.data_ptr<uint8_t>(), c.optimizer_state.data(), c.optimizer_state.size());
  archive.write("optimizer_state", optimizer, true);
  archive.save_to(path);
}

TEST_F(CheckpointTest, FormatOneLoadsWithAWarningAndUnknownFormatsFail) {
  testing::TwoLayer model(3, 4, 2, false);
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
  const Checkpoint c = make(model, optimizer, 1);
  const std::string old = (dir_ / "old.pt").string();
  write_without_hash(c, old, 1);
  ::testing::internal::CaptureStderr();
  const Checkpoint loaded = load_checkpoint(old);
  const std::string warning = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(loaded.format_version, 1);
  EXPECT_TRUE(loaded.content_hash.empty());
  EXPECT_TRUE(torch::equal(loaded.model["fc1.weight"], c.model["fc1.weight"]));
  EXPECT_NE(warning.find("checkpoint '" + old + "' has format version 1"), std::string::npos)
      << warning;

  const std::string future = (dir_ / "future.pt").string();
  write_without_hash(c, future, kCheckpointFormatVersion + 1);
  try {
    load_checkpoint(future);
    FAIL() << "expected CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint '" + future + "' has format version " +
                                         std::to_string(kCheckpointFormatVersion + 1)),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lowbit::train
