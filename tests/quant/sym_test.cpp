#include "lowbit/quant/weight_grids/sym.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>

#include "grid_test_util.h"
#include "lowbit/quant/affine/octav.h"
#include "lowbit/quant/registry.h"

namespace lowbit::quant {
namespace {

using testing::expect_invariants_on_awkward_shapes;

// BitNetMCU's formula: u = clamp(round(w * scale - 0.5), -2^(b-1), 2^(b-1) - 1) + 0.5 with
// scale = 2^(b-1) * quantscale / mean|w|; returns the odd codes 2u.
torch::Tensor bitnetmcu_codes(const torch::Tensor& w, int bits, double quantscale) {
  const double top = std::ldexp(1.0, bits - 1);
  const torch::Tensor scale = top * quantscale / w.abs().mean().clamp_min(1e-5);
  const torch::Tensor u = torch::clamp(torch::round(w * scale - 0.5), -top, top - 1) + 0.5;
  return (u * 2).to(torch::kInt32);
}

TEST(SymQuantizer, InvariantsForSeveralWidths) {
  for (const char* spec : {"sym:bits=1", "sym:bits=2", "sym:bits=3", "sym:bits=4",
                           "sym:bits=5,quantscale=0.4", "sym:bits=8"}) {
    expect_invariants_on_awkward_shapes(spec);
  }
}

TEST(SymQuantizer, MatchesBitNetMcu2bitsymAnd4bitsym) {
  torch::manual_seed(21);
  const torch::Tensor w = torch::randn({33, 17}) * 0.05;
  for (const int bits : {2, 4, 5}) {
    const Quantizer q = make_quantizer(std::string_view("sym:bits=" + std::to_string(bits)));
    const IntegerForm form = q->integer_form(w);
    EXPECT_EQ((form.codes != bitnetmcu_codes(w, bits, 0.25)).sum().item<int64_t>(), 0) << bits;
    // Half the step: mean|w| / (2^bits * quantscale).
    EXPECT_FLOAT_EQ(form.scale.item<float>(),
                    w.abs().mean().item<float>() / static_cast<float>(std::ldexp(0.25, bits)));
    EXPECT_EQ(form.code_max, (1 << bits) - 1);
    EXPECT_EQ(form.code_min, -((1 << bits) - 1));
  }
}

TEST(SymQuantizer, CodesAreOddAndNeverZero) {
  const torch::Tensor w = torch::cat({torch::linspace(-1, 1, 401), torch::zeros({5})});
  const IntegerForm form = make_quantizer("sym:bits=4,quantscale=0.5")->integer_form(w);
  EXPECT_TRUE((form.codes.remainder(2) == 1).all().item<bool>());
  // Sixteen levels, the whole 4-bit grid on a ramp: -15, -13, ..., 13, 15; zeros map to +1.
  EXPECT_TRUE(torch::equal(std::get<0>(torch::_unique(form.codes)),
                           torch::arange(-15, 16, 2, torch::kInt32)));
}

TEST(SymQuantizer, SetBitsChangesTheGridAndRejectsBadWidths) {
  torch::manual_seed(23);
  const Quantizer q = make_quantizer("sym:bits=2");
  const torch::Tensor w = torch::randn({64});
  EXPECT_EQ(q->integer_form(w).code_max, 3);
  q->set_bits(4);
  EXPECT_EQ(q->bits(), 4);
  EXPECT_EQ(q->integer_form(w).code_max, 15);
  EXPECT_EQ(q->spec().get("bits", ""), "4");
  EXPECT_EQ(q->levels(w).numel(), 16);
  for (const int bad : {0, 17, -1}) {
    try {
      q->set_bits(bad);
      ADD_FAILURE() << "set_bits(" << bad << ") accepted";
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find("bits"), std::string::npos);
    }
  }
  EXPECT_EQ(q->bits(), 4);
}

TEST(SymQuantizer, FrozenStatisticCarriesOverAWidthChange) {
  // The recorded statistic is mean|w|, not the step, so a frozen quantizer switched from 2 to 4
  // bits uses the 4-bit step of the same clip level.
  torch::manual_seed(25);
  const torch::Tensor w = torch::randn({17, 7});
  const Quantizer q = make_quantizer("sym:bits=2");
  q->train();
  q->forward(w);
  q->set_frozen(true);
  q->set_bits(4);
  const IntegerForm frozen = q->integer_form(w * 2);  // the input's own mean is ignored
  EXPECT_TRUE(torch::equal(frozen.scale, make_quantizer("sym:bits=4")->integer_form(w).scale));
  EXPECT_EQ(frozen.code_max, 15);
}

TEST(SymQuantizer, GradientIsZeroOutsideTheGridSpan) {
  const torch::Tensor w = torch::tensor({-10.0f, -1.0f, 0.0f, 1.0f, 10.0f}, torch::requires_grad());
  const torch::Tensor upstream = torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f});
  const Quantizer q = make_quantizer("sym:bits=2");
  q->forward(w).backward(upstream);
  // mean|w| = 4.4, half step 4.4 / (4 * 0.25) = 4.4, span +-3 * 4.4 = +-13.2: all inside.
  EXPECT_TRUE(torch::equal(w.grad(), upstream));
  w.mutable_grad().zero_();
  // quantscale 1: half step 1.1, span +-3.3 excludes +-10.
  make_quantizer("sym:bits=2,quantscale=1")->forward(w).backward(upstream);
  EXPECT_TRUE(torch::equal(w.grad(), torch::tensor({0.f, 2.f, 3.f, 4.f, 0.f})));
  w.mutable_grad().zero_();
  make_quantizer("sym:bits=2,quantscale=1,ste=plain")->forward(w).backward(upstream);
  EXPECT_TRUE(torch::equal(w.grad(), upstream));
}

