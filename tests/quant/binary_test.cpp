#include "lowbit/quant/weight_grids/binary.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include "grid_test_util.h"
#include "lowbit/quant/registry.h"

namespace lowbit::quant {
namespace {

using testing::expect_invariants_on_awkward_shapes;

// sign() with zero taken as +1, the reference of BitNetMCU's sign on the grid.
torch::Tensor sign_on_grid(const torch::Tensor& x) {
  return torch::where(x >= 0, torch::ones_like(x), -torch::ones_like(x));
}

TEST(BinaryQuantizer, InvariantsPerTensorAndPerChannel) {
  expect_invariants_on_awkward_shapes("binary");
  expect_invariants_on_awkward_shapes("binary:centered=1");
}

TEST(BinaryQuantizer, MatchesBitNetMcuBinarySym) {
  torch::manual_seed(3);
  const torch::Tensor w = torch::randn({17, 33});
  const torch::Tensor expected = sign_on_grid(w) * w.abs().mean();
  EXPECT_TRUE(torch::equal(make_quantizer("binary")->forward(w), expected));
  const IntegerForm form = make_quantizer("binary")->integer_form(w);
  EXPECT_TRUE(torch::equal(form.codes, sign_on_grid(w).to(torch::kInt32)));
  EXPECT_EQ(form.bits, 1);
  EXPECT_EQ(form.code_min, -1);
  EXPECT_EQ(form.code_max, 1);
}

TEST(BinaryQuantizer, CenteredMatchesBitNetMcuBinary) {
  torch::manual_seed(4);
  const torch::Tensor w = torch::randn({7, 17}) + 0.3;
  const torch::Tensor expected = sign_on_grid(w - w.mean()) * w.abs().mean();
  EXPECT_TRUE(torch::equal(make_quantizer("binary:centered=1")->forward(w), expected));
  // Centring changes codes for a shifted tensor: some positive weights become -1.
  EXPECT_FALSE(torch::equal(make_quantizer("binary")->forward(w), expected));
}

TEST(BinaryQuantizer, PerChannelUsesEachRowsMeanMagnitude) {
  torch::manual_seed(5);
  const torch::Tensor w = torch::randn({3, 7}) * torch::tensor({0.1f, 1.0f, 10.0f}).unsqueeze(1);
  const torch::Tensor m = w.abs().mean(1, true);
  const IntegerForm form = make_quantizer("binary:per_channel=1")->integer_form(w);
  EXPECT_EQ(form.axis, 0);
  EXPECT_TRUE(torch::equal(form.scale, m.squeeze(1)));
  EXPECT_TRUE(torch::equal(form.dequantize(), sign_on_grid(w) * m));
}

TEST(BinaryQuantizer, ZeroTensorMapsToThePositiveLevelWithEpsilonScale) {
  const IntegerForm form = make_quantizer("binary")->integer_form(torch::zeros({3}));
  EXPECT_TRUE(torch::equal(form.codes, torch::ones({3}, torch::kInt32)));
  EXPECT_EQ(form.scale.item<float>(), kScaleStatEps);
}

TEST(BinaryQuantizer, RecomputedScaleKeepsCodesAndScaleToRounding) {
  // Not an exact fixed point unfrozen: mean|y| of {+-m} can differ from m in the last bit.
  torch::manual_seed(6);
  const Quantizer q = make_quantizer("binary");
  const torch::Tensor w = torch::randn({33, 7});
  const torch::Tensor y = q->forward(w);
  EXPECT_TRUE(torch::equal(q->integer_form(y).codes, q->integer_form(w).codes));
  EXPECT_TRUE(torch::allclose(q->forward(y), y, 1e-6, 0));
}

TEST(BinaryQuantizer, PlainGradientByDefaultClippedOnRequest) {
  const torch::Tensor w = torch::tensor({-3.0f, -0.5f, 0.25f, 0.5f, 3.0f}, torch::requires_grad());
  const torch::Tensor upstream = torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f});
  make_quantizer("binary")->forward(w).backward(upstream);
  EXPECT_TRUE(torch::equal(w.grad(), upstream));
  w.mutable_grad().zero_();
  // mean|w| = 1.45: the span [-1.45, 1.45] excludes the two outer weights.
  make_quantizer("binary:ste=clip")->forward(w).backward(upstream);
  EXPECT_TRUE(torch::equal(w.grad(), torch::tensor({0.f, 2.f, 3.f, 4.f, 0.f})));
}

TEST(BinaryQuantizer, FixedWidthAndSpec) {
  const Quantizer q = make_quantizer("binary:centered=1,per_channel=1");
  EXPECT_EQ(q->bits(), 1);
  EXPECT_THROW(q->set_bits(2), SpecError);
  EXPECT_EQ(q->spec().str(), make_quantizer(q->spec())->spec().str());
  EXPECT_EQ(q->spec().get("centered", ""), "1");
}

}  // namespace
}  // namespace lowbit::quant
