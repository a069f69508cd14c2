#include "lowbit/quant/fused_codes.h"

#include <gtest/gtest.h>

namespace lowbit::quant {
namespace {

TEST(FusedCodes, MatchTheFusedPerTensorKernel) {
  torch::manual_seed(61);
  for (float scale : {0.1f, 0.3f, 1.0f / 3.0f, 0.0078125f, 2.5f}) {
    const torch::Tensor ties = (torch::arange(-20, 20, torch::kFloat32) + 0.5f) * scale;
    const torch::Tensor x = torch::cat({ties, torch::nextafter(ties, ties + 1),
                                        torch::nextafter(ties, ties - 1), torch::randn({999}) * 3});
    const torch::Tensor codes = fused_affine_codes(x, torch::tensor(scale), -8, 7);
    const torch::Tensor fused = torch::fake_quantize_per_tensor_affine(x, scale, 0, -8, 7);
    EXPECT_TRUE(torch::equal(codes.to(torch::kFloat32) * scale, fused)) << "scale " << scale;
    EXPECT_EQ(codes.scalar_type(), torch::kInt32);
  }
}

TEST(FusedCodes, MatchTheFusedPerChannelKernel) {
  torch::manual_seed(62);
  const torch::Tensor scale = torch::tensor({0.1f, 0.25f, 1.0f / 3.0f});
  const torch::Tensor x = torch::randn({3, 257}) * 2;
  const torch::Tensor codes = fused_affine_codes(x, scale.reshape({3, 1}), 0, 15);
  const torch::Tensor fused =
      torch::fake_quantize_per_channel_affine(x, scale, torch::zeros({3}, torch::kInt32), 0, 0, 15);
  EXPECT_TRUE(torch::equal(codes.to(torch::kFloat32) * scale.reshape({3, 1}), fused));
  EXPECT_EQ(codes.min().item<int>(), 0);
  EXPECT_EQ(codes.max().item<int>(), 15);
}

}  // namespace
}  // namespace lowbit::quant
