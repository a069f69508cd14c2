// nn/initializers: Keras's initialisers by name (bounds and deviations), zero biases, errors for
// unknown names, QKeras's QInitializer fit to a 2-bit grid, and the smartpix_model2 keys.
#include "lowbit/nn/initializers.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "lowbit/config/config_reader.h"
#include "lowbit/models/model.h"
#include "lowbit/models/smartpix_model2.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::nn {
namespace {

constexpr int64_t kOut = 128;
constexpr int64_t kIn = 64;

torch::Tensor drawn(const std::string& name) {
  torch::manual_seed(0);
  torch::Tensor w = torch::empty({kOut, kIn});
  init_kernel(w, name);
  return w;
}

double max_abs(const torch::Tensor& t) {
  return t.abs().max().item<double>();
}

// Uniform initialisers fill [-limit, limit]: nothing outside, something close to each end.
void expect_uniform(const std::string& name, double limit) {
  SCOPED_TRACE(name);
  const torch::Tensor w = drawn(name);
  EXPECT_LE(max_abs(w), limit);
  EXPECT_GT(w.max().item<double>(), 0.99 * limit);
  EXPECT_LT(w.min().item<double>(), -0.99 * limit);
  // Variance of U(-l, l) is l^2 / 3; 8192 draws hold it within a few percent.
  EXPECT_NEAR(w.var().item<double>(), limit * limit / 3.0, 0.05 * limit * limit / 3.0);
}

TEST(Initializers, UniformBoundsAreKeras) {
  expect_uniform("glorot_uniform", std::sqrt(6.0 / (kIn + kOut)));
  expect_uniform("he_uniform", std::sqrt(6.0 / kIn));
  expect_uniform("lecun_uniform", std::sqrt(3.0 / kIn));
}

TEST(Initializers, NormalsAreTruncatedAtTwoDeviationsWithKerasVariance) {
  for (const auto& [name, variance] : {std::pair<std::string, double>{"he_normal", 2.0 / kIn},
                                       {"lecun_normal", 1.0 / kIn},
                                       {"glorot_normal", 2.0 / (kIn + kOut)}}) {
    SCOPED_TRACE(name);
    const torch::Tensor w = drawn(name);
    // Keras divides the deviation by 0.8796 so that the truncated draws have `variance`.
    const double stddev = std::sqrt(variance) / 0.87962566103423978;
    EXPECT_LE(max_abs(w), 2.0 * stddev);
    EXPECT_NEAR(w.var().item<double>(), variance, 0.05 * variance);
  }
}

TEST(Initializers, TorchDefaultIsLinearsInitialisation) {
  torch::manual_seed(3);
  torch::nn::Linear linear(kIn, kOut);
  torch::manual_seed(3);
  QLinear q(kIn, kOut);
  EXPECT_TRUE(torch::equal(q->weight, linear->weight));
  EXPECT_TRUE(torch::equal(q->bias, linear->bias));
}

TEST(Initializers, ZerosAndTorchDefaultBiases) {
  torch::manual_seed(4);
  QLinear zeros(
      QLinearOptions(kIn, kOut).kernel_initializer("glorot_uniform").bias_initializer("zeros"));
  EXPECT_EQ(max_abs(zeros->bias), 0.0);
  EXPECT_LE(max_abs(zeros->weight), std::sqrt(6.0 / (kIn + kOut)));
  QLinear torch_bias(QLinearOptions(kIn, kOut));
  EXPECT_LE(max_abs(torch_bias->bias), 1.0 / std::sqrt(static_cast<double>(kIn)));
  EXPECT_GT(max_abs(torch_bias->bias), 0.0);
}

TEST(Initializers, UnknownNamesAreRefusedWithTheValidOnes) {
  try {
    check_kernel_initializer("xavier");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'xavier'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("glorot_uniform"), std::string::npos) << e.what();
  }
  EXPECT_THROW(check_bias_initializer("ones"), std::invalid_argument);
  EXPECT_THROW(QLinear(QLinearOptions(2, 2).kernel_initializer("he")), std::invalid_argument);
}

// The cause of Model2's dead 2-bit stages: every weight of a 64-input layer initialised by
// LibTorch or glorot_uniform rounds to 0 on quantized_bits(2, 0) (first level at |w| >= 0.25).
TEST(Initializers, TwoBitGridZeroesTorchAndGlorotKernels) {
  for (const std::string name : {"torch_default", "glorot_uniform"}) {
    torch::manual_seed(5);
    QLinear layer(QLinearOptions(kIn, kOut).kernel_initializer(name));
    layer->set_weight_quant("uniform:bits=2,integer=0");
    EXPECT_EQ(max_abs(layer->quantized_weight()), 0.0) << name;
  }
}

