#include "lowbit/train/optim/lr_scheduler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

namespace lowbit::train {
namespace {

LrScheduleConfig polynomial(LrUpdate update) {
  LrScheduleConfig config;
  config.type = LrScheduleType::kPolynomial;
  config.power = 2;
  config.end_lr = 0.0;
  config.update = update;
  return config;
}

TEST(LrScheduler, PerStepUsesFractionalEpochsAndKeepsGroupRatios) {
  torch::Tensor a = torch::ones({2}, torch::requires_grad());
  torch::Tensor b = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD sgd(
      {torch::optim::OptimizerParamGroup({a}, std::make_unique<torch::optim::SGDOptions>(0.1)),
       torch::optim::OptimizerParamGroup({b}, std::make_unique<torch::optim::SGDOptions>(0.01))},
      torch::optim::SGDOptions(0.1));
  LrScheduler scheduler(sgd, polynomial(LrUpdate::kStep), 10, 4);
  EXPECT_TRUE(scheduler.per_step());
  EXPECT_EQ(scheduler.base_lrs(), (std::vector<double>{0.1, 0.01}));
  EXPECT_DOUBLE_EQ(scheduler.time_of(2, 1), 2.25);
  const double factor = std::pow(1 - 2.25 / 10, 2);
  EXPECT_NEAR(scheduler.apply(2, 1), 0.1 * factor, 1e-15);
  EXPECT_NEAR(learning_rate(sgd, 0), 0.1 * factor, 1e-15);
  EXPECT_NEAR(learning_rate(sgd, 1), 0.01 * factor, 1e-15);
  EXPECT_THROW(learning_rate(sgd, 2), std::out_of_range);
}

TEST(LrScheduler, PerEpochIgnoresTheStep) {
  torch::Tensor a = torch::ones({2}, torch::requires_grad());
  torch::optim::Adam adam({a}, torch::optim::AdamOptions(1e-3));
  LrScheduler scheduler(adam, polynomial(LrUpdate::kEpoch), 10, 100);
  EXPECT_FALSE(scheduler.per_step());
  EXPECT_DOUBLE_EQ(scheduler.time_of(3, 99), 3.0);
  EXPECT_NEAR(scheduler.apply(3, 99), 1e-3 * 0.49, 1e-15);
  EXPECT_NEAR(learning_rate(adam), 1e-3 * 0.49, 1e-15);
}

TEST(LrScheduler, TheOptimizerStepUsesTheScheduledLr) {
  torch::Tensor p = torch::ones({1}, torch::requires_grad());
  torch::optim::SGD sgd({p}, torch::optim::SGDOptions(0.5));
  LrScheduleConfig step;
  step.type = LrScheduleType::kStep;
  step.step_size = 1;
  step.gamma = 0.5;
  LrScheduler scheduler(sgd, step, 5, 1);
  scheduler.apply(2);  // 0.5 * 0.25 = 0.125
  p.mutable_grad() = torch::ones({1});
  sgd.step();
  EXPECT_FLOAT_EQ(p.item<float>(), 1.0f - 0.125f);
}

TEST(LrScheduler, SetLearningRateOnEveryOptimizerType) {
  torch::Tensor p = torch::ones({1}, torch::requires_grad());
  torch::optim::SGD sgd({p}, torch::optim::SGDOptions(0.1));
  torch::optim::Adam adam({p}, torch::optim::AdamOptions(0.1));
  torch::optim::AdamW adamw({p}, torch::optim::AdamWOptions(0.1));
  for (torch::optim::Optimizer* optimizer :
       std::vector<torch::optim::Optimizer*>{&sgd, &adam, &adamw}) {
    set_learning_rate(*optimizer, 0.0625);
    EXPECT_EQ(learning_rate(*optimizer), 0.0625);
  }
  EXPECT_EQ(static_cast<torch::optim::AdamWOptions&>(adamw.param_groups()[0].options()).lr(),
            0.0625);
}

TEST(LrScheduler, RejectsBadSetup) {
  torch::Tensor p = torch::ones({1}, torch::requires_grad());
  torch::optim::SGD sgd({p}, torch::optim::SGDOptions(0.1));
  EXPECT_THROW(LrScheduler(sgd, polynomial(LrUpdate::kStep), 10, 0), std::invalid_argument);
  EXPECT_THROW(LrScheduler(sgd, polynomial(LrUpdate::kStep), 0, 1), std::invalid_argument);
  LrScheduler scheduler(sgd, polynomial(LrUpdate::kEpoch), 10, 1);
  torch::Tensor q = torch::ones({1}, torch::requires_grad());
  sgd.add_param_group(torch::optim::OptimizerParamGroup({q}));
  EXPECT_THROW(scheduler.apply(1), std::logic_error);
  set_learning_rate(sgd, 0.0);
  EXPECT_THROW(LrScheduler(sgd, polynomial(LrUpdate::kStep), 10, 1), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::train
