#include "lowbit/quant/weight_grids/grid_base.h"

#include <gtest/gtest.h>

#include "lowbit/quant/registry.h"

namespace lowbit::quant {
namespace {

TEST(GridStats, AbsmeanAndAbsmaxPerTensorAndPerChannel) {
  const torch::Tensor x = torch::tensor({{1.0f, -3.0f}, {0.0f, 0.0f}, {-2.0f, 2.0f}});
  EXPECT_EQ(absmean_stat(x, false).item<float>(), 8.0f / 6.0f);
  EXPECT_EQ(absmax_stat(x, false).item<float>(), 3.0f);
  EXPECT_TRUE(torch::equal(absmean_stat(x, true), torch::tensor({2.0f, kScaleStatEps, 2.0f})));
  EXPECT_TRUE(torch::equal(absmax_stat(x, true), torch::tensor({3.0f, kScaleStatEps, 2.0f})));
  EXPECT_THROW(absmax_stat(torch::tensor(1.0f), true), std::invalid_argument);
}

TEST(GridStats, FormatRealIsShortAndExact) {
  EXPECT_EQ(format_real(0.25), "0.25");
  EXPECT_EQ(format_real(1.0), "1");
  EXPECT_EQ(std::stod(format_real(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(GridQuantizer, TrainingForwardRecordsTheStatisticAndFreezingKeepsIt) {
  const Quantizer q = make_quantizer("ternary");
  auto* grid = dynamic_cast<GridQuantizerImpl*>(q.get());
  ASSERT_NE(grid, nullptr);
  EXPECT_EQ(grid->recorded_stat().numel(), 0);
  q->eval();
  q->forward(torch::tensor({1.0f, -1.0f}));
  EXPECT_EQ(grid->recorded_stat().numel(), 0);  // eval mode reads only
  q->train();
  q->integer_form(torch::tensor({1.0f, -1.0f}));
  EXPECT_EQ(grid->recorded_stat().numel(), 0);  // integer_form never records
  q->forward(torch::tensor({2.0f, -2.0f}));
  EXPECT_EQ(grid->recorded_stat().item<float>(), 2.0f);
  // The recorded statistic is the module's buffer, saved with the model.
  EXPECT_EQ(q->named_buffers()["stat"].item<float>(), 2.0f);
  q->set_frozen(true);
  q->forward(torch::tensor({8.0f, 0.0f}));
  EXPECT_EQ(grid->recorded_stat().item<float>(), 2.0f);
  // Frozen at s = 2: 8 -> code 1 (clamped), 0.9 -> code 0.
  EXPECT_TRUE(torch::equal(q->integer_form(torch::tensor({8.0f, 0.9f})).codes,
                           torch::tensor({1, 0}, torch::kInt32)));
  q->set_frozen(false);
  EXPECT_TRUE(torch::equal(q->integer_form(torch::tensor({8.0f, 0.9f})).codes,
                           torch::tensor({1, 0}, torch::kInt32)));
  EXPECT_FLOAT_EQ(q->integer_form(torch::tensor({8.0f, 0.9f})).scale.item<float>(), 4.45f);
}

TEST(GridQuantizer, FrozenPerChannelScaleMustMatchTheChannels) {
  const Quantizer q = make_quantizer("nf4:per_channel=1");
  q->train();
  q->forward(torch::ones({3, 4}));
  q->set_frozen(true);
  EXPECT_NO_THROW(q->forward(torch::ones({3, 5})));
  EXPECT_THROW(q->forward(torch::ones({4, 4})), std::invalid_argument);
}

TEST(GridQuantizer, SteModeParsing) {
  EXPECT_EQ(parse_ste_mode(QuantSpec::parse("x"), SteMode::kClip), SteMode::kClip);
  EXPECT_EQ(parse_ste_mode(QuantSpec::parse("x:ste=plain"), SteMode::kClip), SteMode::kPlain);
  EXPECT_THROW(parse_ste_mode(QuantSpec::parse("x:ste=round"), SteMode::kClip), SpecError);
  EXPECT_EQ(ste_mode_name(SteMode::kPlain), "plain");
}

}  // namespace
}  // namespace lowbit::quant
