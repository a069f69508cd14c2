#include "lowbit/train/regularizers/compression.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/optim/sgd.h>

#include "lowbit/nn/qlinear.h"
#include "lowbit/quant/learned/self_compress.h"

namespace lowbit::train {
namespace {

quant::SelfCompressImpl& self_compress(torch::nn::Sequential& model, size_t i) {
  return dynamic_cast<quant::SelfCompressImpl&>(*model[i]->as<nn::QLinear>()->weight_quant());
}

TEST(Compression, MeanBitsPerWeight) {
  torch::nn::Sequential model(
      nn::QLinear(nn::QLinearOptions(4, 2).weight_quant("selfcompress:bits=6")),  // 8 weights
      nn::QLinear(nn::QLinearOptions(2, 4).weight_quant("selfcompress:bits=3")),  // 8 weights
      nn::QLinear(nn::QLinearOptions(3, 3).weight_quant("lsq:bits=4")),           // not counted
      nn::QLinear(nn::QLinearOptions(6, 2).weight_quant("selfcompress:bits=2,per_channel=1")));
  torch::Tensor x = torch::randn({1, 6});
  model[3]->as<nn::QLinear>()->forward(x);  // per-channel b grows to {2}
  {
    torch::NoGradGuard no_grad;
    self_compress(model, 3).bit_depth().copy_(torch::tensor({2.0f, 5.0f}));
  }
  // (6 * 8 + 3 * 8 + 2 * 6 + 5 * 6) / (8 + 8 + 12)
  EXPECT_NEAR(compression_bits(*model).item<double>(), (48.0 + 24.0 + 12.0 + 30.0) / 28.0, 1e-6);
}

TEST(Compression, LearnedBitsDecreaseAndStopAtTheFloor) {
  torch::manual_seed(41);
  torch::nn::Sequential model(
      nn::QLinear(nn::QLinearOptions(8, 4).weight_quant("selfcompress:bits=6,min_bits=2")),
      nn::QLinear(nn::QLinearOptions(4, 2).weight_quant("selfcompress:bits=4,min_bits=3")));
  std::vector<torch::Tensor> bit_params = {self_compress(model, 0).bit_depth(),
                                           self_compress(model, 1).bit_depth()};
  torch::optim::SGD optimizer(bit_params, torch::optim::SGDOptions(0.5));
  double previous = compression_bits(*model).item<double>();
  for (int i = 0; i < 40; ++i) {
    optimizer.zero_grad();
    torch::Tensor loss = compression_bits(*model);
    loss.backward();
    optimizer.step();
    const double now = compression_bits(*model).item<double>();
    EXPECT_LE(now, previous);
    previous = now;
  }
  EXPECT_EQ(self_compress(model, 0).effective_bits().item<float>(), 2.0f);
  EXPECT_EQ(self_compress(model, 1).effective_bits().item<float>(), 3.0f);
  EXPECT_EQ(self_compress(model, 0).bits(), 2);
  // (2 * 32 + 3 * 8) / 40 at the floors.
  EXPECT_NEAR(compression_bits(*model).item<double>(), 88.0 / 40.0, 1e-6);
  // At the floor the loss has no gradient left, so the parameter stops moving.
  optimizer.zero_grad();
  compression_bits(*model).backward();
  EXPECT_EQ(bit_params[0].grad().abs().max().item<float>(), 0.0f);

  freeze_bit_depths(*model);
  EXPECT_TRUE(self_compress(model, 0).frozen());
  EXPECT_EQ(self_compress(model, 0).bit_depth().item<float>(), 2.0f);
  EXPECT_EQ(self_compress(model, 1).bit_depth().item<float>(), 3.0f);
}

}  // namespace
}  // namespace lowbit::train
