#include "lowbit/train/quantize/quantize_model.h"

#include <gtest/gtest.h>

#include "lowbit/models/mlp.h"
#include "lowbit/nn/qactivation.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::train {
namespace {

models::Mlp three_layers() {
  torch::manual_seed(1);
  models::MlpOptions options;
  options.in_features = 4;
  options.widths = {6, 5};
  options.num_outputs = 3;
  return models::Mlp(options);
}

std::shared_ptr<nn::QLinearImpl> linear(models::Mlp& mlp, const std::string& name) {
  return std::dynamic_pointer_cast<nn::QLinearImpl>(mlp->named_modules("", false)[name]);
}

QuantizationConfig config_with_overrides() {
  QuantizationConfig config;
  config.weights = "uniform:bits=4";
  config.activations = "uniform:bits=8,signed=0";
  LayerQuantOverride last;
  last.pattern = "fc3";
  last.weights = "uniform:bits=6";
  last.biases = "uniform:bits=8";
  LayerQuantOverride second;
  second.pattern = "*2";
  second.weights = "";  // full precision
  second.activations = "uniform:bits=2,signed=0";
  LayerQuantOverride typo;
  typo.pattern = "fc9*";
  typo.weights = "uniform:bits=1";
  config.layers = {last, second, typo};
  return config;
}

TEST(QuantizeModel, DefaultsAndGlobOverrides) {
  models::Mlp mlp = three_layers();
  QuantizationReport report = quantize_model(*mlp, config_with_overrides());
  ASSERT_TRUE(linear(mlp, "fc1")->weight_quant());
  EXPECT_EQ(linear(mlp, "fc1")->weight_quant()->bits(), 4);
  EXPECT_FALSE(linear(mlp, "fc1")->bias_quant());
  EXPECT_FALSE(linear(mlp, "fc2")->weight_quant());
  EXPECT_EQ(linear(mlp, "fc3")->weight_quant()->bits(), 6);
  EXPECT_EQ(linear(mlp, "fc3")->bias_quant()->bits(), 8);
  auto act1 = std::dynamic_pointer_cast<nn::QActivationImpl>(mlp->named_modules("", false)["act1"]);
  auto act2 = std::dynamic_pointer_cast<nn::QActivationImpl>(mlp->named_modules("", false)["act2"]);
  EXPECT_EQ(act1->output_quant()->bits(), 8);
  EXPECT_EQ(act2->output_quant()->bits(), 2);

  ASSERT_EQ(report.layers.size(), 5u);  // fc1, act1, fc2, act2, fc3
  EXPECT_EQ(report.layers[0].layer, "fc1");
  EXPECT_EQ(report.layers[0].kind, "QLinear");
  EXPECT_EQ(report.layers[1].kind, "QActivation");
  EXPECT_EQ(report.layers[4].specs.biases, "uniform:bits=8");
  const std::string text = report.text();
  EXPECT_NE(text.find("  fc1 (QLinear): weights=uniform:bits=4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  fc2 (QLinear): fp\n"), std::string::npos) << text;
  EXPECT_NE(text.find("override 'fc9*' matches no layer"), std::string::npos) << text;
  ASSERT_EQ(report.unmatched_patterns.size(), 1u);

  // Applying another stage's quantization replaces the previous one.
  quantize_model(*mlp, QuantizationConfig{});
  EXPECT_FALSE(linear(mlp, "fc1")->weight_quant());
  EXPECT_EQ(bits_summary(*mlp), "fp");
}

TEST(QuantizeModel, ResolveLayerSpecsLaterMatchWins) {
  QuantizationConfig config = config_with_overrides();
  LayerQuantOverride all;
  all.pattern = "fc*";
  all.inputs = "uniform:bits=8";
  config.layers.push_back(all);
  LayerSpecs fc3 = resolve_layer_specs(config, "fc3");
  EXPECT_EQ(fc3.weights, "uniform:bits=6");
  EXPECT_EQ(fc3.inputs, "uniform:bits=8");
  LayerSpecs block = resolve_layer_specs(config, "block.fc2");
  EXPECT_EQ(block.weights, "");
  EXPECT_EQ(resolve_layer_specs(config, "fc1").weights, "uniform:bits=4");
}

TEST(QuantizeModel, EventsFindSlotsByGlobAndRole) {
  models::Mlp mlp = three_layers();
  quantize_model(*mlp, config_with_overrides());
  EXPECT_EQ(find_quantizer_slots(*mlp, "fc*", "weights").size(), 3u);
  EXPECT_EQ(find_quantizer_slots(*mlp, "act*", "all").size(), 2u);
  EpochEvent bits;
  bits.action = EventAction::kSetBits;
  bits.bits = 3;
  bits.role = "weights";
  EXPECT_EQ(apply_quantizer_event(*mlp, bits),
            "set 3 bits on 2 quantizer(s) of layers '*' (weights)");  // fc2 has none
  EXPECT_EQ(linear(mlp, "fc1")->weight_quant()->bits(), 3);
  EXPECT_EQ(linear(mlp, "fc3")->weight_quant()->bits(), 3);
  EXPECT_EQ(linear(mlp, "fc3")->bias_quant()->bits(), 8);

  EpochEvent sw;
  sw.action = EventAction::kSwitchQuantizer;
  sw.layers = "fc2";
  sw.role = "weights";
  sw.spec = "ternary";
  apply_quantizer_event(*mlp, sw);
  ASSERT_TRUE(linear(mlp, "fc2")->weight_quant());
  EXPECT_EQ(linear(mlp, "fc2")->weight_quant()->spec().type(), "ternary");

  EpochEvent freeze;
  freeze.action = EventAction::kFreeze;
  freeze.layers = "fc1";
  apply_quantizer_event(*mlp, freeze);
  EXPECT_TRUE(linear(mlp, "fc1")->weight_quant()->frozen());
  EXPECT_FALSE(linear(mlp, "fc3")->weight_quant()->frozen());

  EpochEvent none = bits;
  none.layers = "nothing*";
  EXPECT_THROW(apply_quantizer_event(*mlp, none), std::invalid_argument);
}

TEST(QuantizeModel, WeightBytesCountEachTensorAtItsBits) {
  models::Mlp mlp = three_layers();
  quantize_model(*mlp, config_with_overrides());
  // fc1 4x6 at 4 bits + 6 biases at 32; fc2 6x5 + 5 at 32; fc3 5x3 at 6 + 3 biases at 8.
  const int64_t bits = 24 * 4 + 6 * 32 + (30 + 5) * 32 + 15 * 6 + 3 * 8;
  EXPECT_EQ(weight_bytes(*mlp), (bits + 7) / 8);
  EXPECT_EQ(bits_summary(*mlp), "w4/6/8 a2/8");
}

}  // namespace
}  // namespace lowbit::train
