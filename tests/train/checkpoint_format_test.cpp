// Format 3: the header (magic, version, length, SHA-256 of the archive) is checked before LibTorch
// parses any byte, and bare archives (formats 1 and 2) are checked as zip files first.
#include <gtest/gtest.h>
#include <torch/optim/adam.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/util/atomic_file.h"
#include "lowbit/util/sha256.h"
#include "train/test_models.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;

// Part of the message when LibTorch itself failed on the archive: a check before it should have
// caught every damaged byte of a format-3 file.
constexpr const char* kLibTorchFailed = "corrupt or not a LibTorch archive (";

const std::string kSeeds = std::string(LOWBIT_SOURCE_DIR) + "/tests/fuzz/corpus/checkpoint/";

class CheckpointFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(7);
    dir_ = fs::temp_directory_path() /
           ("lowbit_ckpt3_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A format-3 checkpoint of a small model with an Adam state after one step; returns its path.
  std::string save_small(Checkpoint* saved = nullptr) {
    testing::TwoLayer model(3, 4, 2, true);
    torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
    optimizer.zero_grad();
    model.forward(torch::ones({2, 3})).sum().backward();
    optimizer.step();
    Checkpoint c;
    c.stage = "w4";
    c.epoch = 1;
    c.best_metric = 0.5;
    c.best_metric_name = "val_accuracy";
    c.stage_config = "name: w4\n";
    c.model = model_state(model);
    c.optimizer_state = optimizer_state_bytes(optimizer);
    const std::string path = (dir_ / "best.pt").string();
    save_checkpoint(c, path);
    if (saved != nullptr) *saved = c;
    return path;
  }

  std::string put(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    return path;
  }

  fs::path dir_;
};

