#include "lowbit/quant/weight_grids/minifloat.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>
#include <memory>
#include <vector>

#include "grid_test_util.h"
#include "lowbit/quant/registry.h"

namespace lowbit::quant {
namespace {

using testing::expect_invariants_on_awkward_shapes;

std::shared_ptr<MinifloatQuantizerImpl> make_fp(const std::string& spec) {
  return std::dynamic_pointer_cast<MinifloatQuantizerImpl>(make_quantizer(std::string_view(spec)));
}

TEST(MinifloatQuantizer, E2M1IsOcpFp4) {
  const auto q = make_fp("fp:e=2,m=1");
  EXPECT_EQ(q->bits(), 4);
  EXPECT_EQ(q->special(), FpSpecial::kNone);
  EXPECT_TRUE(torch::equal(
      q->unit_values(), torch::tensor({0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0}, torch::kFloat64)));
  EXPECT_EQ(q->code_max(), 12);
  // Fifteen levels per scale: +-{0.5, ..., 6} and a single zero.
  EXPECT_EQ(q->levels(torch::ones({3})).numel(), 15);
}

TEST(MinifloatQuantizer, E4M3IsOcpFp8) {
  const auto q = make_fp("fp:e=4,m=3");
  EXPECT_EQ(q->bits(), 8);
  EXPECT_EQ(q->special(), FpSpecial::kNan);
  const torch::Tensor v = q->unit_values();
  EXPECT_EQ(v.numel(), 127);  // 128 non-negative codes minus S.1111.111 (NaN)
  EXPECT_EQ(v[-1].item<double>(), 448.0);
  EXPECT_EQ(v[1].item<double>(), std::ldexp(1.0, -9));  // smallest subnormal
  EXPECT_EQ(v[8].item<double>(), std::ldexp(1.0, -6));  // smallest normal
  EXPECT_EQ(v[-2].item<double>(), 416.0);
  // Without the reserved code the same bits reach 480; IEEE-style reservation stops at 240.
  EXPECT_EQ(make_fp("fp:e=4,m=3,special=none")->unit_values()[-1].item<double>(), 480.0);
  EXPECT_EQ(make_fp("fp:e=4,m=3,special=ieee")->unit_values()[-1].item<double>(), 240.0);
}

TEST(MinifloatQuantizer, Invariants) {
  for (const char* spec : {"fp:e=2,m=1", "fp:e=4,m=3", "fp:e=3,m=2", "fp:e=2,m=3", "fp:e=1,m=2",
                           "fp:e=3,m=0", "fp:e=4,m=0,special=ieee"}) {
    expect_invariants_on_awkward_shapes(spec);
  }
}

TEST(MinifloatQuantizer, RoundsToTheNearestValueLikeABruteForceSearch) {
  torch::manual_seed(41);
  for (const char* spec : {"fp:e=2,m=1", "fp:e=4,m=3", "fp:e=3,m=2"}) {
    const auto q = make_fp(spec);
    const torch::Tensor w = torch::randn({4096}) * torch::exp(torch::randn({4096}) * 2);
    const IntegerForm form = q->integer_form(w);
    // Brute force in float64 over the signed codes.
    const torch::Tensor pos =
        q->unit_values() / std::ldexp(1.0, 1 - q->bias() - q->mantissa_bits());
    const torch::Tensor codes = torch::cat({-pos.slice(0, 1).flip(0), pos});
    const torch::Tensor t = (w / form.scale).to(torch::kFloat64);
    const torch::Tensor nearest =
        codes.index_select(0, std::get<1>((t.unsqueeze(1) - codes.unsqueeze(0)).abs().min(1)));
    EXPECT_EQ((form.codes.to(torch::kFloat64) != nearest).sum().item<int64_t>(), 0) << spec;
    // The absmax element maps to the format's largest value.
    EXPECT_EQ(form.codes.abs().max().item<int64_t>(), q->code_max()) << spec;
  }
}

TEST(MinifloatQuantizer, E2M1ValuesOfKnownInputs) {
  // absmax 6 makes the scale of the fp value exactly 1: values are the E2M1 table itself.
  const torch::Tensor w =
      torch::tensor({0.2f, 0.25f, 0.3f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f, 5.1f, -6.0f});
  const torch::Tensor y = make_quantizer("fp:e=2,m=1")->forward(w);
  // Ties go to the even mantissa: 0.25 -> 0, 0.75 -> 1, 1.25 -> 1, 1.75 -> 2, 2.5 -> 2,
  // 3.5 -> 4, 5 -> 4.
  EXPECT_TRUE(torch::equal(
      y, torch::tensor({0.0f, 0.0f, 0.5f, 1.0f, 1.0f, 2.0f, 2.0f, 4.0f, 4.0f, 6.0f, -6.0f})));
}

TEST(MinifloatQuantizer, SaturatesAndClipsTheGradientOutsideAFrozenScale) {
  const Quantizer q = make_quantizer("fp:e=2,m=1");
  q->train();
  q->forward(torch::tensor({6.0f}));  // scale of the fp value = 1
  q->set_frozen(true);
  const torch::Tensor w = torch::tensor({-100.0f, -6.0f, 1.1f, 6.0f, 7.0f}, torch::requires_grad());
  const torch::Tensor y = q->forward(w);
  EXPECT_TRUE(torch::equal(y, torch::tensor({-6.0f, -6.0f, 1.0f, 6.0f, 6.0f})));
  y.backward(torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f}));
  EXPECT_TRUE(torch::equal(w.grad(), torch::tensor({0.f, 2.f, 3.f, 4.f, 0.f})));
}

TEST(MinifloatQuantizer, RecomputedScaleKeepsCodes) {
  // max|y| = code_max * scale may differ from max|w| in the last bit, so the recomputed scale
  // can move by an ulp: codes are a fixed point, values to rounding (exact once frozen).
  torch::manual_seed(42);
  const Quantizer q = make_quantizer("fp:e=4,m=3");
  const torch::Tensor w = torch::randn({33, 17});
  const torch::Tensor y = q->forward(w);
  EXPECT_TRUE(torch::equal(q->integer_form(y).codes, q->integer_form(w).codes));
  EXPECT_TRUE(torch::allclose(q->forward(y), y, 1e-6, 0));
}

TEST(MinifloatQuantizer, RejectsFormatsThatDoNotFit) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"fp:e=5,m=2", "'e'"},
      {"fp:e=0,m=3", "'e'"},
      {"fp:e=2,m=11", "'m'"},
      {"fp:e=3,m=0,special=nan", "'special'"},
      {"fp:e=1,m=2,special=ieee", "'special'"},
      {"fp:e=2,m=1,special=inf", "special"},
      {"fp:e=two", "e"}};
  for (const auto& [spec, key] : bad) {
    try {
      make_quantizer(std::string_view(spec));
      ADD_FAILURE() << spec << " accepted";
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(make_quantizer("fp:e=2,m=1")->set_bits(8), SpecError);
}

}  // namespace
}  // namespace lowbit::quant
