#include "lowbit/train/report/output_comparison.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include <stdexcept>

namespace lowbit::train {
namespace {

TEST(OutputComparison, HandComputed) {
  const torch::Tensor reference = torch::tensor({{1.0f, 2.0f}, {3.0f, 4.0f}});
  const torch::Tensor output = torch::tensor({{1.5f, 2.0f}, {1.0f, 4.0f}});
  const OutputDifference d = compare_outputs(output, reference);
  EXPECT_DOUBLE_EQ(d.mae, (0.5 + 0 + 2 + 0) / 4);
  EXPECT_DOUBLE_EQ(d.mse, (0.25 + 0 + 4 + 0) / 4);
  EXPECT_DOUBLE_EQ(d.max_abs, 2.0);
  EXPECT_EQ(d.values, 4);
  const OutputDifference self = compare_outputs(reference, reference);
  EXPECT_EQ(self.mae, 0.0);
  EXPECT_EQ(self.mse, 0.0);
  EXPECT_THROW(compare_outputs(output, reference.reshape({4})), std::invalid_argument);
  EXPECT_THROW(compare_outputs(torch::empty({0}), torch::empty({0})), std::invalid_argument);
}

TEST(OutputComparison, OutputsDoNotDependOnTheBatchSize) {
  torch::manual_seed(1);
  torch::nn::AnyModule model(torch::nn::Linear(3, 2));
  data::Dataset set;
  set.inputs = torch::randn({7, 3});
  set.targets = torch::zeros({7}, torch::kLong);
  const torch::Tensor all = collect_outputs(model, set, 100);
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{7, 2}));
  EXPECT_TRUE(torch::allclose(all, collect_outputs(model, set, 3)));
  EXPECT_TRUE(torch::allclose(all, model.forward(set.inputs)));
  EXPECT_THROW(collect_outputs(model, set, 0), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::train
