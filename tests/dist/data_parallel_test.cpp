// Data-parallel QAT steps on two ranks: ranks bitwise equal (parameters, learned steps, observer
// and batch-norm statistics), and equal to one process on the full batch within float tolerance.
#include "lowbit/train/data_parallel.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dist/dist_test_util.h"
#include "lowbit/data/loader.h"
#include "lowbit/dist/env.h"
#include "lowbit/nn/qactivation.h"
#include "lowbit/nn/qlinear.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::train {
namespace {

using dist::testing::worker_out;

constexpr int64_t kBatch = 8;  // per rank; one process takes 2 * kBatch

data::Dataset samples() {
  torch::manual_seed(7);
  data::Dataset d;
  d.inputs = torch::randn({68, 16});  // 4 + 1 batches per epoch, the last of 2 per rank
  d.targets = torch::randint(0, 3, {68}, torch::kInt64);
  d.num_classes = 3;
  d.name = "random";
  return d;
}

// LSQ weights and activations (learned steps: gradients are averaged).
torch::nn::Sequential lsq_model() {
  torch::manual_seed(1);
  return torch::nn::Sequential(
      nn::QLinear(nn::QLinearOptions(16, 12).weight_quant("lsq:bits=4")),
      nn::QActivation(nn::QActivationOptions("relu").output_quant("lsq:bits=4")),
      nn::QLinear(nn::QLinearOptions(12, 3).weight_quant("lsq:bits=4")));
}

// Observed ranges: batch norm, EMA min/max activations, OCTAV weight clips.
torch::nn::Sequential observer_model() {
  torch::manual_seed(2);
  return torch::nn::Sequential(
      nn::QLinear(nn::QLinearOptions(16, 12).weight_quant("uniform:bits=4,scale=octav")),
      torch::nn::BatchNorm1d(12),
      nn::QActivation(nn::QActivationOptions("relu").output_quant("uniform:bits=8,scale=ema")),
      nn::QLinear(nn::QLinearOptions(12, 3).weight_quant("uniform:bits=4")));
}

// Every parameter and buffer, flat, in float64.
torch::Tensor flat_state(torch::nn::Module& m) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : m.parameters(true))
    parts.push_back(p.detach().reshape({-1}).to(torch::kF64));
  for (const auto& b : m.buffers(true)) parts.push_back(b.detach().reshape({-1}).to(torch::kF64));
  return torch::cat(parts);
}

// Two epochs of SGD with momentum: per-rank batches through `dp`, or the full batch alone.
void train(torch::nn::Sequential& model, DataParallel& dp, int64_t batch) {
  {
    // LSQ takes its first step sizes from data; one calibration batch, the same on every rank,
    // keeps that data-dependent start out of the comparison (docs/distributed.md).
    torch::NoGradGuard no_grad;
    model->train();
    model->forward(samples().inputs.narrow(0, 0, 16));
  }
  dp.broadcast(*model);
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  data::LoaderOptions options;
  options.batch_size = batch;
  options.seed = 3;
  dp.shard(options);
  data::Loader loader(samples(), options);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    loader.start_epoch(epoch);
    while (auto b = loader.next()) {
      sgd.zero_grad();
      torch::Tensor loss =
          torch::nn::functional::cross_entropy(model->forward(b->inputs), b->targets);
      dp.mean_loss(loss.item<double>());
      loss.backward();
      dp.after_backward(*model);
      sgd.step();
      dp.after_step(*model);
    }
  }
}