// The CheckpointError message of loading `path`, or a test failure when it loads or throws
// something else.
std::string load_error(const std::string& path) {
  try {
    load_checkpoint(path);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  ADD_FAILURE() << "loading '" << path << "' should fail with CheckpointError";
  return "";
}

void set_u64(std::string& bytes, size_t at, uint64_t value) {
  for (size_t i = 0; i < 8; ++i) bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

TEST_F(CheckpointFormatTest, WritesTheHeaderInFrontOfTheArchive) {
  const std::string path = save_small();
  const std::string bytes = util::read_file(path);
  ASSERT_GT(bytes.size(), kCheckpointHeaderBytes);
  EXPECT_EQ(bytes.substr(0, 8), "LOWBITCK");
  std::string expected_numbers;
  expected_numbers.resize(16);
  set_u64(expected_numbers, 0, 3);
  set_u64(expected_numbers, 8, bytes.size() - kCheckpointHeaderBytes);
  EXPECT_EQ(bytes.substr(8, 16), expected_numbers);
  EXPECT_EQ(bytes.substr(24, 64), util::sha256_hex(bytes.substr(kCheckpointHeaderBytes)));
  EXPECT_EQ(bytes.substr(kCheckpointHeaderBytes, 4), std::string("PK\x03\x04", 4));
  const Checkpoint loaded = load_checkpoint(path);
  EXPECT_EQ(loaded.format_version, 3);
  EXPECT_EQ(loaded.content_hash.size(), 64u);
}

TEST_F(CheckpointFormatTest, EveryFlippedByteIsACheckpointErrorBeforeLibTorchParses) {
  const std::string path = save_small();
  const std::string good = util::read_file(path);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    put("best.pt", bad);
    const std::string message = load_error(path);
    ASSERT_NE(message.find(path), std::string::npos) << "byte " << i << ": " << message;
    ASSERT_EQ(message.find(kLibTorchFailed), std::string::npos) << "byte " << i << ": " << message;
    if (i >= 24) {  // the header's hash or the archive
      ASSERT_NE(message.find("fails its integrity check"), std::string::npos)
          << "byte " << i << ": " << message;
    }
  }
  put("best.pt", good);
  EXPECT_EQ(load_checkpoint(path).stage, "w4");
}

TEST_F(CheckpointFormatTest, OptimizerStateBytesAreCoveredByTheHeaderHash) {
  Checkpoint saved;
  const std::string path = save_small(&saved);
  std::string bytes = util::read_file(path);
  const size_t archive_at = bytes.find(saved.optimizer_state);
  ASSERT_NE(archive_at, std::string::npos) << "the optimizer archive is stored as raw bytes";
  ASSERT_GE(archive_at, kCheckpointHeaderBytes);
  // Where, inside the optimizer's archive, Adam's first moment of some parameter is stored.
  testing::TwoLayer model(3, 4, 2, true);
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
  load_optimizer_state(optimizer, saved.optimizer_state, "run/w4/last.pt");
  std::string moment;
  for (const auto& item : optimizer.state()) {
    const auto& state = static_cast<const torch::optim::AdamParamState&>(*item.second);
    const torch::Tensor m = state.exp_avg().contiguous();
    if (m.nbytes() >= 16 && m.flatten().slice(0, 0, 4).abs().sum().item<float>() > 0) {
      moment.assign(static_cast<const char*>(m.data_ptr()), 16);
    }
  }
  ASSERT_EQ(moment.size(), 16u);
  const size_t moment_at = saved.optimizer_state.find(moment);
  ASSERT_NE(moment_at, std::string::npos);

  bytes[archive_at + moment_at + 2] ^= 0x10;
  put("best.pt", bytes);
  EXPECT_NE(load_error(path).find("fails its integrity check"), std::string::npos);

  // Damaged optimizer bytes handed over directly are refused before LibTorch parses them.
  std::string damaged = saved.optimizer_state;
  damaged[moment_at + 2] ^= 0x10;
  try {
    load_optimizer_state(optimizer, damaged, "run/w4/last.pt");
    FAIL() << "expected CheckpointError";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("run/w4/last.pt: the saved optimizer state is damaged"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("CRC-32"), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointFormatTest, TruncatedFilesNameTheFile) {
  const std::string path = save_small();
  const std::string good = util::read_file(path);
  for (size_t size : {size_t{1}, size_t{7}, size_t{8}, size_t{87}, size_t{88}, size_t{89},
                      good.size() / 2, good.size() - 1}) {
    const std::string cut = put("cut.pt", good.substr(0, size));
    const std::string message = load_error(cut);
    EXPECT_NE(message.find("checkpoint '" + cut + "' is truncated"), std::string::npos)
        << size << ": " << message;
  }
  const std::string empty = put("empty.pt", "");
  EXPECT_NE(load_error(empty).find("'" + empty + "' is not a lowbit checkpoint"),
            std::string::npos);
}

TEST_F(CheckpointFormatTest, HeaderLengthsThatDoNotFitAreErrors) {
  const std::string path = save_small();
  const std::string good = util::read_file(path);
  const uint64_t archive = good.size() - kCheckpointHeaderBytes;
  for (uint64_t claim : {archive + 1, kMaxCheckpointBytes, uint64_t{1} << 63, ~uint64_t{0}}) {
    std::string bad = good;
    set_u64(bad, 16, claim);
    put("best.pt", bad);
    const std::string message = load_error(path);
    EXPECT_NE(message.find("is truncated: its header announces " + std::to_string(claim) +
                           " bytes of archive but " + std::to_string(archive) + " follow"),
              std::string::npos)
        << message;
  }
  std::string shorter = good;
  set_u64(shorter, 16, archive - 1);
  put("best.pt", shorter);
  EXPECT_NE(load_error(path).find("is damaged: 1 bytes follow"), std::string::npos);
  std::string newer = good;
  set_u64(newer, 8, 4);
  put("best.pt", newer);
  EXPECT_NE(load_error(path).find("has format version 4 in its header"), std::string::npos);
}

TEST_F(CheckpointFormatTest, FilesOverTheSizeLimitAreRefusedUnread) {
  const std::string path = save_small();
  // Sparse: the size is there without the disk space.
  fs::resize_file(path, kMaxCheckpointBytes + 1);
  const std::string message = load_error(path);
  EXPECT_NE(message.find("checkpoint '" + path + "' is " + std::to_string(kMaxCheckpointBytes + 1) +
                         " bytes, more than the"),
            std::string::npos)
      << message;
}

TEST_F(CheckpointFormatTest, SavedFuzzCrashIsACheckpointErrorNamingTheFile) {
  // A format-2 best.pt mutated by libFuzzer (tests/fuzz/run.sh) that made LibTorch's archive
  // loader crash in ScriptTypeParser::parseClassConstant; now its CRC-32s give it away first.
  const std::string crash = kSeeds + "crash-bc41db257a290b0423d92ca2b1b4bf3465dd4360";
  ASSERT_TRUE(fs::exists(crash));
  const std::string message = load_error(crash);
  EXPECT_NE(message.find("checkpoint '" + crash + "' cannot be read"), std::string::npos)
      << message;
  EXPECT_NE(message.find("fails its CRC-32 check"), std::string::npos) << message;
}

TEST_F(CheckpointFormatTest, FormatTwoFilesOfEarlierRunsStillLoad) {
  for (const char* name : {"fp_best_format2.pt", "q_best_format2.pt"}) {
    const Checkpoint c = load_checkpoint(kSeeds + name);
    EXPECT_EQ(c.format_version, 2) << name;
    EXPECT_EQ(c.content_hash.size(), 64u) << name;
    EXPECT_FALSE(c.model.is_empty()) << name;
  }
  // One flipped bit in a stored tensor of a format-2 file: its zip CRC-32 catches it.
  std::string bytes = util::read_file(kSeeds + "fp_best_format2.pt");
  const Checkpoint c = load_checkpoint(kSeeds + "fp_best_format2.pt");
  torch::Tensor w;
  for (const auto& item : c.model) {
    if (item.value().nbytes() >= 16) w = item.value().contiguous();
  }
  ASSERT_TRUE(w.defined());
  const std::string raw(static_cast<const char*>(w.data_ptr()), 16);
  const size_t at = bytes.find(raw);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] ^= 0x01;
  const std::string bad = put("bad_format2.pt", bytes);
  EXPECT_NE(load_error(bad).find("fails its CRC-32 check"), std::string::npos);
}

TEST_F(CheckpointFormatTest, AFormatThreeArchiveWithoutItsHeaderIsRefused) {
  const std::string good = util::read_file(save_small());
  const std::string bare = put("bare.pt", good.substr(kCheckpointHeaderBytes));
  EXPECT_NE(load_error(bare).find("is a format-3 archive without its lowbit header"),
            std::string::npos);
}

}  // namespace
}  // namespace lowbit::train
