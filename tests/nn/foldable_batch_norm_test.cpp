#include "lowbit/nn/foldable_batch_norm.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/any.h>

namespace lowbit::nn {
namespace {

TEST(FoldableBatchNorm, MatchesLibTorchsBatchNormUntilFoldedThenIsTheIdentity) {
  torch::manual_seed(1);
  FoldableBatchNorm bn(3);
  torch::nn::BatchNorm2d plain(3);
  EXPECT_EQ(bn->named_parameters().keys(), plain->named_parameters().keys());
  EXPECT_EQ(bn->named_buffers().keys(), plain->named_buffers().keys());
  torch::nn::AnyModule any(bn);
  for (int step = 0; step < 3; ++step) {
    const torch::Tensor x = torch::randn({4, 3, 5, 5}) * 3 + 1;
    EXPECT_TRUE(torch::allclose(any.forward(x), plain->forward(x), 1e-5, 1e-6));
  }
  EXPECT_TRUE(torch::allclose(bn->running_mean, plain->running_mean));
  EXPECT_TRUE(torch::allclose(bn->running_var, plain->running_var));
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 3);
  bn->eval();
  plain->eval();
  const torch::Tensor y = torch::randn({2, 3, 4, 4});
  EXPECT_TRUE(torch::allclose(bn->forward(y), plain->forward(y), 1e-5, 1e-6));

  EXPECT_FALSE(is_folded_batch_norm(*bn));
  bn->mark_folded();
  bn->mark_folded();  // idempotent
  EXPECT_TRUE(is_folded_batch_norm(*bn));
  EXPECT_TRUE(bn->named_buffers().contains(kFoldedBufferName));
  EXPECT_TRUE(torch::equal(bn->forward(y), y));
  bn->train();
  EXPECT_TRUE(torch::equal(any.forward(y), y));
  EXPECT_FALSE(is_folded_batch_norm(*plain));
}

TEST(FoldableBatchNorm, VectorsAndCumulativeAverage) {
  torch::manual_seed(2);
  FoldableBatchNorm bn(torch::nn::BatchNormOptions(4).momentum(c10::nullopt));
  torch::nn::BatchNorm1d plain(torch::nn::BatchNormOptions(4).momentum(c10::nullopt));
  for (int step = 0; step < 3; ++step) {
    const torch::Tensor x = torch::randn({6, 4});
    EXPECT_TRUE(torch::allclose(bn->forward(x), plain->forward(x), 1e-5, 1e-6));
  }
  EXPECT_TRUE(torch::allclose(bn->running_var, plain->running_var));
  bn->reset_running_stats();
  EXPECT_EQ(bn->running_mean.abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 0);
}

}  // namespace
}  // namespace lowbit::nn
