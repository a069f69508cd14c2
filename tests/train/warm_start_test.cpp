#include "lowbit/train/checkpoint/warm_start.h"

#include <gtest/gtest.h>

#include "train/test_models.h"

namespace lowbit::train {
namespace {

TEST(WarmStart, CopiesFpIntoQuantizedAndReportsFreshQuantizerState) {
  torch::manual_seed(2);
  testing::TwoLayer fp(3, 4, 2, false), q(3, 4, 2, true);
  auto step_before = q.q->named_parameters(true)["weight_quant.step"].clone();
  WarmStartReport report = warm_start(q, model_state(fp), /*strict=*/true);
  EXPECT_TRUE(torch::equal(fp.fc1->weight, q.fc1->weight));
  EXPECT_TRUE(torch::equal(fp.fc2->bias, q.fc2->bias));
  EXPECT_TRUE(torch::equal(q.q->named_parameters(true)["weight_quant.step"], step_before));
  EXPECT_EQ(report.copied(), 4);
  EXPECT_EQ(report.skipped(), 0);
  EXPECT_EQ(report.fresh(), 2);
  std::string text = report.text("stage 'fp'", "stage 'w4'");
  EXPECT_NE(text.find("Warm start of stage 'w4' from stage 'fp'"), std::string::npos);
  EXPECT_NE(text.find("copied   fc1.weight  shape (4, 3)"), std::string::npos);
  EXPECT_NE(text.find("fresh    q.weight_quant.step  quantizer state not in source"),
            std::string::npos);
  EXPECT_NE(text.find("Copied: 4  Skipped: 0  Fresh quantizer state: 2"), std::string::npos);
}

TEST(WarmStart, NonStrictSkipsMismatchesWithReasons) {
  torch::manual_seed(3);
  testing::TwoLayer src(3, 4, 2, false), dst(3, 4, 5, false);
  NamedTensors state = model_state(src);
  NamedTensors partial;
  for (const auto& item : state) {
    if (item.key() != "fc1.bias") partial.insert(item.key(), item.value());
  }
  partial.insert("extra.weight", torch::zeros({2}));
  auto fc2_before = dst.fc2->weight.clone();
  WarmStartReport report = warm_start(dst, partial, /*strict=*/false);
  EXPECT_EQ(report.copied(), 1);   // fc1.weight
  EXPECT_EQ(report.skipped(), 3);  // fc1.bias missing, fc2.weight and fc2.bias mis-shaped
  EXPECT_TRUE(torch::equal(dst.fc1->weight, src.fc1->weight));
  EXPECT_TRUE(torch::equal(dst.fc2->weight, fc2_before));
  std::string text = report.text("a", "b");
  EXPECT_NE(text.find("skipped  fc1.bias  missing in source"), std::string::npos);
  EXPECT_NE(text.find("skipped  fc2.weight  shape mismatch: source (2, 4) vs target (5, 4)"),
            std::string::npos);
  EXPECT_NE(text.find("unused   extra.weight"), std::string::npos);
  EXPECT_NE(text.find("Copied: 1  Skipped: 3\n"), std::string::npos);
}

TEST(WarmStart, StrictListsEverySkippedTensorAndCopiesNothing) {
  torch::manual_seed(4);
  testing::TwoLayer src(3, 4, 2, false), dst(3, 4, 5, false);
  auto fc1_before = dst.fc1->weight.clone();
  try {
    warm_start(dst, model_state(src), /*strict=*/true);
    FAIL() << "expected WarmStartError";
  } catch (const WarmStartError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("2 tensor(s)"), std::string::npos);
    EXPECT_NE(m.find("fc2.weight: shape mismatch, source (2, 4) vs target (5, 4)"),
              std::string::npos);
    EXPECT_NE(m.find("fc2.bias: shape mismatch"), std::string::npos);
  }
  EXPECT_TRUE(torch::equal(dst.fc1->weight, fc1_before));
}

TEST(WarmStart, QuantizerStateNames) {
  EXPECT_TRUE(is_quantizer_state("fc1.weight_quant.step"));
  EXPECT_TRUE(is_quantizer_state("act1.output_quant.running_max"));
  EXPECT_FALSE(is_quantizer_state("fc1.weight"));
  EXPECT_FALSE(is_quantizer_state("_quant.x"));
}

}  // namespace
}  // namespace lowbit::train
