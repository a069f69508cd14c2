#include "lowbit/train/regularizers/bin_regularization.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/container/sequential.h>

#include "lowbit/nn/qactivation.h"
#include "lowbit/nn/qlinear.h"
#include "lowbit/quant/registry.h"
#include "lowbit/train/quantize/layer_weights.h"

namespace lowbit::train {
namespace {

torch::Tensor d(std::vector<double> v) {
  return torch::tensor(v, torch::kDouble);
}

TEST(BinRegularization, HandMadeValue) {
  // Bins: {0.1, -0.2} -> 0, {0.9, 1.2} -> 1, {2.0} -> 2.
  // Bin 0: mean -0.05, var 0.0225 -> 0.0025 + 0.0225 = 0.025. Bin 1: mean 1.05, var 0.0225 ->
  // 0.025. Bin 2: 0. Average over the three non-empty bins: 0.05 / 3.
  const torch::Tensor latent = d({0.1, -0.2, 0.9, 1.2, 2.0});
  const double value = bin_regularization(latent, d({0, 1, 2, 3}), d({1}), false).item<double>();
  EXPECT_NEAR(value, 0.05 / 3.0, 1e-12);
  // In units of the step: the same tensor at half the scale gives the same loss.
  const double half =
      bin_regularization(latent * 0.5, d({0, 0.5, 1, 1.5}), d({0.5}), false).item<double>();
  EXPECT_NEAR(half, 0.05 / 3.0, 1e-12);
  // Mean/variance form computed independently for bin 0.
  const torch::Tensor bin0 = d({0.1, -0.2});
  EXPECT_NEAR(bin0.mean().pow(2).item<double>() + bin0.var(false).item<double>(), 0.025, 1e-12);
}

TEST(BinRegularization, ZeroWhenLatentsSitOnLevels) {
  const torch::Tensor levels = torch::arange(-4, 4, torch::kFloat) * 0.3f;
  const torch::Tensor latent = levels.index_select(0, torch::tensor({0, 3, 3, 7, 5, 1}));
  EXPECT_EQ(bin_regularization(latent, levels, grid_step(levels), false).item<float>(), 0.0f);
}

TEST(BinRegularization, PerChannelAveragesOverNonEmptyBins) {
  // Row 0 on levels {0, 1, 2}: bins {0.2} and {1.0} -> terms 0.04 and 0.
  // Row 1 on levels {0, 2, 4} (step 2): values / 2 = {0.25, 0.25} -> one bin, term 0.0625.
  const torch::Tensor latent = d({0.2, 1.0, 0.5, 0.5}).reshape({2, 2});
  const torch::Tensor levels = d({0, 1, 2, 0, 2, 4}).reshape({2, 3});
  const torch::Tensor step = grid_step(levels);
  EXPECT_TRUE(torch::equal(step, d({1, 2})));
  EXPECT_NEAR(bin_regularization(latent, levels, step, false).item<double>(),
              (0.04 + 0.0 + 0.0625) / 3.0, 1e-12);
}

TEST(BinRegularization, GradientMatchesFiniteDifferences) {
  torch::manual_seed(3);
  const torch::Tensor codes = torch::arange(-2, 2, torch::kDouble);
  torch::Tensor latent = (torch::randn({12}, torch::kDouble) * 0.4).requires_grad_(true);
  torch::Tensor step = d({0.35}).requires_grad_(true);
  auto loss_of = [&](const torch::Tensor& x, const torch::Tensor& s) {
    return bin_regularization(x, codes * s, s, false);
  };
  loss_of(latent, step).backward();
  const double eps = 1e-6;
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < latent.numel(); ++i) {
    torch::Tensor plus = latent.detach().clone();
    torch::Tensor minus = latent.detach().clone();
    plus[i] += eps;
    minus[i] -= eps;
    const double numeric =
        (loss_of(plus, step).item<double>() - loss_of(minus, step).item<double>()) / (2 * eps);
    EXPECT_NEAR(latent.grad()[i].item<double>(), numeric, 1e-6) << "element " << i;
  }
  const double numeric_step = (loss_of(latent, step.detach() + eps).item<double>() -
                               loss_of(latent, step.detach() - eps).item<double>()) /
                              (2 * eps);
  EXPECT_NEAR(step.grad().item<double>(), numeric_step, 1e-6);
  EXPECT_NE(step.grad().item<double>(), 0.0);
}

TEST(BinRegularization, DetachedStepGetsNoGradient) {
  torch::manual_seed(4);
  const torch::Tensor codes = torch::arange(-2, 2, torch::kDouble);
  torch::Tensor latent = torch::randn({8}, torch::kDouble).requires_grad_(true);
  torch::Tensor step = d({0.5}).requires_grad_(true);
  torch::Tensor loss = bin_regularization(latent, codes * step, step, true);
  loss.backward();
  EXPECT_FALSE(step.grad().defined());
  EXPECT_TRUE(latent.grad().defined());
}

TEST(BinRegularization, RejectsBadShapes) {
  EXPECT_THROW(grid_step(d({1})), std::invalid_argument);
  EXPECT_THROW(
      bin_regularization(d({1, 2}), d({0, 1, 2, 3}).reshape({2, 2}).repeat({2, 1}), d({1}), false),
      std::invalid_argument);
}

TEST(BinRegularizer, SumsQuantizedLayerWeights) {
  torch::manual_seed(5);
  torch::nn::Sequential model(nn::QLinear(nn::QLinearOptions(6, 4).weight_quant("lsq:bits=2")),
                              nn::QLinear(nn::QLinearOptions(4, 3).weight_quant("lsq:bits=3")),
                              nn::QLinear(nn::QLinearOptions(3, 2)));
  const auto layers = layer_weights(*model, true);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layer_weights(*model, false).size(), 3u);
  double expected = 0.0;
  for (const auto& layer : layers) {
    expected +=
        quantizer_bin_regularization(*layer.quantizer, layer.weight, false, 0).item<double>();
  }
  BinRegularizerOptions options;
  options.lambda_weight = 0.5;
  BinRegularizer regularizer(*model, options);
  torch::Tensor loss = regularizer.weight_loss();
  EXPECT_NEAR(loss.item<double>(), 0.5 * expected, 1e-6);
  EXPECT_GT(loss.item<double>(), 0.0);
  loss.backward();
  EXPECT_TRUE(layers[0].weight.grad().defined());

