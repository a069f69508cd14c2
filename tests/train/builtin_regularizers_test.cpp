#include "lowbit/train/regularizers/builtin_regularizers.h"

#include <gtest/gtest.h>

#include "lowbit/models/mlp.h"
#include "lowbit/nn/qactivation.h"
#include "lowbit/train/quantize/quantize_model.h"
#include "lowbit/train/regularizers/bin_regularization.h"
#include "lowbit/train/regularizers/compression.h"
#include "lowbit/train/regularizers/quant_error.h"

namespace lowbit::train {
namespace {

torch::nn::AnyModule quantized_mlp(const std::string& weights, const std::string& activations) {
  torch::manual_seed(3);
  models::MlpOptions options;
  options.in_features = 4;
  options.widths = {8};
  options.num_outputs = 3;
  torch::nn::AnyModule model{models::Mlp(options)};
  QuantizationConfig q;
  q.weights = weights;
  q.activations = activations;
  quantize_model(*model.ptr(), q);
  return model;
}

std::shared_ptr<Regularizer> make(const std::string& yaml) {
  return make_regularizer(config::ConfigNode::parse(yaml, "stage.yaml"));
}

TEST(BuiltinRegularizers, AreListedWithTheRegistry) {
  const std::vector<std::string> types = regularizer_types();
  for (const char* type : {"bin", "compression", "quant_error"}) {
    EXPECT_NE(std::find(types.begin(), types.end(), type), types.end()) << type;
  }
}

TEST(BuiltinRegularizers, BinIsLambdaTimesTheWeightBrFromItsStartEpoch) {
  torch::nn::AnyModule model = quantized_mlp("lsq:bits=2", "");
  auto bin = make("{type: bin, lambda: 2.5, start_epoch: 3}");
  EXPECT_EQ(bin->name(), "bin");
  EXPECT_EQ(bin->penalty(*model.ptr(), 2).item<double>(), 0.0);
  BinRegularizerOptions options;
  options.lambda_weight = 2.5;
  const double expected = BinRegularizer(*model.ptr(), options).weight_loss().item<double>();
  EXPECT_GT(expected, 0.0);
  EXPECT_DOUBLE_EQ(bin->penalty(*model.ptr(), 3).item<double>(), expected);
}

TEST(BuiltinRegularizers, BinWithActivationsRecordsTheForwardAndAddsItsTerm) {
  torch::nn::AnyModule model = quantized_mlp("lsq:bits=2", "lsq:bits=2,signed=0");
  auto weights_only = make("{type: bin, lambda: 1}");
  auto both = make("{type: bin, lambda: 1, lambda_act: 0.5}");
  both->attach(*model.ptr());
  model.forward(torch::randn({16, 4}));
  BinRegularizerOptions options;
  options.lambda_activation = 0.5;
  const double activation =
      BinRegularizer(*model.ptr(), options).recorded_activation_loss().item<double>();
  EXPECT_GT(activation, 0.0);
  EXPECT_NEAR(both->penalty(*model.ptr(), 0).item<double>(),
              weights_only->penalty(*model.ptr(), 0).item<double>() + activation, 1e-6);
}

TEST(BuiltinRegularizers, QuantErrorAndCompressionAreWeighted) {
  torch::nn::AnyModule model = quantized_mlp("uniform:bits=2", "");
  EXPECT_DOUBLE_EQ(make("{type: quant_error, weight: 4}")->penalty(*model.ptr(), 0).item<double>(),
                   4 * quantization_error(*model.ptr()).item<double>());
  torch::nn::AnyModule compressed = quantized_mlp("selfcompress:bits=6", "");
  auto compression = make("{type: compression, weight: 0.5}");
  EXPECT_DOUBLE_EQ(compression->penalty(*compressed.ptr(), 0).item<double>(), 3.0);
  // The penalty backpropagates into the bit depths.
  compression->penalty(*compressed.ptr(), 0).backward();
  bool has_gradient = false;
  for (const auto& p : compressed.ptr()->named_parameters()) {
    if (p.value().grad().defined() && p.value().grad().abs().sum().item<double>() > 0) {
      has_gradient = true;
    }
  }
  EXPECT_TRUE(has_gradient);
}

TEST(BuiltinRegularizers, BadKeysAreNamed) {
  try {
    make("{type: bin, lambda_br: 1}");
    FAIL() << "expected config::ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("lambda_br"), std::string::npos);
  }
  try {
    make("{type: quant_error, weight: -1}");
    FAIL() << "expected config::ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("weight"), std::string::npos);
  }
}

}  // namespace
}  // namespace lowbit::train
