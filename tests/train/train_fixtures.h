// Shared pieces of the trainer and run tests: two Gaussian blobs as a small binary data set and
// a temporary run directory per test.
#pragma once

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/types.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "lowbit/data/dataset.h"
#include "lowbit/train/trainer.h"

namespace lowbit::train::testing {

/// n samples of two features: class 1 around (+1, +1), class 0 around (-1, -1); float targets
/// (binary) or int64 targets with num_classes 2.
inline data::Dataset blobs(int64_t n, uint64_t seed, bool class_targets) {
  auto generator = at::detail::createCPUGenerator(seed);
  torch::Tensor labels = torch::arange(n, torch::kInt64).remainder(2);
  torch::Tensor centers = labels.to(torch::kFloat32).unsqueeze(1).mul(2).sub(1).expand({n, 2});
  torch::Tensor inputs = centers + 0.8 * at::randn({n, 2}, generator);
  data::Dataset d;
  d.inputs = inputs.contiguous();
  d.targets = class_targets ? labels : labels.to(torch::kFloat32);
  d.num_classes = class_targets ? 2 : 0;
  d.name = "blobs";
  return d;
}

/// A fresh directory under the system temp folder, removed at the end of the test.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           (std::string("lowbit_train_") + info->test_suite_name() + "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  /// A path inside the test's directory.
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

/// A temporary run directory for trainer tests, one intra-op thread, and the log in log_.
class TrainingTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    at::set_num_threads(1);
  }
  /// Options for a run in directory `run` of the test's folder with `seed`, logging into log_.
  TrainerOptions training_options(const std::string& run, uint64_t seed) {
    TrainerOptions o;
    o.run_dir = path(run);
    o.seed = seed;
    o.log = &log_;
    return o;
  }
  std::ostringstream log_;
};

}  // namespace lowbit::train::testing
