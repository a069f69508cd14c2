#include "lowbit/quant/weight_grids/nf4.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <vector>

#include "grid_test_util.h"
#include "lowbit/quant/registry.h"

namespace lowbit::quant {
namespace {

using testing::expect_invariants_on_awkward_shapes;

// The NF4 table as bitsandbytes publishes it (functional.py), written out independently.
const std::vector<float> kPublishedNf4 = {-1.0f,
                                          -0.6961928009986877f,
                                          -0.5250730514526367f,
                                          -0.39491748809814453f,
                                          -0.28444138169288635f,
                                          -0.18477343022823334f,
                                          -0.09105003625154495f,
                                          0.0f,
                                          0.07958029955625534f,
                                          0.16093020141124725f,
                                          0.24611230194568634f,
                                          0.33791524171829224f,
                                          0.44070982933044434f,
                                          0.5626170039176941f,
                                          0.7229568362236023f,
                                          1.0f};

TEST(Nf4Quantizer, CodebookIsThePublishedTable) {
  EXPECT_TRUE(torch::equal(Nf4QuantizerImpl::codebook(), torch::tensor(kPublishedNf4)));
  const IntegerForm form = make_quantizer("nf4")->integer_form(torch::randn({5}));
  EXPECT_TRUE(torch::equal(form.levels, torch::tensor(kPublishedNf4)));
  EXPECT_EQ(form.code_min, 0);
  EXPECT_EQ(form.code_max, 15);
  EXPECT_EQ(form.bits, 4);
}

TEST(Nf4Quantizer, InvariantsPerTensorAndPerChannel) {
  expect_invariants_on_awkward_shapes("nf4");
}

TEST(Nf4Quantizer, PicksTheNearestLevelOfTheAbsmaxScaledWeight) {
  torch::manual_seed(31);
  const torch::Tensor w = torch::randn({33, 17});
  const IntegerForm form = make_quantizer("nf4")->integer_form(w);
  const torch::Tensor s = w.abs().max();
  EXPECT_TRUE(torch::equal(form.scale, s));
  const torch::Tensor book = torch::tensor(kPublishedNf4);
  const torch::Tensor distance = (w / s).reshape({-1, 1}).sub(book.unsqueeze(0)).abs();
  const torch::Tensor nearest = std::get<1>(distance.min(1)).to(torch::kInt32);
  EXPECT_EQ((form.codes.reshape({-1}) != nearest).sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(form.dequantize(),
                           book.index_select(0, nearest.to(torch::kLong)).view(w.sizes()) * s));
}

TEST(Nf4Quantizer, MaxMagnitudeMapsToPlusOrMinusOne) {
  const torch::Tensor w = torch::tensor({0.5f, -2.0f, 0.0f, 1.0f});
  const IntegerForm form = make_quantizer("nf4")->integer_form(w);
  EXPECT_TRUE(torch::equal(form.codes, torch::tensor({10, 0, 7, 12}, torch::kInt32)));
  EXPECT_EQ(form.dequantize()[1].item<float>(), -2.0f);
}

TEST(Nf4Quantizer, RecomputedScaleIsAFixedPoint) {
  // The absmax element maps to level +-1 exactly, so max|y| = max|w| and the grid stays put.
  torch::manual_seed(32);
  for (const char* spec : {"nf4", "nf4:per_channel=1"}) {
    const Quantizer q = make_quantizer(spec);
    const torch::Tensor w = torch::randn({17, 33});
    const torch::Tensor y = q->forward(w);
    EXPECT_TRUE(torch::equal(q->forward(y), y)) << spec;
  }
}

TEST(Nf4Quantizer, GradientIsZeroOutsideAFrozenScale) {
  const Quantizer q = make_quantizer("nf4");
  q->train();
  q->forward(torch::tensor({-1.0f, 0.5f, 1.0f}));  // records max|w| = 1
  q->set_frozen(true);
  const torch::Tensor w = torch::tensor({-3.0f, -1.0f, 0.2f, 1.0f, 1.5f}, torch::requires_grad());
  const torch::Tensor upstream = torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f});
  q->forward(w).backward(upstream);
  EXPECT_TRUE(torch::equal(w.grad(), torch::tensor({0.f, 2.f, 3.f, 4.f, 0.f})));
}

TEST(Nf4Quantizer, FixedWidth) {
  EXPECT_THROW(make_quantizer("nf4")->set_bits(3), SpecError);
}

}  // namespace
}  // namespace lowbit::quant