void check_model(torch::nn::Sequential (*make)(), bool against_one_process,
                 dist::Communicator& comm, const std::string& name) {
  torch::nn::Sequential model = make();
  const torch::Tensor before = flat_state(*model);
  DataParallel dp(&comm, 256);  // small buckets: several per step
  train(model, dp, kBatch);
  EXPECT_EQ(dp.steps(), 10);  // 2 epochs x 5 batches on each rank
  const torch::Tensor state = flat_state(*model);
  const auto all = comm.allgather(state);
  EXPECT_TRUE(torch::equal(all[0], all[1])) << name << ": ranks differ";
  if (against_one_process) {
    torch::nn::Sequential alone = make();
    DataParallel none(nullptr);
    train(alone, none, 2 * kBatch);
    const torch::Tensor reference = flat_state(*alone);
    EXPECT_FALSE(torch::allclose(reference, before)) << name << ": training changed nothing";
    EXPECT_TRUE(torch::allclose(state, reference, 1e-4, 1e-6))
        << name << ": max difference " << (state - reference).abs().max().item<double>();
  }
}

// Worker of TwoRanks.QatStepsAgree.
TEST(DistWorker, QatSteps) {
  if (worker_out().empty()) GTEST_SKIP() << "runs as a worker of TwoRanks.QatStepsAgree";
  at::set_num_threads(1);
  auto comm = dist::connect(dist::read_job_env());
  check_model(lsq_model, true, *comm, "lsq");
  // Observer statistics are averaged over the shards, which is not what one process sees on
  // the full batch (min/max is not a mean): only rank equality is claimed for them.
  check_model(observer_model, false, *comm, "observers");
  if (!::testing::Test::HasFailure()) {
    util::write_text_atomically(worker_out() + "/rank" + std::to_string(comm->rank()) + ".ok",
                                "ok\n");
  }
}

TEST(TwoRanks, QatStepsAgree) {
  const dist::testing::WorkDir dir;
  const std::string& out = dir.path();
  ASSERT_EQ(dist::testing::run_workers("DistWorker.QatSteps", 2, out), 0);
  EXPECT_EQ(dist::testing::slurp(out + "/rank0.ok"), "ok\n");
  EXPECT_EQ(dist::testing::slurp(out + "/rank1.ok"), "ok\n");
}

TEST(DataParallel, OneProcessChangesNothing) {
  torch::nn::Sequential model = lsq_model();
  DataParallel dp(nullptr);
  EXPECT_FALSE(dp.active());
  EXPECT_TRUE(dp.is_root());
  EXPECT_EQ(dp.mean_loss(1.25), 1.25);
  EXPECT_TRUE(dp.any(true));
  data::LoaderOptions options;
  dp.shard(options);
  EXPECT_EQ(options.shards, 1);
}

TEST(Loader, ShardsSplitEveryBatchEqually) {
  data::LoaderOptions whole;
  whole.batch_size = 2 * kBatch;
  whole.seed = 3;
  data::Loader one(samples(), whole);
  std::vector<std::vector<int64_t>> shards(2);
  std::vector<int64_t> counts(2);
  for (int64_t r = 0; r < 2; ++r) {
    data::LoaderOptions part = whole;
    part.batch_size = kBatch;
    part.shards = 2;
    part.shard = r;
    data::Loader loader(samples(), part);
    EXPECT_EQ(loader.batches_per_epoch(), one.batches_per_epoch());
    loader.start_epoch(1);
    while (auto b = loader.next()) {
      for (int64_t i = 0; i < b->indices.size(0); ++i)
        shards[r].push_back(b->indices[i].item<int64_t>());
    }
  }
  EXPECT_EQ(shards[0].size(), 34u);
  EXPECT_EQ(shards[1].size(), 34u);
  // Batch b of one process is rank 0's batch b followed by rank 1's.
  one.start_epoch(1);
  size_t at = 0;
  while (auto b = one.next()) {
    const int64_t half = b->indices.size(0) / 2;
    for (int64_t i = 0; i < b->indices.size(0); ++i) {
      const int64_t expected = i < half ? shards[0][at + i] : shards[1][at + i - half];
      EXPECT_EQ(b->indices[i].item<int64_t>(), expected);
    }
    at += static_cast<size_t>(half);
  }
}

}  // namespace
}  // namespace lowbit::train
