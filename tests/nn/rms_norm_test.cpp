#include "lowbit/nn/rms_norm.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>

namespace lowbit::nn {
namespace {

TEST(RMSNorm, MatchesTheFormulaOnAKnownInput) {
  RMSNorm norm(RMSNormOptions({4}).eps(0.0));
  const torch::Tensor x = torch::tensor({{1.0f, -1.0f, 1.0f, -1.0f}, {2.0f, 2.0f, 2.0f, 2.0f}});
  // Mean squares 1 and 4: rows scale by 1 and 1/2.
  EXPECT_TRUE(torch::allclose(
      norm->forward(x), torch::tensor({{1.0f, -1.0f, 1.0f, -1.0f}, {1.0f, 1.0f, 1.0f, 1.0f}})));
}

TEST(RMSNorm, NormalisesTrailingDimensionsWithGainAndEps) {
  torch::manual_seed(51);
  RMSNorm norm(RMSNormOptions({3, 5}).eps(1e-3));
  {
    torch::NoGradGuard no_grad;
    norm->weight.copy_(torch::rand({3, 5}) + 0.5);
  }
  const torch::Tensor x = torch::randn({2, 4, 3, 5}, torch::kFloat64).to(torch::kFloat32);
  const torch::Tensor y = norm->forward(x);
  const torch::Tensor xd = x.to(torch::kFloat64);
  const torch::Tensor ms = xd.pow(2).mean({2, 3}, true);
  const torch::Tensor expected = xd / (ms + 1e-3).sqrt() * norm->weight.to(torch::kFloat64);
  EXPECT_TRUE(torch::allclose(y.to(torch::kFloat64), expected, 1e-5, 1e-6));
  EXPECT_EQ(norm->named_parameters().keys(), std::vector<std::string>({"weight"}));
  EXPECT_TRUE(torch::equal(RMSNorm(RMSNormOptions({5}))->weight, torch::ones({5})));
}

TEST(RMSNorm, WithoutAffineHasNoParametersAndUnitRms) {
  torch::manual_seed(52);
  RMSNorm norm(RMSNormOptions({8}).elementwise_affine(false).eps(0.0));
  EXPECT_TRUE(norm->parameters().empty());
  const torch::Tensor y = norm->forward(torch::randn({3, 8}) * 5);
  EXPECT_TRUE(torch::allclose(y.pow(2).mean(1), torch::ones({3}), 1e-5, 1e-6));
}

TEST(RMSNorm, GradientReachesWeightAndRejectsWrongShapes) {
  RMSNorm norm(std::vector<int64_t>{4});
  norm->forward(torch::randn({2, 4})).sum().backward();
  EXPECT_TRUE(norm->weight.grad().defined());
  EXPECT_THROW(norm->forward(torch::randn({2, 5})), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::nn
