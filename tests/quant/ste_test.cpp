#include "lowbit/quant/ste.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

namespace lowbit::quant {
namespace {

TEST(StraightThrough, ForwardIsExactlyTheQuantizedTensor) {
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({33}, torch::requires_grad());
  const torch::Tensor q = torch::round(x.detach() * 3) / 3;
  const torch::Tensor y = straight_through(x, q, torch::tensor(-1.0f), torch::tensor(1.0f));
  EXPECT_TRUE(torch::equal(y, q));
  EXPECT_TRUE(torch::equal(straight_through(x, q), q));
}

TEST(StraightThrough, GradientPassesInsideTheRangeOnly) {
  const torch::Tensor x =
      torch::tensor({-2.0f, -1.0f, -0.5f, 0.0f, 0.7f, 1.0f, 1.5f}, torch::requires_grad());
  const torch::Tensor q = torch::clamp(torch::round(x.detach()), -1, 1);
  const torch::Tensor upstream = torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f});
  straight_through(x, q, torch::tensor(-1.0f), torch::tensor(1.0f)).backward(upstream);
  EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({0.f, 2.f, 3.f, 4.f, 5.f, 6.f, 0.f})));
}

TEST(StraightThrough, UnclippedGradientIsTheIncomingGradient) {
  const torch::Tensor x = torch::tensor({-5.0f, 0.2f, 9.0f}, torch::requires_grad());
  const torch::Tensor upstream = torch::tensor({1.5f, -2.0f, 3.0f});
  straight_through(x, torch::round(x.detach())).backward(upstream);
  EXPECT_TRUE(torch::equal(x.grad(), upstream));
}

TEST(StraightThrough, PerChannelBoundsBroadcast) {
  const torch::Tensor x = torch::tensor({{0.5f, 1.5f}, {0.5f, 1.5f}}, torch::requires_grad());
  const torch::Tensor hi = torch::tensor({{1.0f}, {2.0f}});
  straight_through(x, torch::round(x.detach()), -hi, hi).sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({{1.f, 0.f}, {1.f, 1.f}})));
}

}  // namespace
}  // namespace lowbit::quant
