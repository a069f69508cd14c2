#include "lowbit/train/report/evaluation.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

namespace lowbit::train {
namespace {

// y = x[:, 0]: a fixed "model" whose outputs are the first input column.
torch::nn::AnyModule first_column() {
  torch::nn::Linear linear(torch::nn::LinearOptions(2, 1).bias(false));
  torch::NoGradGuard no_grad;
  linear->weight.copy_(torch::tensor({{1.0f, 0.0f}}));
  return torch::nn::AnyModule(linear);
}

TEST(Evaluation, BinaryLogitsGiveAccuracyAndAuc) {
  data::Dataset d;
  d.inputs = torch::tensor({{-2.0f, 0.f}, {-1.0f, 0.f}, {0.5f, 0.f}, {3.0f, 0.f}, {1.0f, 0.f}});
  d.targets = torch::tensor({0.0f, 1.0f, 0.0f, 1.0f, 1.0f});
  auto model = first_column();
  LossConfig loss;
  loss.type = LossType::kBinaryCrossEntropyWithLogits;
  EvalResult r = evaluate(model, d, loss, 2);  // batches of 2, 2 and 1
  EXPECT_DOUBLE_EQ(r.accuracy, 3.0 / 5.0);     // -2 right, -1 wrong, 0.5 wrong, 3 and 1 right
  EXPECT_DOUBLE_EQ(r.auc, 5.0 / 6.0);          // pairs (pos > neg): 5 of 6
  const double expected_loss =
      (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(1.0)) + std::log1p(std::exp(0.5)) +
       std::log1p(std::exp(-3.0)) + std::log1p(std::exp(-1.0))) /
      5.0;
  EXPECT_NEAR(r.loss, expected_loss, 1e-6);
}

TEST(Evaluation, MseHasNoAccuracyAndEmptySetsAreNan) {
  data::Dataset d;
  d.inputs = torch::tensor({{1.0f, 0.f}, {2.0f, 0.f}});
  d.targets = torch::tensor({1.0f, 0.0f});
  auto model = first_column();
  LossConfig loss;
  loss.type = LossType::kMse;
  EvalResult r = evaluate(model, d, loss, 8);
  EXPECT_DOUBLE_EQ(r.loss, 2.0);
  EXPECT_TRUE(std::isnan(r.accuracy));
  EXPECT_TRUE(std::isnan(r.auc));
  data::Dataset empty;
  EXPECT_TRUE(std::isnan(evaluate(model, empty, loss, 8).loss));
}

TEST(Evaluation, CrossEntropyScoresTheSecondClassForAuc) {
  LossConfig loss;
  BatchScores s = score_batch(loss, torch::tensor({{2.0f, 0.0f}, {0.0f, 1.0f}, {1.0f, 0.5f}}),
                              torch::tensor({0, 1, 1}, torch::kInt64));
  EXPECT_EQ(s.correct, 2);
  EXPECT_EQ(s.total, 3);
  ASSERT_TRUE(s.scores.defined());
  EXPECT_GT(s.scores[1].item<float>(), 0.5f);
}

}  // namespace
}  // namespace lowbit::train
