#include "lowbit/quant/learned/self_compress.h"

#include <gtest/gtest.h>

#include <cmath>

#include "lowbit/quant/registry.h"

namespace lowbit::quant {
namespace {

std::shared_ptr<SelfCompressImpl> make(double bits, double min_bits, bool per_channel) {
  SelfCompressOptions options;
  options.bits = bits;
  options.min_bits = min_bits;
  options.per_channel = per_channel;
  return std::make_shared<SelfCompressImpl>(options, Role::kWeight);
}

TEST(SelfCompress, ForwardFollowsFormula) {
  auto q = make(3.0, 1.0, false);
  // max|x| = 2 -> e = log2(2 / 4) = -1, scale 0.5; codes clamp to [-4, 3].
  const torch::Tensor x = torch::tensor({-2.0f, -0.74f, 0.3f, 1.1f, 2.0f});
  const torch::Tensor y = q->forward(x);
  EXPECT_EQ(q->exponent().item<float>(), -1.0f);
  EXPECT_TRUE(torch::equal(y, torch::tensor({-2.0f, -0.5f, 0.5f, 1.0f, 1.5f})));
  EXPECT_EQ(q->bits(), 3);
  EXPECT_TRUE(torch::equal(q->levels(x), torch::arange(-4, 4, torch::kFloat) * 0.5f));
}

TEST(SelfCompress, IntegerFormIsBitExactBeforeAndAfterFreezing) {
  torch::manual_seed(31);
  for (bool per_channel : {false, true}) {
    auto q = make(3.3, 1.0, per_channel);
    const torch::Tensor w = torch::randn({4, 9});
    q->forward(w);
    {
      torch::NoGradGuard no_grad;
      q->exponent().add_(0.37);  // a non-integer exponent, as training leaves it
    }
    IntegerForm form = q->integer_form(w);
    EXPECT_EQ(form.bits, 4);  // ceil(3.3)
    EXPECT_TRUE(torch::equal(form.dequantize(), q->forward(w))) << per_channel;
    EXPECT_GE(form.codes.min().item<int>(), form.code_min);
    EXPECT_LE(form.codes.max().item<int>(), form.code_max);

    q->set_frozen(true);
    EXPECT_TRUE(torch::equal(q->bit_depth(), torch::full_like(q->bit_depth(), 3.0f)));
    EXPECT_FALSE(q->bit_depth().requires_grad());
    EXPECT_FALSE(q->exponent().requires_grad());
    form = q->integer_form(w);
    EXPECT_EQ(form.bits, 3);
    EXPECT_EQ(form.code_min, -4);
    EXPECT_EQ(form.code_max, 3);
    EXPECT_TRUE(torch::equal(form.dequantize(), q->forward(w)));
    EXPECT_EQ(form.axis, per_channel ? 0 : -1);
  }
}

TEST(SelfCompress, FrozenBitsAreIntegersAtLeastTheFloor) {
  auto q = make(5.0, 2.0, true);
  q->forward(torch::randn({3, 4}));
  {
    torch::NoGradGuard no_grad;
    q->bit_depth().copy_(torch::tensor({3.6f, 1.2f, 2.5f}));
  }
  q->set_frozen(true);
  // 3.6 -> 4; 1.2 is below the floor -> 2; 2.5 rounds half to even -> 2.
  EXPECT_TRUE(torch::equal(q->bit_depth(), torch::tensor({4.0f, 2.0f, 2.0f})));
  EXPECT_EQ(q->bits(), 4);
  q->set_frozen(false);
  EXPECT_TRUE(q->bit_depth().requires_grad());
}

TEST(SelfCompress, BitDepthGetsGradientThroughClampBounds) {
  auto q = make(2.0, 1.0, false);
  // max|x| = 1 -> e = -1, x / 2^e = {-1, 2}; only 2 is clamped, at 2^(b-1) - 1 = 1, so
  // d/db sum(q) = 2^e * ln2 * 2^(b-1) = ln2.
  q->forward(torch::tensor({-0.5f, 1.0f})).sum().backward();
  EXPECT_NEAR(q->bit_depth().grad().item<float>(), std::log(2.0), 1e-6);
  EXPECT_TRUE(q->exponent().grad().defined());
  // Nothing clamped: no gradient to b from the task.
  auto inside = make(4.0, 1.0, false);
  const torch::Tensor x = torch::tensor({-0.5f, 0.2f, 0.7f});
  inside->forward(x);
  {
    torch::NoGradGuard no_grad;
    inside->exponent().fill_(0.0);  // scale 1: codes in [-8, 7], nothing clamped
  }
  inside->forward(x).sum().backward();
  EXPECT_EQ(inside->bit_depth().grad().item<float>(), 0.0f);
}

TEST(SelfCompress, RegistryAndSpec) {
  Quantizer q = make_quantizer("selfcompress:bits=6,min_bits=2,per_channel=1");
  EXPECT_EQ(q->spec().str(), "selfcompress:bits=6,min_bits=2,per_channel=1");
  EXPECT_EQ(q->bits(), 6);
  q->set_bits(4);
  EXPECT_EQ(q->bits(), 4);
  EXPECT_THROW(q->set_bits(1), SpecError);
  EXPECT_THROW(make_quantizer("selfcompress:bits=1,min_bits=2"), SpecError);
  EXPECT_THROW(make_quantizer("selfcompress", Role::kActivation), SpecError);
  Quantizer per_channel = make_quantizer("selfcompress:bits=3,per_channel=1");
  const torch::Tensor w = torch::randn({5, 2});
  per_channel->forward(w);
  EXPECT_EQ(per_channel->levels(w).sizes(), (std::vector<int64_t>{5, 8}));
}

}  // namespace
}  // namespace lowbit::quant
