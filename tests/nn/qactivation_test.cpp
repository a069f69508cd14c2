#include "lowbit/nn/qactivation.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

namespace lowbit::nn {
namespace {

TEST(QActivation, FunctionsAreTheirTorchCounterparts) {
  const torch::Tensor x = torch::linspace(-8, 8, 33);
  EXPECT_TRUE(torch::equal(QActivation(QActivationOptions("none"))->forward(x), x));
  EXPECT_TRUE(torch::equal(QActivation(QActivationOptions("relu"))->forward(x), torch::relu(x)));
  EXPECT_TRUE(
      torch::equal(QActivation(QActivationOptions("relu6"))->forward(x), torch::clamp(x, 0, 6)));
  EXPECT_TRUE(
      torch::equal(QActivation(QActivationOptions("sigmoid"))->forward(x), torch::sigmoid(x)));
  EXPECT_TRUE(torch::equal(QActivation(QActivationOptions("hard_sigmoid"))->forward(x),
                           torch::clamp(x + 3, 0, 6) / 6));
  EXPECT_TRUE(torch::equal(QActivation(QActivationOptions("tanh"))->forward(x), torch::tanh(x)));
  EXPECT_THROW(QActivation(QActivationOptions("gelu")), std::invalid_argument);
}

TEST(QActivation, OutputQuantizerFollowsTheFunction) {
  QActivation act(QActivationOptions("relu").output_quant("pact:bits=2,alpha=3"));
  const torch::Tensor x = torch::tensor({-1.0f, 0.4f, 0.6f, 1.6f, 2.4f, 9.0f});
  EXPECT_TRUE(torch::equal(act->forward(x), torch::tensor({0.0f, 0.0f, 1.0f, 2.0f, 2.0f, 3.0f})));
  EXPECT_EQ(act->named_parameters().keys(), std::vector<std::string>({"output_quant.alpha"}));
  act->set_output_quant("lsq:bits=3");
  EXPECT_EQ(act->output_quant()->bits(), 3);
  act->set_output_quant("");
  EXPECT_TRUE(torch::equal(act->forward(x), torch::relu(x)));
}

TEST(QActivation, GradientReachesTheClippingLevel) {
  QActivation act(QActivationOptions("relu").output_quant("pact:bits=4,alpha=1"));
  const torch::Tensor x = torch::tensor({0.5f, 2.0f, 3.0f}, torch::requires_grad());
  act->forward(x).sum().backward();
  EXPECT_EQ(act->named_parameters()["output_quant.alpha"].grad().item<float>(), 2.0f);
  EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({1.0f, 0.0f, 0.0f})));
}

}  // namespace
}  // namespace lowbit::nn
