#include "lowbit/train/optim/grad_clip.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace lowbit::train {
namespace {

// Two parameters with gradients [3, 4] (norm 5) and [12] (norm 12): global norm 13.
std::vector<torch::Tensor> params_with_grads() {
  torch::Tensor a = torch::zeros({2}, torch::requires_grad());
  torch::Tensor b = torch::zeros({1}, torch::requires_grad());
  torch::Tensor no_grad = torch::zeros({3}, torch::requires_grad());
  a.mutable_grad() = torch::tensor({3.0f, 4.0f});
  b.mutable_grad() = torch::tensor({-12.0f});
  return {a, b, no_grad};
}

std::vector<float> grads(const std::vector<torch::Tensor>& params) {
  std::vector<float> out;
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    for (int64_t i = 0; i < p.grad().numel(); ++i) out.push_back(p.grad()[i].item<float>());
  }
  return out;
}

TEST(GradClip, GlobalNormScalesEverythingTogether) {
  auto params = params_with_grads();
  EXPECT_DOUBLE_EQ(grad_global_norm(params), 13.0);
  EXPECT_DOUBLE_EQ(clip_grad_global_norm(params, 1.0), 13.0);
  EXPECT_THAT(grads(params),
              ::testing::Pointwise(::testing::FloatNear(1e-6f),
                                   std::vector<float>{3 / 13.f, 4 / 13.f, -12 / 13.f}));
  EXPECT_NEAR(grad_global_norm(params), 1.0, 1e-5);
}

TEST(GradClip, GlobalNormBelowThresholdIsUntouched) {
  auto params = params_with_grads();
  EXPECT_DOUBLE_EQ(clip_grad_global_norm(params, 20.0), 13.0);
  EXPECT_EQ(grads(params), (std::vector<float>{3, 4, -12}));
}

TEST(GradClip, TensorNormClipsEachTensorAlone) {
  auto params = params_with_grads();
  EXPECT_DOUBLE_EQ(clip_grad_tensor_norm(params, 6.0), 13.0);
  // [3, 4] has norm 5 <= 6 and stays; [-12] is scaled to norm 6.
  EXPECT_THAT(grads(params),
              ::testing::Pointwise(::testing::FloatNear(1e-6f), std::vector<float>{3, 4, -6}));
}

TEST(GradClip, ByValueClampsElements) {
  auto params = params_with_grads();
  EXPECT_DOUBLE_EQ(clip_grad_value(params, 3.5), 13.0);
  EXPECT_EQ(grads(params), (std::vector<float>{3, 3.5f, -3.5f}));
}

TEST(GradClip, ConfigDispatchAndParse) {
  auto params = params_with_grads();
  EXPECT_DOUBLE_EQ(clip_gradients(ClipConfig{}, params), 13.0);
  EXPECT_EQ(grads(params), (std::vector<float>{3, 4, -12}));
  auto config =
      parse_clipping(config::ConfigNode::parse("{mode: global_norm, max_norm: 6.5}", "c.yaml"));
  EXPECT_EQ(config.mode, ClipMode::kGlobalNorm);
  EXPECT_DOUBLE_EQ(clip_gradients(config, params), 13.0);
  EXPECT_NEAR(grad_global_norm(params), 6.5, 1e-5);
  EXPECT_EQ(parse_clipping(config::ConfigNode::parse("{mode: value, max_value: 2}", "c.yaml")).mode,
            ClipMode::kValue);
  EXPECT_EQ(parse_clipping(config::ConfigNode::parse("{max_norm: 1}", "c.yaml")).mode,
            ClipMode::kGlobalNorm);
  EXPECT_THROW(parse_clipping(config::ConfigNode::parse("{mode: value, max_norm: 2}", "c.yaml")),
               config::ConfigError);
  EXPECT_THROW(parse_clipping(config::ConfigNode::parse("{mode: global_norm}", "c.yaml")),
               config::ConfigError);
  EXPECT_THROW(clip_grad_global_norm(params, 0.0), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::train
