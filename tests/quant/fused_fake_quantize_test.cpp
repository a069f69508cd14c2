#include "lowbit/quant/fused_fake_quantize.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <vector>

namespace lowbit::quant {
namespace {

// Values with exact .5 ties at scale 0.25, large magnitudes, zeros and sign changes, plus noise.
// (Not beyond int64: LibTorch casts x / scale to int64 before clamping, which is undefined for
// 1e30 and in practice maps it to the lowest code; the saturation test below covers ours.)
torch::Tensor awkward_values(int64_t n) {
  torch::manual_seed(7);
  torch::Tensor x = torch::randn({n}) * 3;
  const std::vector<float> edge = {0.125f, -0.125f, 0.375f, -0.375f, 1e6f,   -1e6f,
                                   0.0f,   -0.0f,   1.875f, -2.125f, 3.999f, 1e-30f};
  for (size_t i = 0; i < edge.size() && static_cast<int64_t>(i) < n; ++i) {
    x[static_cast<int64_t>(i)] = edge[i];
  }
  return x;
}

void expect_same_as_libtorch(const torch::Tensor& x_in, const torch::Tensor& scale,
                             const torch::Tensor& zp, int64_t axis, int64_t qmin, int64_t qmax) {
  const torch::Tensor x1 = x_in.clone().requires_grad_(true);
  const torch::Tensor x2 = x_in.clone().requires_grad_(true);
  const torch::Tensor ours = fused_fake_quantize_cpu(x1, scale, zp, axis, qmin, qmax);
  const torch::Tensor theirs =
      axis < 0 ? torch::fake_quantize_per_tensor_affine(x2, scale.reshape({1}), zp.reshape({1}),
                                                        qmin, qmax)
               : torch::fake_quantize_per_channel_affine(x2, scale, zp, axis, qmin, qmax);
  const torch::Tensor differ = torch::nonzero((ours != theirs).flatten()).flatten();
  for (int64_t i = 0; i < differ.numel(); ++i) {
    const int64_t at = differ[i].item<int64_t>();
    ADD_FAILURE() << "index " << at << ": x " << x_in.flatten()[at].item<float>() << " ours "
                  << ours.flatten()[at].item<float>() << " LibTorch "
                  << theirs.flatten()[at].item<float>() << " (qmin " << qmin << ", qmax " << qmax
                  << ")";
  }
  ASSERT_EQ(differ.numel(), 0);
  const torch::Tensor upstream = torch::randn(x_in.sizes());
  ours.backward(upstream);
  theirs.backward(upstream);
  EXPECT_TRUE(torch::equal(x1.grad(), x2.grad()));
}

TEST(FusedFakeQuantize, PerTensorEqualsLibTorchForEveryWidth) {
  for (int64_t n : {1, 3, 7, 17, 33, 1000}) {
    const torch::Tensor x = awkward_values(n);
    for (int bits = 1; bits <= 8; ++bits) {
      const int64_t half = int64_t{1} << (bits - 1);
      expect_same_as_libtorch(x, torch::tensor(0.25f), torch::tensor(0, torch::kInt32), -1, -half,
                              half - 1);
      expect_same_as_libtorch(x, torch::tensor(0.0371f), torch::tensor(3, torch::kInt32), -1, 0,
                              (int64_t{1} << bits) - 1);
    }
  }
}

TEST(FusedFakeQuantize, PerChannelEqualsLibTorchOnEveryAxis) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({5, 7, 3}) * 2;
  for (int64_t axis = 0; axis < 3; ++axis) {
    const int64_t c = x.size(axis);
    const torch::Tensor scale = torch::rand({c}) * 0.5f + 0.01f;
    const torch::Tensor zp = torch::randint(-2, 3, {c}, torch::kInt32);
    expect_same_as_libtorch(x, scale, zp, axis, -8, 7);
  }
}

TEST(FusedFakeQuantize, GradientIsZeroExactlyWhereTheCodeIsClipped) {
  const torch::Tensor x =
      torch::tensor({-2.6f, -2.4f, -1.0f, 0.0f, 1.74f, 1.76f, 9.0f}).requires_grad_(true);
  // scale 1, codes [-2, 2]: -2.6 rounds to -3 (clipped), -2.4 to -2 (inside), 1.76 to 2 (inside).
  const torch::Tensor y =
      fused_fake_quantize_cpu(x, torch::tensor(1.0f), torch::tensor(0, torch::kInt32), -1, -2, 2);
  EXPECT_TRUE(torch::equal(y, torch::tensor({-2.f, -2.f, -1.f, 0.f, 2.f, 2.f, 2.f})));
  y.backward(torch::full({7}, 3.0f));
  EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({0.f, 3.f, 3.f, 3.f, 3.f, 3.f, 0.f})));
}

