#include "lowbit/nn/quantized_layer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lowbit/nn/qactivation.h"
#include "lowbit/nn/qconv2d.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::nn {
namespace {

std::vector<std::string> roles(const QuantizedLayer& layer) {
  std::vector<std::string> names;
  for (const SlotRole& s : layer.slot_roles()) names.push_back(s.role);
  return names;
}

TEST(QuantizedLayer, EveryKindIsFoundThroughTheBaseWithItsSlots) {
  QLinear linear(3, 2);
  QConv2d conv(QConv2dOptions(1, 2, 3));
  QActivation act(QActivationOptions("relu"));
  const std::vector<std::string> weight_roles = {"weights", "biases", "inputs", "outputs"};
  auto* l = linear.ptr()->as<QuantizedLayer>();
  auto* c = conv.ptr()->as<QuantizedLayer>();
  auto* a = act.ptr()->as<QuantizedLayer>();
  ASSERT_TRUE(l && c && a);
  EXPECT_STREQ(l->kind(), "QLinear");
  EXPECT_STREQ(c->kind(), "QConv2d");
  EXPECT_STREQ(a->kind(), "QActivation");
  EXPECT_EQ(roles(*l), weight_roles);
  EXPECT_EQ(roles(*c), weight_roles);
  EXPECT_EQ(roles(*a), std::vector<std::string>{"activations"});
  EXPECT_TRUE(l->weight_tensor().is_same(linear->weight));
  EXPECT_TRUE(c->bias_tensor().is_same(conv->bias));
  EXPECT_FALSE(a->weight_tensor().defined());
}

TEST(QuantizedLayer, SetQuantizerRegistersTheSubmoduleAndRecordsTheSpec) {
  QLinear linear(3, 2);
  QuantizedLayer& layer = *linear.ptr();
  layer.set_quantizer(QuantSlot::kWeights, "uniform:bits=4");
  layer.set_quantizer(QuantSlot::kInputs, "uniform:bits=8");
  ASSERT_TRUE(linear->weight_quant());
  EXPECT_EQ(linear->weight_quant()->bits(), 4);
  EXPECT_EQ(linear->options.weight_quant(), "uniform:bits=4");
  EXPECT_TRUE(linear->named_children().contains("weight_quant"));
  EXPECT_TRUE(linear->named_children().contains("input_quant"));
  // The quantized weight is the weight quantizer's output.
  EXPECT_TRUE(
      torch::equal(layer.quantized_weight(), linear->weight_quant()->forward(linear->weight)));
  // A clone rebuilds the quantizers from the recorded SPECs.
  auto copy = std::dynamic_pointer_cast<QLinearImpl>(linear->clone());
  ASSERT_TRUE(copy->weight_quant());
  EXPECT_NE(copy->weight_quant().get(), linear->weight_quant().get());
  EXPECT_EQ(copy->weight_quant()->bits(), 4);
  // Removing it removes the submodule.
  layer.set_quantizer(QuantSlot::kWeights, "");
  EXPECT_FALSE(linear->weight_quant());
  EXPECT_FALSE(linear->named_children().contains("weight_quant"));
  EXPECT_EQ(linear->options.weight_quant(), "");
  EXPECT_TRUE(torch::equal(layer.quantized_weight(), linear->weight));
}

TEST(QuantizedLayer, SlotsAKindLacksAndBiasesWithoutBiasAreErrors) {
  QActivation act(QActivationOptions("relu"));
  try {
    act->set_quantizer(QuantSlot::kWeights, "uniform:bits=4");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("QActivation has no weight_quant slot"), std::string::npos)
        << e.what();
  }
  act->set_quantizer(QuantSlot::kWeights, "");  // nothing to remove: no error
  act->set_quantizer(QuantSlot::kOutputs, "uniform:bits=4,signed=0");
  EXPECT_EQ(act->options.output_quant(), "uniform:bits=4,signed=0");

  QConv2d conv(QConv2dOptions(1, 2, 3).bias(false));
  EXPECT_THROW(conv->set_bias_quant("uniform:bits=8"), std::invalid_argument);
  EXPECT_FALSE(conv->bias_quant());
  // A bad SPEC leaves the slot as it was.
  conv->set_weight_quant("uniform:bits=2");
  EXPECT_ANY_THROW(conv->set_weight_quant("uniform:bits=99"));
  ASSERT_TRUE(conv->weight_quant());
  EXPECT_EQ(conv->weight_quant()->bits(), 2);
}

TEST(QuantizedLayer, AddBiasOnAKindWithoutWeightsIsALogicError) {
  QActivation act(QActivationOptions("relu"));
  EXPECT_THROW(act->add_bias(torch::zeros({2})), std::logic_error);
  QLinear linear(QLinearOptions(3, 2).bias(false));
  linear->add_bias(torch::ones({2}));
  EXPECT_TRUE(linear->bias_tensor().defined());
  EXPECT_TRUE(torch::equal(linear->bias, torch::ones({2})));
}

}  // namespace
}  // namespace lowbit::nn
