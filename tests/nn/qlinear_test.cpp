#include "lowbit/nn/qlinear.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/nn/functional/linear.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "lowbit/quant/learned/lsq.h"
#include "lowbit/quant/spec.h"

namespace lowbit::nn {
namespace {

TEST(QLinear, ParametersMatchTorchLinearInNameShapeAndInitialisation) {
  torch::manual_seed(31);
  torch::nn::Linear fp(7, 5);
  torch::manual_seed(31);
  QLinear q(7, 5);
  EXPECT_EQ(q->named_parameters().keys(), fp->named_parameters().keys());
  EXPECT_TRUE(torch::equal(q->weight, fp->weight));
  EXPECT_TRUE(torch::equal(q->bias, fp->bias));

  QLinear no_bias(QLinearOptions(3, 2).bias(false));
  EXPECT_EQ(no_bias->named_parameters().keys(), std::vector<std::string>({"weight"}));
  EXPECT_EQ(no_bias->forward(torch::ones({4, 3})).sizes(), torch::IntArrayRef({4, 2}));
}

TEST(QLinear, WithoutQuantizersItIsExactlyLinear) {
  torch::manual_seed(32);
  QLinear q(17, 3);
  const torch::Tensor x = torch::randn({9, 17});
  EXPECT_TRUE(torch::equal(q->forward(x), torch::nn::functional::linear(x, q->weight, q->bias)));
  EXPECT_TRUE(torch::equal(q->quantized_weight(), q->weight));
  EXPECT_EQ(q->named_children().size(), 0u);
}

TEST(QLinear, QuantizedForwardIsLinearOfTheQuantizedOperands) {
  torch::manual_seed(33);
  QLinear q(QLinearOptions(6, 4)
                .weight_quant("lsq:bits=3")
                .bias_quant("lsq:bits=8")
                .input_quant("lsq:bits=4,signed=1")
                .output_quant("lsq:bits=4,signed=1"));
  const torch::Tensor x = torch::randn({5, 6});
  const torch::Tensor y = q->forward(x);
  const torch::Tensor expected = q->output_quant()->forward(
      torch::linear(q->input_quant()->forward(x), q->weight_quant()->forward(q->weight),
                    q->bias_quant()->forward(q->bias)));
  EXPECT_TRUE(torch::equal(y, expected));
  // The weight really is quantized: at most 2^3 distinct values.
  EXPECT_LE(std::get<0>(torch::_unique(q->quantized_weight())).numel(), 8);
  EXPECT_FALSE(torch::equal(q->quantized_weight(), q->weight));
}

TEST(QLinear, FloatStateLoadsByName) {
  torch::manual_seed(34);
  torch::nn::Linear fp(8, 3);
  QLinear q(QLinearOptions(8, 3).weight_quant("lsq:bits=4"));
  torch::NoGradGuard no_grad;
  auto params = q->named_parameters();
  for (const auto& item : fp->named_parameters()) {
    ASSERT_TRUE(params.contains(item.key())) << item.key();
    params[item.key()].copy_(item.value());
  }
  EXPECT_TRUE(torch::equal(q->weight, fp->weight));
  q->set_weight_quant("");
  const torch::Tensor x = torch::randn({2, 8});
  EXPECT_TRUE(torch::equal(q->forward(x), fp->forward(x)));
}

TEST(QLinear, QuantizerStateIsRegisteredUnderItsSlotName) {
  QLinear q(QLinearOptions(4, 2).weight_quant("lsq:bits=2").output_quant("pact:bits=2"));
  const auto names = q->named_parameters().keys();
  EXPECT_EQ(names, std::vector<std::string>(
                       {"weight", "bias", "weight_quant.step", "output_quant.alpha"}));
  EXPECT_TRUE(q->named_buffers().contains("weight_quant.initialized"));
}

TEST(QLinear, GradientsReachWeightBiasAndQuantizerParameters) {
  torch::manual_seed(35);
  QLinear q(QLinearOptions(5, 3).weight_quant("lsq:bits=4").output_quant("pact:bits=4,alpha=1"));
  const torch::Tensor x = torch::randn({16, 5}) * 2;
  q->forward(x).pow(2).sum().backward();
  for (const auto& item : q->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
  }
}

TEST(QLinear, QuantizersCanBeReplacedWhileTraining) {
  torch::manual_seed(36);
  QLinear q(QLinearOptions(4, 4).weight_quant("lsq:bits=8"));
  const torch::Tensor x = torch::randn({3, 4});
  q->forward(x);
  q->set_weight_quant("lsq:bits=2,per_channel=1");
  EXPECT_EQ(q->weight_quant()->spec().str(), "lsq:bits=2,signed=1,per_channel=1");
  EXPECT_EQ(q->options.weight_quant(), "lsq:bits=2,per_channel=1");
  EXPECT_LE(std::get<0>(torch::_unique(q->quantized_weight()[0])).numel(), 4);
  EXPECT_EQ(q->named_children().size(), 1u);
  // A bad spec leaves the current quantizer in place.
  EXPECT_THROW(q->set_weight_quant("lsq:bits=99"), quant::SpecError);
  EXPECT_EQ(q->weight_quant()->bits(), 2);
  q->set_weight_quant("");
  EXPECT_FALSE(q->weight_quant());
  EXPECT_EQ(q->named_children().size(), 0u);
  QLinear no_bias(QLinearOptions(2, 2).bias(false));
  EXPECT_THROW(no_bias->set_bias_quant("lsq"), std::invalid_argument);
}

TEST(QLinear, CloneWithoutQuantizersCopiesParameters) {
  torch::manual_seed(37);
  QLinear q(6, 2);
  auto copy = std::dynamic_pointer_cast<QLinearImpl>(q->clone());
  ASSERT_TRUE(copy);
  EXPECT_TRUE(torch::equal(copy->weight, q->weight));
  EXPECT_NE(copy->weight.data_ptr(), q->weight.data_ptr());
}

TEST(QLinear, CloneCopiesLearnedQuantizerState) {
  torch::manual_seed(38);
  QLinear q(QLinearOptions(6, 3).weight_quant("lsq:bits=4").output_quant("pact:bits=4,alpha=2"));
  const torch::Tensor x = torch::randn({4, 6});
  q->forward(x);
  q->weight_quant()->set_bits(3);
  q->weight_quant()->set_frozen(true);
  auto copy = std::dynamic_pointer_cast<QLinearImpl>(q->clone());
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->weight_quant()->bits(), 3);
  EXPECT_TRUE(copy->weight_quant()->frozen());
  const auto original = q->named_parameters();
  for (const auto& item : copy->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), original[item.key()])) << item.key();
    EXPECT_NE(item.value().data_ptr(), original[item.key()].data_ptr()) << item.key();
  }
  EXPECT_TRUE(torch::equal(copy->forward(x), q->forward(x)));
}

}  // namespace
}  // namespace lowbit::nn
