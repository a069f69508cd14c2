#include "lowbit/train/loss.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace lowbit::train {
namespace {

LossConfig loss(LossType type, double smoothing = 0.0) {
  return LossConfig{type, smoothing};
}

TEST(Loss, CrossEntropyByHand) {
  torch::Tensor logits = torch::tensor({{1.0f, 2.0f, 3.0f}, {0.0f, 0.0f, 0.0f}});
  torch::Tensor labels = torch::tensor({2, 0}, torch::kLong);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double first = lse - 3.0;
  const double second = std::log(3.0);
  EXPECT_NEAR(compute_loss(loss(LossType::kCrossEntropy), logits, labels).item<double>(),
              (first + second) / 2, 1e-6);
  // Smoothing s: the target is (1 - s) one-hot + s / C everywhere.
  const double s = 0.3;
  const double smoothed_first = (1 - s) * first + s / 3 * ((lse - 1) + (lse - 2) + (lse - 3));
  const double smoothed_second = second;  // uniform logits: every class costs log 3
  EXPECT_NEAR(compute_loss(loss(LossType::kCrossEntropy, s), logits, labels).item<double>(),
              (smoothed_first + smoothed_second) / 2, 1e-6);
}

TEST(Loss, BinaryCrossEntropyOnProbabilitiesAndLogits) {
  torch::Tensor p = torch::tensor({{0.9f}, {0.2f}, {0.6f}});
  torch::Tensor y = torch::tensor({1, 0, 0}, torch::kLong);
  const double expected = -(std::log(0.9) + std::log(0.8) + std::log(0.4)) / 3;
  EXPECT_NEAR(compute_loss(loss(LossType::kBinaryCrossEntropy), p, y).item<double>(), expected,
              1e-6);
  torch::Tensor logits = torch::log(p / (1 - p));
  EXPECT_NEAR(compute_loss(loss(LossType::kBinaryCrossEntropyWithLogits), logits, y).item<double>(),
              expected, 1e-6);
  // Keras smoothing: y * (1 - s) + s / 2.
  const double s = 0.2;
  const double smoothed =
      -((0.9 * std::log(0.9) + 0.1 * std::log(0.1)) + (0.1 * std::log(0.2) + 0.9 * std::log(0.8)) +
        (0.1 * std::log(0.6) + 0.9 * std::log(0.4))) /
      3;
  EXPECT_NEAR(compute_loss(loss(LossType::kBinaryCrossEntropy, s), p, y).item<double>(), smoothed,
              1e-6);
}

TEST(Loss, MseByHand) {
  torch::Tensor out = torch::tensor({1.0f, 2.0f, 4.0f});
  torch::Tensor target = torch::tensor({{1.0f}, {0.0f}, {1.0f}});
  EXPECT_NEAR(compute_loss(loss(LossType::kMse), out, target).item<double>(), (0 + 4 + 9) / 3.0,
              1e-6);
}

TEST(Loss, GradientFlowsAndShapesAreChecked) {
  torch::Tensor logits = torch::zeros({2, 3}, torch::requires_grad());
  compute_loss(loss(LossType::kCrossEntropy), logits, torch::tensor({0, 1}, torch::kLong))
      .backward();
  // d/dz of mean CE at uniform logits: (softmax - onehot) / N.
  EXPECT_NEAR(logits.grad()[0][0].item<float>(), (1.0 / 3 - 1) / 2, 1e-6);
  EXPECT_NEAR(logits.grad()[0][2].item<float>(), (1.0 / 3) / 2, 1e-6);
  EXPECT_THROW(compute_loss(loss(LossType::kMse), torch::zeros({3}), torch::zeros({4})),
               std::invalid_argument);
  EXPECT_THROW(compute_loss(loss(LossType::kCrossEntropy), torch::zeros({3}), torch::zeros({3})),
               std::invalid_argument);
}

TEST(Loss, ParseStrict) {
  auto config = parse_loss(
      config::ConfigNode::parse("{type: cross_entropy, label_smoothing: 0.1}", "l.yaml"));
  EXPECT_EQ(config.type, LossType::kCrossEntropy);
  EXPECT_EQ(config.label_smoothing, 0.1);
  EXPECT_EQ(parse_loss(config::ConfigNode::parse("{type: bce_with_logits}", "l.yaml")).type,
            LossType::kBinaryCrossEntropyWithLogits);
  try {
    parse_loss(config::ConfigNode::parse("{type: mse, label_smoothing: 0.1}", "l.yaml"));
    FAIL() << "no error";
  } catch (const config::ConfigError& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("`label_smoothing`: unknown key"));
  }
  EXPECT_THROW(parse_loss(config::ConfigNode::parse("{type: hinge}", "l.yaml")),
               config::ConfigError);
}

}  // namespace
}  // namespace lowbit::train
