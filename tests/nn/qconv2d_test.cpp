#include "lowbit/nn/qconv2d.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/nn/modules/conv.h>

#include <vector>

namespace lowbit::nn {
namespace {

TEST(QConv2d, ParametersMatchTorchConv2dInNameShapeAndInitialisation) {
  torch::manual_seed(41);
  torch::nn::Conv2d fp(torch::nn::Conv2dOptions(4, 6, 3).stride(2).padding(1).groups(2));
  torch::manual_seed(41);
  QConv2d q(QConv2dOptions(4, 6, 3).stride(2).padding(1).groups(2));
  EXPECT_EQ(q->named_parameters().keys(), fp->named_parameters().keys());
  EXPECT_TRUE(torch::equal(q->weight, fp->weight));
  EXPECT_TRUE(torch::equal(q->bias, fp->bias));
  const torch::Tensor x = torch::randn({2, 4, 9, 7});
  EXPECT_TRUE(torch::equal(q->forward(x), fp->forward(x)));
  EXPECT_EQ(q->forward(x).sizes(), torch::IntArrayRef({2, 6, 5, 4}));
}

TEST(QConv2d, DepthwiseWithGroupsEqualToChannels) {
  torch::manual_seed(42);
  QConv2d q(
      QConv2dOptions(5, 5, {3, 3}).padding(1).groups(5).bias(false).weight_quant("lsq:bits=2"));
  EXPECT_EQ(q->weight.sizes(), torch::IntArrayRef({5, 1, 3, 3}));
  const torch::Tensor x = torch::randn({3, 5, 8, 8});
  const torch::Tensor y = q->forward(x);
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({3, 5, 8, 8}));
  // Channel c of the output depends only on channel c of the input.
  const torch::Tensor w = q->quantized_weight();
  for (int64_t c = 0; c < 5; ++c) {
    const torch::Tensor single =
        torch::conv2d(x.slice(1, c, c + 1), w.slice(0, c, c + 1), {}, 1, 1);
    EXPECT_TRUE(torch::equal(y.slice(1, c, c + 1), single)) << "channel " << c;
  }
  EXPECT_THROW(QConv2d(QConv2dOptions(5, 4, 3).groups(5)), std::invalid_argument);
}

TEST(QConv2d, QuantizedForwardIsConvOfTheQuantizedOperands) {
  torch::manual_seed(43);
  QConv2d q(QConv2dOptions(3, 4, 3)
                .weight_quant("lsq:bits=4,per_channel=1")
                .bias_quant("lsq:bits=8")
                .input_quant("lsq:bits=4,signed=1")
                .output_quant("lsq:bits=3,signed=1"));
  const torch::Tensor x = torch::randn({2, 3, 6, 6});
  const torch::Tensor y = q->forward(x);
  const torch::Tensor expected = q->output_quant()->forward(
      torch::conv2d(q->input_quant()->forward(x), q->weight_quant()->forward(q->weight),
                    q->bias_quant()->forward(q->bias)));
  EXPECT_TRUE(torch::equal(y, expected));
}

TEST(QConv2d, GradientsReachWeightAndQuantizerParameters) {
  torch::manual_seed(44);
  QConv2d q(QConv2dOptions(2, 3, 3).weight_quant("lsq:bits=3").input_quant("pact:bits=4,alpha=2"));
  q->forward(torch::randn({4, 2, 5, 5}) * 2).pow(2).sum().backward();
  for (const auto& item : q->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
  }
}

TEST(QConv2d, FloatStateLoadsByName) {
  torch::manual_seed(45);
  torch::nn::Conv2d fp(torch::nn::Conv2dOptions(2, 2, 3));
  QConv2d q(QConv2dOptions(2, 2, 3).weight_quant("lsq:bits=4"));
  torch::NoGradGuard no_grad;
  auto params = q->named_parameters();
  for (const auto& item : fp->named_parameters()) params[item.key()].copy_(item.value());
  q->set_weight_quant("");
  const torch::Tensor x = torch::randn({1, 2, 4, 4});
  EXPECT_TRUE(torch::equal(q->forward(x), fp->forward(x)));
}

}  // namespace
}  // namespace lowbit::nn
