#include "lowbit/export/lowering/requantization.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "lowbit/export/reference_executor.h"
#include "lowbit_runtime.h"

namespace lowbit::exporter {
namespace {

TEST(QuantizeMultiplier, DocumentedExample) {
  const FixedPointMultiplier fixed = quantize_multiplier(0.0123);
  EXPECT_EQ(fixed.multiplier, 1690499128);
  EXPECT_EQ(fixed.shift, -6);
  EXPECT_EQ(lowbit_requantize(1000, fixed.multiplier, fixed.shift, 0, -128, 127), 12);
  EXPECT_EQ(reference_requantize(1000, fixed.multiplier, fixed.shift, 0, -128, 127), 12);
}

TEST(QuantizeMultiplier, OneIsTheRuntimeIdentity) {
  const FixedPointMultiplier fixed = quantize_multiplier(1.0);
  EXPECT_EQ(fixed.multiplier, LOWBIT_IDENTITY_MULTIPLIER);
  EXPECT_EQ(fixed.shift, LOWBIT_IDENTITY_SHIFT);
}

TEST(QuantizeMultiplier, NormalRangeIsWithinTwoToMinus31Relative) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> exponent(-31.0, 29.9);
  for (int i = 0; i < 20000; ++i) {
    const double scale = std::exp2(exponent(rng));
    const FixedPointMultiplier fixed = quantize_multiplier(scale);
    ASSERT_GE(fixed.multiplier, 1 << 30) << scale;
    ASSERT_LE(fixed.shift, 30);
    ASSERT_GE(fixed.shift, -31);
    const double relative = std::fabs(multiplier_value(fixed) - scale) / scale;
    ASSERT_LE(relative, std::ldexp(1.0, -31)) << scale;
  }
}

TEST(QuantizeMultiplier, RoundingUpToTwoTo31Renormalizes) {
  // The mantissa rounds to 2^31, which is stored as 2^30 with the exponent one higher.
  const double scale = std::ldexp((1ll << 31) - 0.25, -31);
  const FixedPointMultiplier fixed = quantize_multiplier(scale);
  EXPECT_EQ(fixed.multiplier, 1 << 30);
  EXPECT_EQ(fixed.shift, 1);
}

TEST(QuantizeMultiplier, DenormalRangeUsesShiftMinus31) {
  const FixedPointMultiplier fixed = quantize_multiplier(std::ldexp(1.0, -40));
  EXPECT_EQ(fixed.shift, -31);
  EXPECT_EQ(fixed.multiplier, 1 << 22);
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -64)).multiplier, 0);  // 2^-2 rounds to 0
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -63)).multiplier, 1);  // 0.5 rounds half up
}

TEST(QuantizeMultiplier, LargestShiftAndOutOfRangeNameTheLayer) {
  const FixedPointMultiplier fixed = quantize_multiplier(std::ldexp(1.0, 29) * 1.5);
  EXPECT_EQ(fixed.shift, 30);
  for (double bad : {std::ldexp(1.0, 30), 0.0, -1.0, std::nan(""), HUGE_VAL}) {
    try {
      quantize_multiplier(bad, "layer 'fc7'");
      FAIL() << "expected an error for " << bad;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find("fc7"), std::string::npos) << error.what();
    }
  }
}

