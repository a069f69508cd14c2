#include "lowbit/quant/affine/dynamic_shift.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "grid_test_util.h"
#include "lowbit/quant/registry.h"

namespace lowbit::quant {
namespace {

using testing::awkward_shapes;
using testing::expect_grid_invariants;

// BitNetMCU's ReLUNorm on one sample's int32 accumulators, as its C inference computes it.
std::vector<int32_t> bitnetmcu_relu_norm(const std::vector<int32_t>& acc) {
  int32_t m = 0;
  for (int32_t a : acc) m = a > m ? a : m;
  int shift = 0;
  for (int32_t rest = m >> 7; rest > 0; rest >>= 1) ++shift;
  std::vector<int32_t> out;
  for (int32_t a : acc) {
    const int32_t v = (a + ((1 << shift) >> 1)) >> shift;
    out.push_back(v < 0 ? 0 : (v > 127 ? 127 : v));
  }
  return out;
}

// Rows of mixed magnitude: each sample scaled by its own factor over ~16 octaves.
torch::Tensor samples(int64_t n, int64_t k, bool with_negatives = true) {
  const torch::Tensor magnitude = torch::pow(2.0, torch::rand({n, 1}) * 16 - 8);
  torch::Tensor x = torch::randn({n, k}) * magnitude;
  return with_negatives ? x : x.abs();
}

TEST(DynamicShift, InvariantsOnAwkwardShapes) {
  torch::manual_seed(7);
  for (const char* spec : {"dynshift", "dynshift:bits=4", "dynshift:bits=8,signed=1",
                           "dynshift:bits=2,signed=1", "dynshift:bits=16"}) {
    const Quantizer q = make_quantizer(std::string_view(spec), Role::kActivation);
    for (const auto& shape : awkward_shapes()) {
      expect_grid_invariants(q, testing::random_weights(shape));
    }
  }
}

TEST(DynamicShift, ScalesArePowersOfTwoPerSampleAndTheMaxCodeUsesTheTopHalf) {
  torch::manual_seed(1);
  for (const bool is_signed : {false, true}) {
    const torch::Tensor x = samples(64, 37);
    DynamicShiftOptions options;
    options.is_signed = is_signed;
    DynamicShiftImpl q(options);
    const IntegerForm form = q.integer_form(x);
    ASSERT_EQ(form.scale.sizes(), torch::IntArrayRef({64}));
    EXPECT_EQ(form.axis, 0);
    for (int64_t n = 0; n < 64; ++n) {
      const float s = form.scale[n].item<float>();
      int exponent = 0;
      EXPECT_EQ(std::frexp(s, &exponent), 0.5f) << "sample " << n << ": scale " << s;
      const torch::Tensor codes = form.codes[n];
      const int64_t top = (is_signed ? codes.abs() : codes).max().item<int64_t>();
      EXPECT_GE(top, 64) << "sample " << n;
      EXPECT_LE(top, 127) << "sample " << n;
      // The sample's max stays below 128 steps: no coarser grid than needed, none finer fits.
      const torch::Tensor row = is_signed ? x[n].abs() : x[n];
      EXPECT_LT(row.max().item<float>(), 128.0f * s) << "sample " << n;
      EXPECT_GE(row.max().item<float>(), 64.0f * s) << "sample " << n;
    }
    // Samples of different magnitude get different scales.
    EXPECT_GT(std::get<0>(torch::_unique(form.scale)).numel(), 8);
  }
}

TEST(DynamicShift, NegativesBecomeZeroUnsignedAndKeepTheirSignSigned) {
  const torch::Tensor x = torch::tensor({{-3.0f, -0.2f, 0.0f, 1.0f, 100.0f}});
  const Quantizer relu = make_quantizer("dynshift", Role::kActivation);
  // max 100 < 128 * 1: scale 1, codes round half up.
  EXPECT_TRUE(
      torch::equal(relu->integer_form(x).codes, torch::tensor({{0, 0, 0, 1, 100}}, torch::kInt32)));
  const Quantizer sym = make_quantizer("dynshift:signed=1", Role::kActivation);
  EXPECT_TRUE(
      torch::equal(sym->integer_form(x).codes, torch::tensor({{-3, 0, 0, 1, 100}}, torch::kInt32)));
  // A sample with nothing positive is 0 everywhere; an all-zero one too, signed or not.
  const torch::Tensor quiet = torch::tensor({{-1.0f, -5.0f}, {0.0f, 0.0f}});
  EXPECT_TRUE(torch::equal(relu->forward(quiet), torch::zeros({2, 2})));
  EXPECT_TRUE(torch::equal(sym->forward(torch::zeros({2, 3})), torch::zeros({2, 3})));
}

TEST(DynamicShift, TiesRoundUpAndTheTopClampsAt127) {
  // max 255 -> shift 1: 255 / 2 = 127.5 rounds up to 128 and clamps to 127; 3 / 2 = 1.5 -> 2,
  // 1 / 2 = 0.5 -> 1 (round half up, as (acc + 1) >> 1).
  const torch::Tensor x = torch::tensor({{255.0f, 3.0f, 1.0f, 0.4f}});
  const Quantizer q = make_quantizer("dynshift", Role::kActivation);
  const IntegerForm form = q->integer_form(x);
  EXPECT_EQ(form.scale.item<float>(), 2.0f);
  EXPECT_TRUE(torch::equal(form.codes, torch::tensor({{127, 2, 1, 0}}, torch::kInt32)));
}

TEST(DynamicShift, MatchesBitNetMcuReluNormOnIntegerAccumulators) {
  // Exact wherever the C code normalises: a sample whose largest accumulator is at least 64 (the
  // C code never shifts left, so smaller maxima keep their codes there, while the float grid,
  // which knows no accumulator unit, still spreads them over 64..127).
  torch::manual_seed(5);
  const Quantizer q = make_quantizer("dynshift:bits=8", Role::kActivation);
  int64_t compared = 0;
  for (const int octave : {6, 7, 8, 9, 12, 20}) {
    // Accumulators up to 2^octave in magnitude, as int32 and as floats in a power-of-two unit.
    const int64_t top = int64_t{1} << octave;
    const torch::Tensor acc = torch::randint(-top, top + 1, {16, 29}, torch::kInt32);
    for (const float unit : {1.0f, 0.125f, 64.0f}) {
      const IntegerForm form = q->integer_form(acc.to(torch::kFloat32) * unit);
      for (int64_t n = 0; n < acc.size(0); ++n) {
        const torch::Tensor row = acc[n].contiguous();
        if (row.max().item<int32_t>() < 64) continue;
        const std::vector<int32_t> a(row.data_ptr<int32_t>(),
                                     row.data_ptr<int32_t>() + row.numel());
        const std::vector<int32_t> want = bitnetmcu_relu_norm(a);
        const torch::Tensor got = form.codes[n].contiguous();
        for (size_t i = 0; i < want.size(); ++i) {
          EXPECT_EQ(got.data_ptr<int32_t>()[i], want[i])
              << "octave " << octave << " unit " << unit << " sample " << n << " index " << i
              << " acc " << a[i];
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(compared, 5 * 3 * 16 * 29);
}

TEST(DynamicShift, ScalingASampleByAPowerOfTwoKeepsItsCodes) {
  torch::manual_seed(2);
  const torch::Tensor x = samples(32, 21);
  for (const char* spec : {"dynshift", "dynshift:signed=1", "dynshift:bits=4"}) {
    const Quantizer q = make_quantizer(std::string_view(spec), Role::kActivation);
    const IntegerForm base = q->integer_form(x);
    for (const int k : {-9, -1, 1, 5, 17}) {
      const float factor = std::ldexp(1.0f, k);
      const IntegerForm scaled = q->integer_form(x * factor);
      EXPECT_TRUE(torch::equal(scaled.codes, base.codes)) << spec << " times 2^" << k;
      EXPECT_TRUE(torch::equal(scaled.scale, base.scale * factor)) << spec << " times 2^" << k;
      EXPECT_TRUE(torch::equal(q->forward(x * factor), q->forward(x) * factor)) << spec;
    }
    // Each sample on its own: scaling one sample leaves the others' codes alone.
    const torch::Tensor one = x.clone();
    one[0] *= 1024.0f;
    const IntegerForm mixed = q->integer_form(one);
    EXPECT_TRUE(torch::equal(mixed.codes, base.codes)) << spec;
  }
}

TEST(DynamicShift, GradientPassesStraightThroughExceptUnsignedNegatives) {
  torch::manual_seed(3);
  const torch::Tensor x0 = samples(8, 13);
  const torch::Tensor w = torch::randn({8, 13});
  for (const bool is_signed : {false, true}) {
    DynamicShiftOptions options;
    options.is_signed = is_signed;
    DynamicShiftImpl q(options);
    const torch::Tensor x = x0.clone().requires_grad_(true);
    (q.forward(x) * w).sum().backward();
    const torch::Tensor want = is_signed ? w : w * (x0 >= 0).to(torch::kFloat32);
    EXPECT_TRUE(torch::equal(x.grad(), want)) << (is_signed ? "signed" : "unsigned");
    // The sample's max gets the gradient even when its code is clamped from 128 to 127.
    const torch::Tensor top = torch::tensor({{255.0f, 1.0f}}).requires_grad_(true);
    q.forward(top).sum().backward();
    EXPECT_TRUE(torch::equal(top.grad(), torch::ones({1, 2})));
  }
}

TEST(DynamicShift, SpecRoundTripsAndBadSettingsAreRefused) {
  const Quantizer q = make_quantizer("dynshift:bits=6,signed=1", Role::kActivation);
  EXPECT_EQ(q->spec().str(), "dynshift:bits=6,signed=1");
  EXPECT_EQ(make_quantizer(q->spec(), Role::kActivation)->spec().str(), q->spec().str());
  EXPECT_EQ(make_quantizer("dynshift", Role::kActivation)->spec().str(),
            "dynshift:bits=8,signed=0");
  EXPECT_FALSE(q->scale_is_static());
  q->set_bits(4);
  EXPECT_EQ(q->bits(), 4);
  EXPECT_THROW(q->set_bits(1), SpecError);
  EXPECT_THROW(make_quantizer("dynshift:bits=1", Role::kActivation), SpecError);
  EXPECT_THROW(make_quantizer("dynshift:bits=17", Role::kActivation), SpecError);
  EXPECT_THROW(make_quantizer("dynshift", Role::kWeight), SpecError);
  EXPECT_THROW(q->forward(torch::tensor(1.0f)), std::invalid_argument);
  EXPECT_THROW(q->forward(torch::ones({2, 2}, torch::kFloat64)), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::quant
