#include "lowbit/export/reference_executor.h"

#include <gtest/gtest.h>

#include <random>

#include "export/random_models.h"
#include "lowbit/export/lowering/requantization.h"
#include "lowbit_runtime.h"

namespace lowbit::exporter {
namespace {

TEST(ReferenceRequantize, RoundsHalfAwayFromZero) {
  // Factor 0.5: multiplier 2^30, shift 0.
  EXPECT_EQ(reference_requantize(3, 1 << 30, 0, 0, -128, 127), 2);    // 1.5 -> 2
  EXPECT_EQ(reference_requantize(-3, 1 << 30, 0, 0, -128, 127), -2);  // -1.5 -> -2
  EXPECT_EQ(reference_requantize(1, 1 << 30, 0, 0, -128, 127), 1);    // 0.5 -> 1
  EXPECT_EQ(reference_requantize(-1, 1 << 30, 0, 0, -128, 127), -1);
  EXPECT_EQ(reference_requantize(INT32_MIN, INT32_MAX, 30, 0, -128, 127), -128);
  EXPECT_EQ(reference_requantize(INT32_MAX, INT32_MAX, 30, 5, -128, 127), 127);
  EXPECT_EQ(reference_requantize(100, 1 << 30, 1, -10, -5, 50), 50);
}

TEST(ReferenceRequantize, AgreesWithTheRuntimeOnRandomArguments) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> any;
  std::uniform_int_distribution<int32_t> shift(-31, 30);
  std::uniform_int_distribution<int32_t> small(-128, 127);
  for (int i = 0; i < 200000; ++i) {
    const int32_t acc = i % 2 ? any(rng) : any(rng) >> 16;
    const int32_t multiplier = any(rng) & 0x7FFFFFFF;
    const int32_t s = shift(rng);
    const int32_t zp = small(rng);
    int32_t lo = small(rng);
    int32_t hi = small(rng);
    if (lo > hi) std::swap(lo, hi);
    ASSERT_EQ(reference_requantize(acc, multiplier, s, zp, lo, hi),
              lowbit_requantize(acc, multiplier, s, zp, lo, hi))
        << acc << " " << multiplier << " " << s;
  }
}

IntegerModel tiny_fc() {
  IntegerModel model;
  model.name = "tiny";
  model.input_shape = {3, 1, 1};
  model.input_zero_point = 1;
  FullyConnected fc;
  fc.in_features = 3;
  fc.out_features = 2;
  fc.weights = {1, -2, 3, -1, 0, 1};
  fc.bias = {10, -4};
  fc.requant = {{1 << 30}, {0}, -128, 127};  // factor 0.5
  model.layers.push_back(Layer{"fc", {kModelInput}, fc, 1.0, 2});
  return model;
}

TEST(ReferenceExecutor, HandComputedFullyConnected) {
  const ReferenceExecutor executor(tiny_fc());
  // x - zp = {4, -1, 2}: acc0 = 10 + 4 + 2 + 6 = 22 -> 11 + 2 = 13;
  // acc1 = -4 - 4 + 0 + 2 = -6 -> -3 + 2 = -1.
  EXPECT_EQ(executor.run({5, 0, 3}), (std::vector<int8_t>{13, -1}));
  EXPECT_EQ(executor.run_batch({5, 0, 3, 1, 1, 1}, 2),
            (std::vector<int8_t>{13, -1, 7, 0}));  // acc 10 -> 5 + 2; acc -4 -> -2 + 2
  EXPECT_THROW(executor.run({1, 2}), std::invalid_argument);
  EXPECT_THROW(executor.run_batch({1, 2, 3}, 2), std::invalid_argument);
}

TEST(ReferenceExecutor, ConvPaddingPoolsAndConcat) {
  IntegerModel model;
  model.name = "small";
  model.input_shape = {1, 2, 2};
  model.input_zero_point = -1;
  Conv2d conv;  // 1 -> 1 channel, 3x3 kernel of ones, pad 1: sums the 2x2 image
  conv.in_channels = conv.out_channels = 1;
  conv.in_height = conv.in_width = 2;
  conv.kernel_h = conv.kernel_w = 3;
  conv.pad_top = conv.pad_bottom = conv.pad_left = conv.pad_right = 1;
  conv.weights.assign(9, 1);
  conv.requant = {{1 << 30}, {1}, -128, 127};  // identity
  model.layers.push_back(Layer{"conv", {kModelInput}, conv, 1.0, 0});
  Pool avg;
  avg.average = true;
  avg.channels = 1;
  avg.in_height = avg.in_width = 2;
  avg.kernel_h = avg.kernel_w = 2;
  model.layers.push_back(Layer{"avg", {0}, avg, 1.0, 0});
  Pool max = avg;
  max.average = false;
  model.layers.push_back(Layer{"max", {0}, max, 1.0, 0});
  Concat cat;
  cat.inputs = {{1 << 30, 1}, {1 << 30, 0}};  // identity and half
  model.layers.push_back(Layer{"cat", {1, 2}, cat, 1.0, 3});
  const ReferenceExecutor executor(model);
  // x - zp = {3, -2, 0, 0}: every conv output sums all four = 1, so avg 1, max 1.
  EXPECT_EQ(executor.run({2, -3, -1, -1}), (std::vector<int8_t>{4, 4}));  // 1+3, round(0.5)+3
  // x - zp = {-2, -1, 0, 0}: sum -3 everywhere; avg -3 -> -3 + 3 = 0; half of -3 = -1.5 -> -2.
  EXPECT_EQ(executor.run({-3, -2, -1, -1}), (std::vector<int8_t>{0, 1}));
}

TEST(ReferenceExecutor, AveragePoolRoundsHalfAwayFromZero) {
  IntegerModel model;
  model.name = "avg";
  model.input_shape = {1, 1, 4};
  Pool avg;
  avg.average = true;
  avg.channels = 1;
  avg.in_height = 1;
  avg.in_width = 4;
  avg.kernel_h = 1;
  avg.kernel_w = 2;
  avg.stride_w = 2;
  model.layers.push_back(Layer{"avg", {kModelInput}, avg, 1.0, 0});
  const ReferenceExecutor executor(model);
  EXPECT_EQ(executor.run({1, 2, -1, -2}), (std::vector<int8_t>{2, -2}));
  EXPECT_EQ(executor.run({-128, -127, 127, 126}), (std::vector<int8_t>{-128, 127}));
}

TEST(ReferenceExecutor, HandComputedResidualAdd) {
  IntegerModel model;
  model.name = "add";
  model.input_shape = {1, 1, 4};
  Conv2d conv;  // 1x1, weight 2, factor 1: b = 2x + 3 in zero point 3
  conv.in_channels = conv.out_channels = 1;
  conv.in_height = 1;
  conv.in_width = 4;
  conv.weights = {2};
  conv.requant = {{1 << 30}, {1}, -128, 127};
  model.layers.push_back(Layer{"conv", {kModelInput}, conv, 0.5, 3});
  Add add;  // 0.25 * x + 0.5 * (2x): multipliers 2^29 and 2^30 in the shared shift 0
  add.multiplier_a = 1 << 29;
  add.multiplier_b = 1 << 30;
  add.shift = 0;
  model.layers.push_back(Layer{"add", {kModelInput, 0}, add, 1.0, 0});
  const ReferenceExecutor executor(model);
  // 1.25 x: 3.75 -> 4, -6.25 -> -6, 2.5 -> 3 and -2.5 -> -3 (one rounding, half away from zero).
  EXPECT_EQ(executor.run({3, -5, 2, -2}), (std::vector<int8_t>{4, -6, 3, -3}));
  // The relu clamp at the output zero point.
  std::get<Add>(model.layers[1].op).act_min = 0;
  EXPECT_EQ(ReferenceExecutor(model).run({3, -5, 2, -2}), (std::vector<int8_t>{4, 0, 3, 0}));
}

TEST(ReferenceAdd, AgreesWithTheRuntimeOnRandomArguments) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> any;
  std::uniform_int_distribution<int32_t> shift(-31, 30);
  std::uniform_int_distribution<int32_t> small(-128, 127);
  for (int i = 0; i < 100000; ++i) {
    Add add;
    add.multiplier_a = any(rng) & 0x7FFFFFFF;
    add.multiplier_b = i % 3 ? any(rng) & 0x7FFFFFFF : add.multiplier_a >> (i % 31);
    add.shift = shift(rng);
    add.act_min = small(rng);
    add.act_max = small(rng);
    if (add.act_min > add.act_max) std::swap(add.act_min, add.act_max);
    const int8_t a = static_cast<int8_t>(small(rng));
    const int8_t b = static_cast<int8_t>(small(rng));
    const lowbit_add_params_t params{small(rng), small(rng), add.multiplier_a, add.multiplier_b,
                                     add.shift,  small(rng), add.act_min,      add.act_max};
    int8_t out = 0;
    ASSERT_EQ(lowbit_add_s8(&params, &a, &b, &out, 1), LOWBIT_OK);
    ASSERT_EQ(reference_add(a - params.zero_point_a, b - params.zero_point_b, add,
                            params.output_zero_point),
              out)
        << add.multiplier_a << " " << add.multiplier_b << " " << add.shift;
  }
}

}  // namespace
}  // namespace lowbit::exporter
