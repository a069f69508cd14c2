#include "lowbit/train/methods/weight_report.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/container/sequential.h>

#include <cmath>

#include "lowbit/nn/qlinear.h"

namespace lowbit::train {
namespace {

quant::IntegerForm form_of(std::vector<int> codes) {
  quant::IntegerForm form;
  form.codes = torch::tensor(codes, torch::kInt32);
  return form;
}

TEST(WeightEntropy, KnownHistograms) {
  EXPECT_EQ(weight_entropy_bits(form_of({0, 0, 1, 1})), 1.0);
  EXPECT_EQ(weight_entropy_bits(form_of({3, -1, 2, 0})), 2.0);
  EXPECT_EQ(weight_entropy_bits(form_of({5, 5, 5})), 0.0);
  EXPECT_NEAR(weight_entropy_bits(form_of({0, 0, 0, 1})),
              -(0.75 * std::log2(0.75) + 0.25 * std::log2(0.25)), 1e-12);
  // Eight equally frequent codes of a 3-bit grid: 3 bits.
  EXPECT_NEAR(
      weight_entropy_bits(form_of({-4, -3, -2, -1, 0, 1, 2, 3, 3, 2, 1, 0, -1, -2, -3, -4})), 3.0,
      1e-12);
}

TEST(WeightReport, ReportsLayersAndFreezesOnSchedule) {
  torch::manual_seed(51);
  torch::nn::Sequential model(nn::QLinear(nn::QLinearOptions(16, 8).weight_quant("lsq:bits=3")),
                              nn::QLinear(nn::QLinearOptions(8, 2)));
  auto layer = model[0]->as<nn::QLinear>();
  layer->forward(torch::randn({1, 16}));
  const auto report = weight_report(*model);
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report[0].name, "0");
  EXPECT_EQ(report[0].bits, 3);
  const quant::IntegerForm form = layer->weight_quant()->integer_form(layer->weight);
  EXPECT_EQ(report[0].entropy, weight_entropy_bits(form));
  EXPECT_GT(report[0].entropy, 0.0);
  EXPECT_LE(report[0].entropy, 3.0);
  EXPECT_FLOAT_EQ(report[0].clip, 4.0f * form.scale.item<float>());  // |code -4| * step
  char expected[64];
  std::snprintf(expected, sizeof(expected), "%.3f/%.2f", report[0].clip, report[0].entropy);
  EXPECT_EQ(format_weight_report(report), expected);
}

}  // namespace
}  // namespace lowbit::train