TEST(SymQuantizer, RecomputedScaleIsNoFixedPoint) {
  // mean|y| differs from mean|w|, so the grid moves: only the frozen scale gives a fixed point
  // (checked in the invariants).
  torch::manual_seed(24);
  const Quantizer q = make_quantizer("sym:bits=4");
  const torch::Tensor w = torch::randn({33, 33});
  const torch::Tensor y = q->forward(w);
  EXPECT_FALSE(torch::equal(q->forward(y), y));
}

TEST(SymQuantizer, BadQuantscaleNamesTheKey) {
  for (const char* spec : {"sym:quantscale=0", "sym:quantscale=-1", "sym:quantscale=abc"}) {
    try {
      make_quantizer(std::string_view(spec));
      ADD_FAILURE() << spec << " accepted";
    } catch (const SpecError& e) {
      EXPECT_NE(std::string(e.what()).find("quantscale"), std::string::npos) << e.what();
    }
  }
}

// clip=octav: the clipping scalar is OCTAV's level of |w| (BitNetMCU's 'octav' option), which
// spans 2^(b-1) steps of the grid, per tensor or per channel; the spec round-trips.
TEST(SymQuantizer, OctavClipLevelSetsTheStep) {
  torch::manual_seed(3);
  const torch::Tensor w = torch::randn({6, 40}) * 0.05;
  for (const bool per_channel : {false, true}) {
    const std::string text =
        std::string("sym:bits=4,clip=octav,per_channel=") + (per_channel ? "1" : "0");
    const Quantizer q = make_quantizer(std::string_view(text));
    EXPECT_EQ(make_quantizer(q->spec().str())->spec(), q->spec()) << text;
    const IntegerForm form = q->integer_form(w);
    const torch::Tensor rows = per_channel ? w.abs() : w.abs().reshape({1, -1});
    // IntegerForm's scale is half a step: the level / 2^bits.
    const torch::Tensor expected = octav_clip(rows, 4).to(torch::kFloat32) / 16.0f;
    EXPECT_TRUE(torch::allclose(form.scale.reshape({-1}).to(torch::kFloat32),
                                expected.reshape({-1}), 1e-6, 0))
        << text;
    // A Gaussian's OCTAV level at 4 bits clips far below its max and above its mean.
    const double level = expected.max().item<double>() * 16.0;
    EXPECT_LT(level, w.abs().max().item<double>());
    EXPECT_GT(level, w.abs().mean().item<double>());
  }
  try {
    make_quantizer(std::string_view("sym:clip=max"));
    ADD_FAILURE() << "clip=max accepted";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("clip"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lowbit::quant
