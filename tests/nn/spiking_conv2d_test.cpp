#include "lowbit/nn/spiking_conv2d.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <string>
#include <vector>

#include "lowbit/nn/quantized_layer.h"

namespace lowbit::nn {
namespace {

TEST(SpikingConv2d, OverTStepsEqualsAHandLoop) {
  torch::manual_seed(61);
  SpikingConv2dOptions options(2, 3, 3);
  options.conv().padding(1);
  options.lif(LeakyOptions(0.7).threshold(0.5));
  SpikingConv2d block(options);
  const torch::Tensor x = torch::rand({4, 2, 2, 6, 6}) * 2.0;  // [T, B, C, H, W]
  const torch::Tensor spikes = block->forward(x);
  ASSERT_EQ(spikes.sizes(), torch::IntArrayRef({4, 2, 3, 6, 6}));
  // The block's currents are the convolution of each step on its own.
  const torch::Tensor currents = block->currents(x);
  for (int64_t t = 0; t < 4; ++t) {
    const torch::Tensor current = torch::conv2d(x[t], block->conv->weight, block->conv->bias, 1, 1);
    EXPECT_TRUE(torch::allclose(currents[t], current, 1e-5, 1e-6)) << "step " << t;
  }
  // The hand loop over them: U = 0.7 U + I - S thr, S = H(U - thr).
  torch::Tensor u = torch::zeros({2, 3, 6, 6});
  torch::Tensor s = torch::zeros({2, 3, 6, 6});
  for (int64_t t = 0; t < 4; ++t) {
    u = 0.7 * u + currents[t] - s * 0.5;
    s = (u > 0.5).to(torch::kFloat32);
    EXPECT_TRUE(torch::equal(spikes[t], s)) << "step " << t;
  }
  EXPECT_GT(spikes.sum().item<double>(), 10.0);
  EXPECT_LT(spikes.mean().item<double>(), 0.9);
}

TEST(SpikingConv2d, NormAndQuantizedConvPerStepEqualTheBlock) {
  torch::manual_seed(62);
  SpikingConv2dOptions options(3, 4, 3);
  options.conv().stride(2).padding(1).bias(false).weight_quant("lsq:bits=4,per_channel=1");
  options.batch_norm(true);
  options.lif(LeakyOptions(0.8).channels(4).learn_beta(true).reset_mechanism("zero"));
  SpikingConv2d block(options);
  {
    torch::NoGradGuard no_grad;
    block->norm->running_mean.copy_(torch::randn({4}) * 0.1);
    block->norm->running_var.copy_(torch::rand({4}) + 0.5);
  }
  block->eval();
  const torch::Tensor x = torch::rand({5, 2, 3, 8, 8}) * 3.0;
  const torch::Tensor spikes = block->forward(x);
  ASSERT_EQ(spikes.sizes(), torch::IntArrayRef({5, 2, 4, 4, 4}));
  Leaky reference(LeakyOptions(0.8).channels(4).reset_mechanism("zero"));
  for (int64_t t = 0; t < 5; ++t) {
    const torch::Tensor current = block->norm->forward(block->conv->forward(x[t]));
    EXPECT_TRUE(torch::equal(reference->step(current), spikes[t])) << "step " << t;
  }
}

TEST(SpikingConv2d, TrainingBatchNormSeesAllStepsOnce) {
  torch::manual_seed(63);
  SpikingConv2dOptions options(1, 2, 3);
  options.batch_norm(true);
  SpikingConv2d block(options);
  const torch::Tensor x = torch::rand({3, 2, 1, 5, 5});
  block->forward(x);
  EXPECT_EQ(block->norm->num_batches_tracked.item<int64_t>(), 1);
  // One update with LibTorch's default momentum 0.1 from mean 0: 0.1 times the mean over all
  // T * B frames.
  const torch::Tensor conv = block->conv->forward(x.flatten(0, 1));
  EXPECT_TRUE(torch::allclose(block->norm->running_mean, 0.1 * conv.mean({0, 2, 3}), 1e-5, 1e-6));
}

TEST(SpikingConv2d, SubmodulesAreNamedForWarmStartAndFolding) {
  SpikingConv2dOptions options(2, 3, 3);
  options.batch_norm(true);
  options.lif(LeakyOptions(0.9).learn_beta(true).learn_threshold(true));
  SpikingConv2d block(options);
  EXPECT_EQ(block->named_children().keys(), (std::vector<std::string>{"conv", "norm", "lif"}));
  const auto params = block->named_parameters();
  for (const char* name :
       {"conv.weight", "conv.bias", "norm.weight", "norm.bias", "lif.beta", "lif.threshold"}) {
    EXPECT_TRUE(params.contains(name)) << name;
  }
  EXPECT_TRUE(block->named_buffers().contains("norm.running_mean"));
  // The convolution is found through the quantizable-layer base as any QConv2d.
  int quantizable = 0;
  for (const auto& m : block->named_modules("", false)) {
    if (m.value()->as<QuantizedLayer>() != nullptr) {
      ++quantizable;
      EXPECT_EQ(m.key(), "conv");
    }
  }
  EXPECT_EQ(quantizable, 1);
  SpikingConv2d without(SpikingConv2dOptions(2, 3, 3));
  EXPECT_EQ(without->named_children().keys(), (std::vector<std::string>{"conv", "lif"}));
  EXPECT_FALSE(without->norm);
}

TEST(SpikingConv2d, StateIsResetBetweenSequencesAndGradientsReachTheWeights) {
  torch::manual_seed(64);
  SpikingConv2dOptions options(1, 2, 3);
  options.conv().padding(1);
  options.lif(LeakyOptions(0.9).threshold(0.3));
  SpikingConv2d block(options);
  const torch::Tensor a = torch::rand({4, 1, 1, 5, 5});
  const torch::Tensor b = torch::rand({4, 1, 1, 5, 5});
  const torch::Tensor alone = block->forward(b);
  block->forward(a);
  const torch::Tensor after = block->forward(b);
  EXPECT_TRUE(torch::equal(alone, after));
  after.sum().backward();
  ASSERT_TRUE(block->conv->weight.grad().defined());
  EXPECT_GT(block->conv->weight.grad().abs().sum().item<double>(), 0.0);
}

TEST(SpikingConv2d, BadShapesAndChannelCountsAreErrors) {
  SpikingConv2dOptions options(2, 3, 3);
  options.lif(LeakyOptions(0.9).channels(4));
  EXPECT_THROW(SpikingConv2d{options}, std::invalid_argument);
  SpikingConv2d block(SpikingConv2dOptions(2, 3, 3));
  EXPECT_THROW(block->forward(torch::rand({2, 2, 5, 5})), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::nn
