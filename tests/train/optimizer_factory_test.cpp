#include "lowbit/train/optim/optimizer_factory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

namespace lowbit::train {
namespace {

using ::testing::HasSubstr;

OptimizerConfig parse(const std::string& text) {
  return parse_optimizer(config::ConfigNode::parse(text, "opt.yaml"));
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const config::ConfigError& error) {
    return error.what();
  }
  return "";
}

// Runs two steps with a constant gradient of 1 and returns the parameter (started at 1).
float two_steps(const OptimizerConfig& config) {
  torch::Tensor p = torch::ones({1}, torch::requires_grad());
  auto optimizer = make_optimizer(config, std::vector<torch::Tensor>{p});
  for (int i = 0; i < 2; ++i) {
    p.mutable_grad() = torch::ones({1});
    optimizer->step();
  }
  return p.item<float>();
}

TEST(OptimizerFactory, SgdMomentumAndNesterovTakeEffect) {
  auto config = parse("{type: sgd, lr: 0.1, momentum: 0.9}");
  EXPECT_EQ(config.type, OptimizerType::kSgd);
  // buf = 1 then 1.9: p = 1 - 0.1 - 0.19.
  EXPECT_FLOAT_EQ(two_steps(config), 0.71f);
  config = parse("{type: sgd, lr: 0.1, momentum: 0.9, nesterov: true}");
  EXPECT_TRUE(config.nesterov);
  // Nesterov steps by g + m * buf: 1.9 then 1 + 0.9 * 1.9 = 2.71.
  EXPECT_FLOAT_EQ(two_steps(config), 1.0f - 0.19f - 0.271f);
  config = parse("{type: sgd, lr: 0.1, weight_decay: 0.5}");
  // g + wd * p: 1.5 -> p = 0.85; 1.425 -> p = 0.7075.
  EXPECT_FLOAT_EQ(two_steps(config), 0.7075f);
}

TEST(OptimizerFactory, AdamAndAdamWOptions) {
  auto adam = parse("{type: adam, lr: 0.01, betas: [0.8, 0.99], eps: 1.0e-6, amsgrad: true}");
  EXPECT_EQ(adam.type, OptimizerType::kAdam);
  EXPECT_EQ(adam.weight_decay, 0.0);
  torch::Tensor p = torch::ones({1}, torch::requires_grad());
  auto optimizer = make_optimizer(adam, std::vector<torch::Tensor>{p});
  auto& options = dynamic_cast<torch::optim::AdamOptions&>(optimizer->param_groups()[0].options());
  EXPECT_EQ(options.lr(), 0.01);
  EXPECT_EQ(std::get<0>(options.betas()), 0.8);
  EXPECT_EQ(std::get<1>(options.betas()), 0.99);
  EXPECT_EQ(options.eps(), 1e-6);
  EXPECT_TRUE(options.amsgrad());
  // Adam's first step moves every element by lr (up to eps), whatever the gradient's scale.
  EXPECT_NEAR(two_steps(parse("{type: adam, lr: 0.01}")), 0.98f, 1e-6);

  auto adamw = parse("{type: adamw, lr: 0.001}");
  EXPECT_EQ(adamw.type, OptimizerType::kAdamW);
  EXPECT_EQ(adamw.weight_decay, 0.01);  // PyTorch's AdamW default
  auto built = make_optimizer(adamw, std::vector<torch::Tensor>{p});
  EXPECT_NE(dynamic_cast<torch::optim::AdamW*>(built.get()), nullptr);
}

TEST(OptimizerFactory, GroupsGetScaledLrAndOwnWeightDecay) {
  torch::Tensor w = torch::ones({2}, torch::requires_grad());
  torch::Tensor s = torch::ones({1}, torch::requires_grad());
  auto config = parse("{type: sgd, lr: 0.1, weight_decay: 0.0005}");
  auto optimizer =
      make_optimizer(config, {ParamGroup{{w}, 1.0, std::nullopt}, ParamGroup{{s}, 0.01, 0.0}});
  ASSERT_EQ(optimizer->param_groups().size(), 2u);
  auto& first = dynamic_cast<torch::optim::SGDOptions&>(optimizer->param_groups()[0].options());
  auto& second = dynamic_cast<torch::optim::SGDOptions&>(optimizer->param_groups()[1].options());
  EXPECT_EQ(first.lr(), 0.1);
  EXPECT_EQ(first.weight_decay(), 0.0005);
  EXPECT_NEAR(second.lr(), 0.001, 1e-18);
  EXPECT_EQ(second.weight_decay(), 0.0);
  EXPECT_THROW(make_optimizer(config, std::vector<ParamGroup>{}), std::invalid_argument);
}

TEST(OptimizerFactory, StrictConfigErrors) {
  EXPECT_THAT(error_of("{lr: 0.1}"),
              HasSubstr("`type`: missing required key (one of sgd, adam, adamw)"));
  EXPECT_THAT(error_of("{type: rmsprop, lr: 0.1}"), HasSubstr("expected one of sgd, adam, adamw"));
  EXPECT_THAT(error_of("{type: sgd}"), HasSubstr("`lr`: missing required key"));
  EXPECT_THAT(error_of("{type: sgd, lr: -1}"), HasSubstr("`lr`: expected a value > 0"));
  EXPECT_THAT(error_of("{type: sgd, lr: 0.1, nesterov: true}"),
              HasSubstr("`nesterov`: Nesterov momentum needs momentum > 0"));
  EXPECT_THAT(error_of("{type: sgd, lr: 0.1, betas: [0.9, 0.99]}"),
              HasSubstr("`betas`: unknown key"));
  EXPECT_THAT(error_of("{type: adam, lr: 0.1, momentum: 0.9}"),
              HasSubstr("`momentum`: unknown key"));
  EXPECT_THAT(error_of("{type: adam, lr: 0.1, betas: [0.9]}"),
              HasSubstr("expected a list of two numbers"));
  EXPECT_THAT(error_of("{type: adam, lr: 0.1, betas: [0.9, 1.0]}"),
              HasSubstr("expected values in [0, 1)"));
  OptimizerConfig bad;
  bad.type = OptimizerType::kSgd;
  bad.momentum = 1.0;
  EXPECT_THROW(validate_optimizer(bad), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::train
