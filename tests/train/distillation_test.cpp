#include "lowbit/train/methods/distillation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace lowbit::train {
namespace {

// KL(p_t || p_s) of one row of logits at temperature T, written out.
double row_kl(const std::vector<double>& s, const std::vector<double>& t, double temp) {
  auto softmax = [temp](const std::vector<double>& z) {
    std::vector<double> p(z.size());
    double sum = 0.0;
    for (size_t k = 0; k < z.size(); ++k) sum += p[k] = std::exp(z[k] / temp);
    for (double& v : p) v /= sum;
    return p;
  };
  const auto ps = softmax(s);
  const auto pt = softmax(t);
  double kl = 0.0;
  for (size_t k = 0; k < s.size(); ++k) kl += pt[k] * std::log(pt[k] / ps[k]);
  return kl;
}

TEST(Distillation, SoftmaxTermMatchesFormula) {
  const std::vector<std::vector<double>> s = {{1.0, -0.5, 2.0}, {0.3, 0.1, -1.2}};
  const std::vector<std::vector<double>> t = {{2.5, 0.0, 0.5}, {-0.4, 1.1, 0.2}};
  const double temp = 3.0;
  const double expected = temp * temp * (row_kl(s[0], t[0], temp) + row_kl(s[1], t[1], temp)) / 2.0;
  const torch::Tensor student =
      torch::tensor({1.0, -0.5, 2.0, 0.3, 0.1, -1.2}, torch::kDouble).reshape({2, 3});
  const torch::Tensor teacher =
      torch::tensor({2.5, 0.0, 0.5, -0.4, 1.1, 0.2}, torch::kDouble).reshape({2, 3});
  EXPECT_NEAR(distillation_term(student, teacher, temp, false).item<double>(), expected, 1e-12);
  EXPECT_NEAR(distillation_term(teacher, teacher, temp, false).item<double>(), 0.0, 1e-15);
}

TEST(Distillation, BinaryTermMatchesBernoulliKl) {
  const std::vector<double> s = {0.7, -1.5, 2.0};
  const std::vector<double> t = {-0.2, -1.0, 3.0};
  const double temp = 2.0;
  double expected = 0.0;
  for (size_t i = 0; i < s.size(); ++i) {
    const double ps = 1.0 / (1.0 + std::exp(-s[i] / temp));
    const double pt = 1.0 / (1.0 + std::exp(-t[i] / temp));
    expected += pt * std::log(pt / ps) + (1 - pt) * std::log((1 - pt) / (1 - ps));
  }
  expected = temp * temp * expected / 3.0;
  const torch::Tensor student = torch::tensor(s, torch::kDouble);
  const torch::Tensor teacher = torch::tensor(t, torch::kDouble);
  EXPECT_NEAR(distillation_term(student, teacher, temp, true).item<double>(), expected, 1e-12);
}

TEST(Distillation, LossMixesTermsAndLeavesTeacherAlone) {
  torch::manual_seed(1);
  torch::Tensor student = torch::randn({4, 5}, torch::kDouble).requires_grad_(true);
  torch::Tensor teacher = torch::randn({4, 5}, torch::kDouble).requires_grad_(true);
  const torch::Tensor task = torch::tensor(0.8, torch::kDouble);
  DistillationOptions options;
  options.alpha = 0.25;
  options.temperature = 2.0;
  torch::Tensor loss = distillation_loss(student, teacher, task, options);
  const double term = distillation_term(student, teacher, 2.0, false).item<double>();
  EXPECT_NEAR(loss.item<double>(), 0.25 * term + 0.75 * 0.8, 1e-12);
  loss.backward();
  EXPECT_TRUE(student.grad().defined());
  EXPECT_FALSE(teacher.grad().defined());
  options.alpha = 1.5;
  EXPECT_THROW(distillation_loss(student, teacher, task, options), std::invalid_argument);
  EXPECT_THROW(distillation_term(student, teacher, 0.0, false), std::invalid_argument);
  EXPECT_THROW(distillation_term(student, teacher.reshape({5, 4}), 1.0, false),
               std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::train
