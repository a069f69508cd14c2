#include "lowbit/quant/weight_grids/fp130.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include "grid_test_util.h"
#include "lowbit/quant/registry.h"

namespace lowbit::quant {
namespace {

using testing::expect_invariants_on_awkward_shapes;

TEST(Fp130Quantizer, InvariantsPerTensorAndPerChannel) {
  expect_invariants_on_awkward_shapes("fp130");
  expect_invariants_on_awkward_shapes("fp130:quantscale=0.5");
}

TEST(Fp130Quantizer, MatchesBitNetMcuFormula) {
  torch::manual_seed(51);
  const torch::Tensor w = torch::randn({33, 33}) * 0.1;
  const IntegerForm form = make_quantizer("fp130:quantscale=0.5")->integer_form(w);
  // BitNetMCU: scale = 128 * quantscale / mean|w|, e = clamp(floor(log2|w * scale|), 0, 7).
  const torch::Tensor scale = 128 * 0.5 / w.abs().mean();
  const torch::Tensor e = torch::clamp(torch::floor(torch::log2((w * scale).abs())), 0, 7);
  const torch::Tensor expected = (torch::sign(w) * torch::exp2(e)).to(torch::kInt32);
  EXPECT_EQ((form.codes != expected).sum().item<int64_t>(), 0);
  EXPECT_EQ(form.bits, 4);
  EXPECT_EQ(form.code_min, -128);
  EXPECT_EQ(form.code_max, 128);
  // Every exponent is used on Gaussian weights of this size.
  EXPECT_EQ(std::get<0>(torch::_unique(form.codes)).numel(), 16);
}

TEST(Fp130Quantizer, LevelsArePowersOfTwoWithoutZero) {
  const torch::Tensor w = torch::tensor({0.0f, 1.0f, -1.0f, 3.0f, -1000.0f, 1e-9f});
  const Quantizer q = make_quantizer("fp130:quantscale=1");
  q->train();
  q->forward(torch::tensor({128.0f}));  // scale 1: codes are the values themselves
  q->set_frozen(true);
  const IntegerForm form = q->integer_form(w);
  EXPECT_TRUE(torch::equal(form.codes, torch::tensor({1, 1, -1, 2, -128, 1}, torch::kInt32)));
  EXPECT_TRUE(
      torch::equal(q->levels(w), torch::tensor({-128.f, -64.f, -32.f, -16.f, -8.f, -4.f, -2.f, -1.f,
                                                1.f, 2.f, 4.f, 8.f, 16.f, 32.f, 64.f, 128.f})));
}

TEST(Fp130Quantizer, GradientIsZeroBeyondTheTopLevel) {
  const Quantizer q = make_quantizer("fp130:quantscale=1");
  q->train();
  q->forward(torch::tensor({128.0f}));
  q->set_frozen(true);
  const torch::Tensor w =
      torch::tensor({-200.0f, -5.0f, 0.5f, 128.0f, 129.0f}, torch::requires_grad());
  q->forward(w).backward(torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f}));
  EXPECT_TRUE(torch::equal(w.grad(), torch::tensor({0.f, 2.f, 3.f, 4.f, 0.f})));
}

TEST(Fp130Quantizer, RecomputedScaleIsNoFixedPoint) {
  // mean|y| differs from mean|w|, so the unfrozen grid moves; frozen it is a fixed point
  // (checked in the invariants).
  torch::manual_seed(52);
  const Quantizer q = make_quantizer("fp130");
  const torch::Tensor w = torch::randn({33, 33});
  const torch::Tensor y = q->forward(w);
  EXPECT_FALSE(torch::equal(q->forward(y), y));
}

TEST(Fp130Quantizer, FixedWidthAndBadQuantscale) {
  EXPECT_THROW(make_quantizer("fp130")->set_bits(3), SpecError);
  try {
    make_quantizer("fp130:quantscale=0");
    ADD_FAILURE() << "quantscale=0 accepted";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("quantscale"), std::string::npos);
  }
}

}  // namespace
}  // namespace lowbit::quant