TEST(BuildRequant, PerChannelMultipliersAndActivationClamps) {
  std::vector<int32_t> bias;
  const Requant relu6 =
      build_requant("conv", 0.5, {0.01, 0.02, 0.04}, 0.1, -100, Activation::kRelu6, 3, bias);
  ASSERT_EQ(relu6.multiplier.size(), 3u);
  // 0.5 * 0.01 / 0.1 = 0.05; doubling the weight scale doubles the factor: same M, shift + 1.
  EXPECT_EQ(relu6.multiplier[0], quantize_multiplier(0.05).multiplier);
  EXPECT_EQ(relu6.multiplier[1], relu6.multiplier[0]);
  EXPECT_EQ(relu6.shift[1], relu6.shift[0] + 1);
  EXPECT_EQ(relu6.shift[2], relu6.shift[0] + 2);
  EXPECT_EQ(relu6.act_min, -100);
  EXPECT_EQ(relu6.act_max, -40);  // -100 + round(6 / 0.1)
  EXPECT_TRUE(bias.empty());

  const Requant relu = build_requant("fc", 1, {1}, 1, 5, Activation::kRelu, 4, bias);
  EXPECT_EQ(relu.act_min, 5);
  EXPECT_EQ(relu.act_max, 127);
  const Requant none = build_requant("fc", 1, {1}, 1, 5, Activation::kNone, 4, bias);
  EXPECT_EQ(none.act_min, -128);
  EXPECT_EQ(none.act_max, 127);
  EXPECT_THROW(build_requant("fc9", 1, {1, 2}, 1, 0, Activation::kNone, 4, bias),
               std::invalid_argument);
}

TEST(BuildRequant, HardSigmoidFoldsIntoMultiplierAndBias) {
  std::vector<int32_t> bias = {10, -10};
  // s_acc = 0.1 * 0.03 = 0.003: multiplier of 0.003 / (6 / 255), bias + round(3 / 0.003) = 1000.
  const Requant r =
      build_requant("out", 0.1, {0.03}, 1.0 / 255, -128, Activation::kHardSigmoid, 2, bias);
  EXPECT_EQ(bias[0], 1010);
  EXPECT_EQ(bias[1], 990);
  const FixedPointMultiplier expected = quantize_multiplier(0.003 / 6 * 255);
  EXPECT_EQ(r.multiplier[0], expected.multiplier);
  EXPECT_EQ(r.shift[0], expected.shift);
  EXPECT_EQ(r.act_min, -128);
  EXPECT_EQ(r.act_max, 127);
  // Folded acc 1200 is v = 200 * 0.003 = 0.6: hard_sigmoid 0.6 = 153 / 255 -> q = -128 + 153.
  EXPECT_EQ(reference_requantize(1200, r.multiplier[0], r.shift[0], -128, r.act_min, r.act_max),
            25);
  // v = 3 or more saturates at 1.0 -> 127; v = -3 or less at 0 -> -128.
  EXPECT_EQ(
      reference_requantize(1000 + 1000, r.multiplier[0], r.shift[0], -128, r.act_min, r.act_max),
      127);
  EXPECT_EQ(reference_requantize(0, r.multiplier[0], r.shift[0], -128, r.act_min, r.act_max), -128);
  std::vector<int32_t> wrong = {1, 2, 3};
  EXPECT_THROW(
      build_requant("out", 0.1, {0.03}, 1.0 / 255, -128, Activation::kHardSigmoid, 2, wrong),
      std::invalid_argument);
}

TEST(QuantizeBias, RoundsAndSaturates) {
  EXPECT_EQ(quantize_bias(0.25, 0.5, 0.1), 5);
  EXPECT_EQ(quantize_bias(-0.125, 0.5, 0.1), -3);  // -2.5 rounds away from zero
  EXPECT_EQ(quantize_bias(1e12, 1e-3, 1e-3), INT32_MAX);
  EXPECT_EQ(quantize_bias(-1e12, 1e-3, 1e-3), INT32_MIN);
}

TEST(BuildConcatInput, IsTheRatioOfScales) {
  const ConcatInput same = build_concat_input("cat", 0.25, 0.25);
  EXPECT_EQ(same.multiplier, LOWBIT_IDENTITY_MULTIPLIER);
  EXPECT_EQ(same.shift, LOWBIT_IDENTITY_SHIFT);
  const ConcatInput half = build_concat_input("cat", 0.125, 0.25);
  EXPECT_EQ(half.multiplier, 1 << 30);
  EXPECT_EQ(half.shift, 0);
}

}  // namespace
}  // namespace lowbit::exporter