TEST(Initializers, FitToGridPutsWeightsOnTheTwoBitLevels) {
  torch::manual_seed(6);
  QLinear layer(QLinearOptions(kIn, kOut)
                    .kernel_initializer("glorot_uniform")
                    .bias_initializer("zeros")
                    .fit_kernel_to_grid(true));
  const torch::Tensor before = layer->weight.clone();
  layer->set_weight_quant("uniform:bits=2,integer=0");
  const torch::Tensor q = layer->quantized_weight();
  // glorot's limit 0.177 is below the grid step 0.25: QKeras scales the variance by
  // sum(q^2) / sum(q x) (q all zero here: by 1 / rms), and clips to quantizer.max() = 1.
  EXPECT_LE(max_abs(layer->weight), 1.0);
  const double nonzero = (q != 0).to(torch::kFloat).mean().item<double>();
  EXPECT_GT(nonzero, 0.5);
  EXPECT_FALSE(torch::equal(before, layer->weight));
  // A later quantizer (a bit-width event) keeps the trained kernel.
  const torch::Tensor fitted = layer->weight.clone();
  layer->set_weight_quant("uniform:bits=3,integer=0");
  EXPECT_TRUE(torch::equal(fitted, layer->weight));
}

TEST(Initializers, FitScalesLibTorchsInitialisationToo) {
  torch::manual_seed(9);
  QLinear layer(QLinearOptions(kIn, kOut).fit_kernel_to_grid(true));
  layer->set_weight_quant("uniform:bits=2,integer=0");
  EXPECT_LE(max_abs(layer->weight), 1.0);
  EXPECT_GT((layer->quantized_weight() != 0).to(torch::kFloat).mean().item<double>(), 0.3);
}

TEST(Initializers, FitLeavesKernelsThatAlreadyReachTheGrid) {
  // At 8 bits the step 2^-8 is below he_normal's deviation: QKeras only clips to [-1, 1].
  torch::manual_seed(7);
  QLinear fitted(
      QLinearOptions(kIn, kOut).kernel_initializer("he_normal").fit_kernel_to_grid(true));
  fitted->set_weight_quant("uniform:bits=8,integer=0");
  torch::manual_seed(7);
  QLinear plain(QLinearOptions(kIn, kOut).kernel_initializer("he_normal"));
  torch::Tensor redrawn = torch::empty({kOut, kIn});
  init_kernel(redrawn, "he_normal");
  EXPECT_TRUE(torch::allclose(fitted->weight, redrawn.clamp(-1.0, 1.0)));
}

torch::nn::AnyModule smartpix(const std::string& model_yaml) {
  const config::ConfigNode node = config::ConfigNode::parse(model_yaml, "model.yaml");
  return models::build_model(node, models::SmartpixModel2Impl::kInputFeatures, 1);
}

TEST(Initializers, SmartpixModel2Keys) {
  torch::manual_seed(8);
  auto model = smartpix(
      "{type: smartpix_model2, kernel_initializer: glorot_uniform, bias_initializer: zeros}");
  const auto* m = model.ptr()->as<models::SmartpixModel2Impl>();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(max_abs(m->merged_dense1->bias), 0.0);
  EXPECT_LE(max_abs(m->merged_dense1->weight), std::sqrt(6.0 / (64 + 128)));
  EXPECT_LE(max_abs(m->xz_dense1->weight), std::sqrt(6.0 / (22 + 32)));
  for (const char* key : {"kernel_initializer", "bias_initializer"}) {
    try {
      smartpix(std::string("{type: smartpix_model2, ") + key + ": nope}");
      FAIL() << key;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
    }
  }
}

// The mlp takes the same keys: Keras's glorot_uniform kernels and zero biases on every layer.
TEST(Initializers, MlpKeys) {
  torch::manual_seed(9);
  const config::ConfigNode node = config::ConfigNode::parse(
      "{type: mlp, widths: [16], kernel_initializer: glorot_uniform, bias_initializer: zeros}",
      "model.yaml");
  auto model = models::build_model(node, 40, 3);
  int layers = 0;
  for (const auto& item : model.ptr()->named_modules()) {
    const auto* linear = item.value()->as<QLinearImpl>();
    if (linear == nullptr) continue;
    ++layers;
    const double fan_in = static_cast<double>(linear->weight.size(1));
    const double fan_out = static_cast<double>(linear->weight.size(0));
    EXPECT_EQ(max_abs(linear->bias), 0.0) << item.key();
    EXPECT_LE(max_abs(linear->weight), std::sqrt(6.0 / (fan_in + fan_out))) << item.key();
    // Above LibTorch's bound 1/sqrt(fan_in): the initialiser took effect.
    EXPECT_GT(max_abs(linear->weight), 1.0 / std::sqrt(fan_in)) << item.key();
  }
  EXPECT_EQ(layers, 2);
  try {
    models::build_model(config::ConfigNode::parse("{type: mlp, kernel_initializer: nope}", "m"), 4,
                        2);
    FAIL() << "kernel_initializer: nope accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("kernel_initializer"), std::string::npos) << e.what();
  }
}

TEST(Initializers, SmartpixDropoutFirstOnly) {
  auto model = smartpix("{type: smartpix_model2, dropout_first_only: true}");
  const auto* m = model.ptr()->as<models::SmartpixModel2Impl>();
  EXPECT_DOUBLE_EQ(m->merged_drop1->options.p(), 0.1);
  EXPECT_DOUBLE_EQ(m->merged_drop2->options.p(), 0.0);
  EXPECT_DOUBLE_EQ(m->merged_drop3->options.p(), 0.0);
}

}  // namespace
}  // namespace lowbit::nn
