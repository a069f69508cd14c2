#include "lowbit/data/loader.h"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

namespace lowbit::data {
namespace {

Dataset make_dataset(int64_t n) {
  Dataset d;
  d.inputs = torch::arange(n, torch::kFloat32).reshape({n, 1});
  d.targets = torch::arange(n, torch::kInt64).remainder(2);
  d.name = "toy";
  d.num_classes = 2;
  return d;
}

std::vector<int64_t> run_epoch(Loader& loader, int64_t epoch,
                               std::vector<int64_t>* sizes = nullptr) {
  std::vector<int64_t> seen;
  loader.start_epoch(epoch);
  while (auto batch = loader.next()) {
    if (sizes) sizes->push_back(batch->inputs.size(0));
    for (int64_t i = 0; i < batch->inputs.size(0); ++i) {
      const auto id = static_cast<int64_t>(batch->inputs[i][0].item<float>());
      EXPECT_EQ(id, batch->indices[i].item<int64_t>());
      EXPECT_EQ(batch->targets[i].item<int64_t>(), id % 2);
      seen.push_back(id);
    }
  }
  return seen;
}

TEST(Loader, EverySampleOncePerEpochWithSeededOrder) {
  LoaderOptions options;
  options.batch_size = 16;
  options.seed = 3;
  Loader loader(make_dataset(100), options);
  EXPECT_EQ(loader.batches_per_epoch(), 7);
  std::vector<int64_t> sizes;
  const auto e0 = run_epoch(loader, 0, &sizes);
  EXPECT_EQ(sizes, (std::vector<int64_t>{16, 16, 16, 16, 16, 16, 4}));
  EXPECT_EQ(std::set<int64_t>(e0.begin(), e0.end()).size(), 100u);
  EXPECT_EQ(e0.size(), 100u);
  EXPECT_EQ(e0, loader.epoch_order(0));
  const auto e1 = run_epoch(loader, 1);
  EXPECT_NE(e0, e1);
  EXPECT_EQ(run_epoch(loader, 0), e0);
  Loader again(make_dataset(100), options);
  EXPECT_EQ(run_epoch(again, 1), e1);
}

TEST(Loader, DropLastAndNoShuffle) {
  LoaderOptions options;
  options.batch_size = 16;
  options.drop_last = true;
  options.shuffle = false;
  Loader loader(make_dataset(100), options);
  EXPECT_EQ(loader.batches_per_epoch(), 6);
  std::vector<int64_t> sizes;
  const auto seen = run_epoch(loader, 0, &sizes);
  EXPECT_EQ(sizes, std::vector<int64_t>(6, 16));
  for (int64_t i = 0; i < 96; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
  EXPECT_THROW(Loader(make_dataset(4), LoaderOptions{0}), std::invalid_argument);
}

TEST(Loader, TransformRunsWithReproducibleSeeds) {
  LoaderOptions options;
  options.batch_size = 10;
  options.seed = 8;
  std::vector<uint64_t> seeds_a, seeds_b;
  auto make = [](std::vector<uint64_t>* seeds) {
    return [seeds](Batch batch, uint64_t seed) {
      seeds->push_back(seed);
      batch.inputs = batch.inputs * 2;
      return batch;
    };
  };
  Loader a(make_dataset(30), options, make(&seeds_a));
  Loader b(make_dataset(30), options, make(&seeds_b));
  a.start_epoch(2);
  b.start_epoch(2);
  while (auto batch = a.next()) {
    EXPECT_EQ(static_cast<int64_t>(batch->inputs[0][0].item<float>()),
              2 * batch->indices[0].item<int64_t>());
  }
  while (b.next()) {
  }
  EXPECT_EQ(seeds_a.size(), 3u);
  EXPECT_EQ(seeds_a, seeds_b);
  EXPECT_EQ(std::set<uint64_t>(seeds_a.begin(), seeds_a.end()).size(), 3u);
}

TEST(Loader, WorkerExceptionReachesTheConsumerAfterEarlierBatches) {
  LoaderOptions options;
  options.batch_size = 10;
  options.shuffle = false;
  options.prefetch = 1;
  int calls = 0;
  Loader loader(make_dataset(50), options, [&calls](Batch batch, uint64_t) {
    if (++calls == 3) throw std::runtime_error("transform failed on batch 3");
    return batch;
  });
  loader.start_epoch(0);
  EXPECT_TRUE(loader.next().has_value());
  EXPECT_TRUE(loader.next().has_value());
  try {
    loader.next();
    FAIL() << "expected the worker's exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "transform failed on batch 3");
  }
  EXPECT_FALSE(loader.next().has_value());
  // A new epoch starts cleanly after a failure.
  calls = 100;
  EXPECT_EQ(run_epoch(loader, 1).size(), 50u);
}

TEST(Loader, AbandonedEpochAndDestructionShutDownCleanly) {
  LoaderOptions options;
  options.batch_size = 1;
  options.prefetch = 1;
  for (int k = 0; k < 20; ++k) {
    Loader loader(make_dataset(1000), options);
    loader.start_epoch(0);
    EXPECT_TRUE(loader.next().has_value());
    loader.start_epoch(1);  // the first worker is blocked on a full queue and must be stopped
    EXPECT_TRUE(loader.next().has_value());
  }
}

}  // namespace
}  // namespace lowbit::data