  // Activation term: an lsq activation quantizer and its input, step detached by default.
  options.lambda_activation = 2.0;
  BinRegularizer with_act(*model, options);
  quant::Quantizer act = quant::make_quantizer("lsq:bits=2", quant::Role::kActivation);
  const torch::Tensor x = torch::rand({5, 4});
  act->forward(x);
  const double act_expected = quantizer_bin_regularization(*act, x, true, 1).item<double>();
  EXPECT_NEAR(with_act.activation_loss({{act, x}}).item<double>(), 2.0 * act_expected, 1e-6);
  BinRegularizerOptions off;
  off.lambda_weight = 0.0;
  EXPECT_EQ(BinRegularizer(*model, off).weight_loss().item<double>(), 0.0);
}

TEST(BinRegularizer, RecordsQActivationInputs) {
  torch::manual_seed(6);
  nn::QActivation act(nn::QActivationOptions("relu").output_quant("lsq:bits=2"));
  nn::QActivation plain(nn::QActivationOptions("relu"));
  torch::nn::Sequential model(nn::QLinear(nn::QLinearOptions(4, 6)), act, plain);
  BinRegularizerOptions options;
  options.lambda_activation = 3.0;
  BinRegularizer regularizer(*model, options);
  const torch::Tensor x = torch::randn({5, 4});
  model->forward(x);
  EXPECT_FALSE(act->recorded_input().defined());  // recording is off by default
  EXPECT_EQ(regularizer.recorded_activation_loss().item<double>(), 0.0);

  regularizer.set_activation_recording(true);
  const torch::Tensor hidden = torch::relu(model[0]->as<nn::QLinear>()->forward(x));
  model->forward(x);
  ASSERT_TRUE(act->recorded_input().defined());
  EXPECT_FALSE(plain->recorded_input().defined());  // no quantizer, nothing to regularize
  EXPECT_TRUE(torch::equal(act->recorded_input(), hidden));
  const double expected =
      quantizer_bin_regularization(*act->output_quant(), hidden, true, 1).item<double>();
  torch::Tensor loss = regularizer.recorded_activation_loss();
  EXPECT_NEAR(loss.item<double>(), 3.0 * expected, 1e-6);
  EXPECT_GT(loss.item<double>(), 0.0);
  loss.backward();  // reaches the linear layer through the recorded activation
  EXPECT_TRUE(model[0]->as<nn::QLinear>()->weight.grad().defined());

  regularizer.set_activation_recording(false);
  EXPECT_FALSE(act->recorded_input().defined());
}

}  // namespace
}  // namespace lowbit::train
