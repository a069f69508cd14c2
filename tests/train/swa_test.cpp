#include "lowbit/train/methods/swa.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>

#include "lowbit/nn/qlinear.h"

namespace lowbit::train {
namespace {

// Per-column unbiased variance of a {N, C} tensor.
torch::Tensor unbiased_var(const torch::Tensor& x) {
  return (x - x.mean(0)).pow(2).sum(0) / static_cast<double>(x.size(0) - 1);
}

TEST(WeightAverager, AverageIsArithmeticMeanOfSnapshots) {
  torch::manual_seed(21);
  nn::QLinear layer(nn::QLinearOptions(4, 3).weight_quant("lsq:bits=2"));
  layer->forward(torch::randn({2, 4}));  // initialises the LSQ step (a parameter, averaged too)
  WeightAverager averager(*layer);
  EXPECT_THROW(averager.apply(), std::logic_error);
  std::vector<torch::Tensor> snapshots;
  for (int i = 0; i < 3; ++i) {
    {
      torch::NoGradGuard no_grad;
      layer->weight.copy_(torch::randn({3, 4}));
    }
    snapshots.push_back(layer->weight.detach().clone());
    averager.update();
  }
  EXPECT_EQ(averager.count(), 3);
  const torch::Tensor step = layer->weight_quant()->named_parameters()["step"].detach().clone();
  averager.apply();
  const torch::Tensor mean = (snapshots[0].to(torch::kDouble) + snapshots[1].to(torch::kDouble) +
                              snapshots[2].to(torch::kDouble)) /
                             3.0;
  EXPECT_TRUE(torch::equal(layer->weight.detach(), mean.to(torch::kFloat)));
  // A parameter equal in every snapshot keeps its value exactly.
  EXPECT_TRUE(torch::equal(layer->weight_quant()->named_parameters()["step"].detach(), step));

  // Re-snap: the averaged latent weights are off the grid; the quantizer puts them back on it.
  const torch::Tensor q = layer->quantized_weight().detach();
  const quant::IntegerForm form = layer->weight_quant()->integer_form(layer->weight);
  EXPECT_TRUE(torch::equal(q, form.dequantize()));
  EXPECT_GE(form.codes.min().item<int>(), form.code_min);
  EXPECT_LE(form.codes.max().item<int>(), form.code_max);
  EXPECT_FALSE(torch::equal(q, layer->weight.detach()));
}

TEST(BatchNormReestimation, EqualsDataStatistics) {
  torch::manual_seed(22);
  torch::nn::BatchNorm1d bn(torch::nn::BatchNorm1dOptions(3).momentum(0.1));
  torch::nn::Sequential model(bn);
  const torch::Tensor data = torch::randn({64, 3}, torch::kFloat) * 2.0 + 1.5;
  // Stale statistics from "before averaging".
  model->train();
  model->forward(torch::randn({8, 3}) * 5.0);
  model->eval();

  reestimate_batch_norm(*model, [&] { model->forward(data); });
  EXPECT_TRUE(torch::allclose(bn->running_mean, data.mean(0), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(bn->running_var, unbiased_var(data), 1e-5, 1e-6));
  EXPECT_FALSE(model->is_training());
  ASSERT_TRUE(bn->options.momentum().has_value());
  EXPECT_EQ(*bn->options.momentum(), 0.1);

  // Four equal batches: a cumulative average of the batch means is the data mean.
  reestimate_batch_norm(*model, [&] {
    for (int i = 0; i < 4; ++i) model->forward(data.slice(0, i * 16, (i + 1) * 16));
  });
  EXPECT_TRUE(torch::allclose(bn->running_mean, data.mean(0), 1e-5, 1e-6));
  torch::Tensor batch_vars = torch::zeros({3});
  for (int i = 0; i < 4; ++i) batch_vars += unbiased_var(data.slice(0, i * 16, (i + 1) * 16));
  EXPECT_TRUE(torch::allclose(bn->running_var, batch_vars / 4, 1e-5, 1e-6));
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 4);
}

}  // namespace
}  // namespace lowbit::train
