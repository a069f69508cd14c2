#include "lowbit/quant/affine/affine_grid.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

namespace lowbit::quant {
namespace {

TEST(AffineGrid, SignedGridIsSymmetricWithZeroZeroPoint) {
  const AffineGrid g =
      affine_grid({torch::tensor(-2.0f).reshape({}), torch::tensor(1.0f).reshape({})}, -8, 7, -1);
  EXPECT_EQ(g.axis, -1);
  EXPECT_EQ(g.zero_point.item<int32_t>(), 0);
  EXPECT_FLOAT_EQ(g.scale.item<float>(), 2.0f / 7.0f);
}

TEST(AffineGrid, UnsignedGridPlacesZeroExactly) {
  const AffineGrid g =
      affine_grid({torch::tensor(-1.0f).reshape({}), torch::tensor(3.0f).reshape({})}, 0, 15, -1);
  EXPECT_FLOAT_EQ(g.scale.item<float>(), 4.0f / 15.0f);
  EXPECT_EQ(g.zero_point.item<int32_t>(), 4);  // round(1 / (4/15)) = round(3.75)
  const torch::Tensor zero = torch::zeros({1});
  EXPECT_TRUE(torch::equal(fake_quantize(zero, g), zero));
}

TEST(AffineGrid, PositiveRangeStillContainsZero) {
  const AffineGrid g =
      affine_grid({torch::tensor(2.0f).reshape({}), torch::tensor(6.0f).reshape({})}, 0, 255, -1);
  EXPECT_EQ(g.zero_point.item<int32_t>(), 0);
  EXPECT_FLOAT_EQ(g.scale.item<float>(), 6.0f / 255.0f);
}

TEST(AffineGrid, AllZeroRangeGetsTheMinimumScale) {
  const AffineGrid g = affine_grid({torch::zeros({3}), torch::zeros({3})}, -8, 7, 0);
  EXPECT_TRUE(torch::equal(g.scale, torch::full({3}, kMinScale)));
  const torch::Tensor x = torch::zeros({3, 4});
  EXPECT_TRUE(torch::equal(fake_quantize(x, g), x));
}

TEST(AffineGrid, SignedGridNeedsAPositiveTopCode) {
  EXPECT_THROW(affine_grid({torch::zeros({}), torch::ones({})}, -1, 0, -1), std::invalid_argument);
}

TEST(AffineGrid, IntegerFormDequantizesToTheFusedOutputPerChannel) {
  torch::manual_seed(3);
  for (int64_t c : {1, 3, 17}) {
    const torch::Tensor x = torch::randn({c, 33}) * 3;
    const AffineGrid g = affine_grid({-torch::rand({c}), torch::rand({c}) * 4}, 0, 15, 0);
    const IntegerForm form = grid_integer_form(x, g, 4, false);
    EXPECT_TRUE(torch::equal(form.dequantize(), fake_quantize(x, g))) << c;
    EXPECT_GE(form.codes.min().item<int>(), 0);
    EXPECT_LE(form.codes.max().item<int>(), 15);
  }
}

TEST(AffineGrid, LevelsListEveryCodeAscending) {
  const AffineGrid per_tensor = constant_grid(0.5, 0, -2, 1, torch::kCPU);
  EXPECT_TRUE(torch::equal(grid_levels(per_tensor), torch::tensor({-1.0f, -0.5f, 0.0f, 0.5f})));
  AffineGrid per_channel;
  per_channel.scale = torch::tensor({1.0f, 0.25f});
  per_channel.zero_point = torch::tensor({0, 1}, torch::kInt32);
  per_channel.qmin = 0;
  per_channel.qmax = 2;
  per_channel.axis = 0;
  EXPECT_TRUE(torch::equal(grid_levels(per_channel),
                           torch::tensor({{0.0f, 1.0f, 2.0f}, {-0.25f, 0.0f, 0.25f}})));
}

}  // namespace
}  // namespace lowbit::quant
