#include "lowbit/train/regularizers/quant_error.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/container/sequential.h>

#include "lowbit/nn/qlinear.h"

namespace lowbit::train {
namespace {

TEST(QuantError, MeanSquaredDistanceOverQuantizedLayers) {
  torch::manual_seed(7);
  nn::QLinear a(nn::QLinearOptions(5, 4).weight_quant("lsq:bits=2"));
  nn::QLinear b(nn::QLinearOptions(4, 3).weight_quant("lsq:bits=3"));
  nn::QLinear plain(nn::QLinearOptions(3, 2));
  torch::nn::Sequential model(a, b, plain);
  torch::Tensor qa = a->quantized_weight().detach();
  torch::Tensor qb = b->quantized_weight().detach();
  const double expected = ((a->weight.detach() - qa).pow(2).sum().item<double>() +
                           (b->weight.detach() - qb).pow(2).sum().item<double>()) /
                          (20.0 + 12.0);
  torch::Tensor penalty = quantization_error(*model);
  EXPECT_NEAR(penalty.item<double>(), expected, 1e-7);
  EXPECT_GT(penalty.item<double>(), 0.0);
  penalty.backward();
  // The latent weights are pulled towards the grid: d/dw = 2 (w - q) / N.
  EXPECT_TRUE(torch::allclose(a->weight.grad(), 2.0 * (a->weight.detach() - qa) / 32.0));
  EXPECT_FALSE(plain->weight.grad().defined());

  torch::nn::Sequential unquantized(nn::QLinear(nn::QLinearOptions(3, 2)));
  EXPECT_EQ(quantization_error(*unquantized).item<double>(), 0.0);
}

}  // namespace
}  // namespace lowbit::train