TEST(FusedFakeQuantize, HugeValuesSaturateToTheNearestEnd) {
  const torch::Tensor x = torch::tensor({1e30f, -1e30f, 3e38f, -3e38f});
  const torch::Tensor y =
      fused_fake_quantize_cpu(x, torch::tensor(0.5f), torch::tensor(0, torch::kInt32), -1, -8, 7);
  EXPECT_TRUE(torch::equal(y, torch::tensor({3.5f, -4.0f, 3.5f, -4.0f})));
}

TEST(FusedFakeQuantize, RejectsWrongInputs) {
  EXPECT_THROW(fused_fake_quantize_cpu(torch::zeros({3}, torch::kFloat64), torch::tensor(1.0f),
                                       torch::tensor(0), -1, -1, 1),
               std::invalid_argument);
  EXPECT_THROW(fused_fake_quantize_cpu(torch::zeros({3, 2}), torch::ones({4}),
                                       torch::zeros({4}, torch::kInt32), 0, -1, 1),
               std::invalid_argument);
  EXPECT_THROW(
      fused_fake_quantize_cpu(torch::zeros({3}), torch::tensor(1.0f), torch::tensor(0), -1, 2, 1),
      std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::quant

namespace lowbit::quant {
namespace {

// Our learned-step kernel against LibTorch's learnable fake-quant op: the forward and the input
// gradient are exact; the step gradient is a float sum whose order differs, so it gets a relative
// bound.
void expect_learned_step_like_libtorch(const torch::Tensor& x_in, const torch::Tensor& step_in,
                                       int64_t axis, int64_t qmin, int64_t qmax, double g) {
  const torch::Tensor x1 = x_in.clone().requires_grad_(true);
  const torch::Tensor x2 = x_in.clone().requires_grad_(true);
  const torch::Tensor s1 = step_in.clone().requires_grad_(true);
  const torch::Tensor s2 = step_in.clone().requires_grad_(true);
  const torch::Tensor ours = fused_learned_step_cpu(x1, s1, axis, qmin, qmax, g);
  const torch::Tensor zp = torch::zeros_like(step_in);
  const torch::Tensor theirs =
      axis < 0
          ? torch::_fake_quantize_learnable_per_tensor_affine(x2, s2, zp, qmin, qmax, g)
          : torch::_fake_quantize_learnable_per_channel_affine(x2, s2, zp, axis, qmin, qmax, g);
  ASSERT_TRUE(torch::equal(ours, theirs));
  const torch::Tensor upstream = torch::randn(x_in.sizes());
  ours.backward(upstream);
  theirs.backward(upstream);
  EXPECT_TRUE(torch::equal(x1.grad(), x2.grad()));
  ASSERT_EQ(s1.grad().sizes(), s2.grad().sizes());
  EXPECT_TRUE(torch::allclose(s1.grad(), s2.grad(), 1e-4, 1e-6))
      << s1.grad() << " vs " << s2.grad();
}

TEST(FusedLearnedStep, PerTensorMatchesLibTorch) {
  for (int64_t n : {1, 3, 7, 17, 33, 4099}) {
    torch::manual_seed(n);
    const torch::Tensor x = torch::randn({n}) * 2;
    for (int bits = 2; bits <= 8; ++bits) {
      const int64_t half = int64_t{1} << (bits - 1);
      expect_learned_step_like_libtorch(x, torch::tensor({0.3f}), -1, -half, half - 1, 0.05);
      expect_learned_step_like_libtorch(x, torch::tensor({0.1f}), -1, 0, 2 * half - 1, 1.0);
    }
  }
}

TEST(FusedLearnedStep, PerChannelMatchesLibTorch) {
  torch::manual_seed(11);
  const torch::Tensor x = torch::randn({6, 5, 3}) * 2;
  for (int64_t axis = 0; axis < 2; ++axis) {
    const torch::Tensor step = torch::rand({x.size(axis)}) * 0.5f + 0.05f;
    expect_learned_step_like_libtorch(x, step, axis, -8, 7, 0.2);
  }
}

}  // namespace
}  // namespace lowbit::quant
