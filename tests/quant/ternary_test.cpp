#include "lowbit/quant/weight_grids/ternary.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include "grid_test_util.h"
#include "lowbit/quant/registry.h"

namespace lowbit::quant {
namespace {

using testing::expect_invariants_on_awkward_shapes;

TEST(TernaryQuantizer, InvariantsPerTensorAndPerChannel) {
  expect_invariants_on_awkward_shapes("ternary");
}

TEST(TernaryQuantizer, MatchesBitNetB158Absmean) {
  torch::manual_seed(11);
  const torch::Tensor w = torch::randn({33, 17});
  const torch::Tensor s = w.abs().mean().clamp_min(1e-5);
  const torch::Tensor codes = torch::clamp(torch::round(w / s), -1, 1);
  const IntegerForm form = make_quantizer("ternary")->integer_form(w);
  EXPECT_TRUE(torch::equal(form.codes, codes.to(torch::kInt32)));
  EXPECT_TRUE(torch::equal(form.scale, s));
  EXPECT_EQ(form.bits, 2);
  EXPECT_TRUE(torch::equal(make_quantizer("ternary")->forward(w), codes * s));
  // All three codes occur on Gaussian weights.
  EXPECT_EQ(std::get<0>(torch::_unique(form.codes)).numel(), 3);
}

TEST(TernaryQuantizer, PerChannelScales) {
  torch::manual_seed(12);
  const torch::Tensor w = torch::randn({7, 3, 3});
  const IntegerForm form = make_quantizer("ternary:per_channel=1")->integer_form(w);
  EXPECT_TRUE(torch::equal(form.scale, w.abs().reshape({7, -1}).mean(1)));
  EXPECT_EQ(form.scale.sizes(), torch::IntArrayRef({7}));
}

TEST(TernaryQuantizer, RecomputedScaleKeepsCodesButNotValues) {
  // Unfrozen, ternary is no fixed point: mean|y| = s * (share of non-zero codes) < s.
  torch::manual_seed(13);
  const Quantizer q = make_quantizer("ternary");
  const torch::Tensor w = torch::randn({17, 17});
  const torch::Tensor y = q->forward(w);
  EXPECT_TRUE(torch::equal(q->integer_form(y).codes, q->integer_form(w).codes));
  EXPECT_FALSE(torch::equal(q->forward(y), y));
}

TEST(TernaryQuantizer, PlainGradientByDefaultClippedOnRequest) {
  const torch::Tensor w = torch::tensor({-2.0f, -0.5f, 0.0f, 0.5f, 2.0f}, torch::requires_grad());
  const torch::Tensor upstream = torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f});
  make_quantizer("ternary")->forward(w).backward(upstream);
  EXPECT_TRUE(torch::equal(w.grad(), upstream));
  w.mutable_grad().zero_();
  // s = mean|w| = 1: the span [-1, 1] excludes +-2.
  make_quantizer("ternary:ste=clip")->forward(w).backward(upstream);
  EXPECT_TRUE(torch::equal(w.grad(), torch::tensor({0.f, 2.f, 3.f, 4.f, 0.f})));
}

TEST(TernaryQuantizer, FixedWidth) {
  const Quantizer q = make_quantizer("ternary");
  EXPECT_EQ(q->bits(), 2);
  EXPECT_THROW(q->set_bits(3), SpecError);
}

}  // namespace
}  // namespace lowbit::quant
