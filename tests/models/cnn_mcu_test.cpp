#include "lowbit/models/cnn_mcu.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <vector>

#include "lowbit/nn/qconv2d.h"
#include "models/quantize_role.h"

namespace lowbit::models {
namespace {

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

TEST(CnnMcu, ShapesAndParameterCount16) {
  torch::manual_seed(0);
  CnnMcu model;
  EXPECT_EQ(model->forward(torch::randn({4, 1, 16, 16})).sizes(), torch::IntArrayRef({4, 10}));
  // conv1 1*16*9+16, depthwise conv2 16*9+16, fc1 16*4*4*64+64, fc 64*10+10.
  EXPECT_EQ(parameter_count(*model), 160 + 160 + 16448 + 650);
}

TEST(CnnMcu, Size28AndWidths) {
  torch::manual_seed(1);
  CnnMcu model(CnnMcuOptions().image_size(28).channels(8).hidden({32, 16}).classes(3));
  EXPECT_EQ(model->forward(torch::randn({2, 1, 28, 28})).sizes(), torch::IntArrayRef({2, 3}));
  // conv1 8*9+8, conv2 8*9+8, fc1 8*7*7*32+32, fc2 32*16+16, fc 16*3+3.
  EXPECT_EQ(parameter_count(*model), 80 + 80 + 12576 + 528 + 51);
  EXPECT_THROW(CnnMcu(CnnMcuOptions().image_size(3)), std::invalid_argument);
}

TEST(CnnMcu, FullConv2MixesChannelsAndSizesTheFc) {
  torch::manual_seed(2);
  CnnMcu model(CnnMcuOptions().channels(8).conv2_channels(24).hidden({28}).batch_norm(true));
  EXPECT_EQ(model->forward(torch::randn({3, 1, 16, 16})).sizes(), torch::IntArrayRef({3, 10}));
  auto conv2 = model->named_children()["conv2"]->as<nn::QConv2dImpl>();
  ASSERT_NE(conv2, nullptr);
  EXPECT_EQ(conv2->options.groups(), 1);
  EXPECT_EQ(conv2->weight.sizes(), torch::IntArrayRef({24, 8, 3, 3}));
  // conv1 8*9+8, bn1 2*8, conv2 24*8*9+24, bn2 2*24, fc1 24*4*4*28+28, fc 28*10+10.
  EXPECT_EQ(parameter_count(*model), 80 + 16 + 1752 + 48 + 10780 + 290);
  EXPECT_THROW(CnnMcu(CnnMcuOptions().conv2_channels(-1)), std::invalid_argument);
}

TEST(CnnMcu, ThirdStageShrinksTheFcInput) {
  torch::manual_seed(3);
  CnnMcu model(
      CnnMcuOptions().channels(8).conv2_channels(16).conv3_channels(24).hidden({}).batch_norm(
          true));
  EXPECT_EQ(model->forward(torch::randn({2, 1, 16, 16})).sizes(), torch::IntArrayRef({2, 10}));
  std::vector<std::string> names;
  for (const auto& child : model->named_children()) names.push_back(child.key());
  const std::vector<std::string> expected = {"input_act", "conv1", "bn1",   "act1",    "pool1",
                                             "conv2",     "bn2",   "act2",  "pool2",   "conv3",
                                             "bn3",       "act3",  "pool3", "flatten", "fc"};
  EXPECT_EQ(names, expected);
  // conv1 8*9+8, bn1 2*8, conv2 16*8*9+16, bn2 2*16, conv3 24*16*9+24, bn3 2*24, fc 24*2*2*10+10.
  EXPECT_EQ(parameter_count(*model), 80 + 16 + 1168 + 32 + 3480 + 48 + 970);
  // 8 x 8 images pool to 1 x 1 after three stages; 7 x 7 leave nothing.
  EXPECT_EQ(CnnMcu(CnnMcuOptions().image_size(8).conv3_channels(4))
                ->forward(torch::randn({1, 1, 8, 8}))
                .sizes(),
            torch::IntArrayRef({1, 10}));
  EXPECT_THROW(CnnMcu(CnnMcuOptions().image_size(7).conv3_channels(4)), std::invalid_argument);
  EXPECT_THROW(CnnMcu(CnnMcuOptions().conv3_channels(-1)), std::invalid_argument);
}

TEST(CnnMcu, FcBiasFalseDropsOnlyTheFullyConnectedBiases) {
  torch::manual_seed(4);
  CnnMcu model(CnnMcuOptions().channels(8).hidden({28}).fc_bias(false));
  EXPECT_EQ(model->forward(torch::randn({2, 1, 16, 16})).sizes(), torch::IntArrayRef({2, 10}));
  auto params = model->named_parameters();
  EXPECT_TRUE(params.contains("conv1.bias"));
  EXPECT_TRUE(params.contains("conv2.bias"));
  EXPECT_FALSE(params.contains("fc1.bias"));
  EXPECT_FALSE(params.contains("fc.bias"));
  // conv1 8*9+8, depthwise conv2 8*9+8, fc1 8*4*4*28, fc 28*10: no fc biases.
  EXPECT_EQ(parameter_count(*model), 80 + 80 + 3584 + 280);
}

TEST(CnnMcu, LayerNamesInOrderAndDepthwise) {
  CnnMcu model(CnnMcuOptions().hidden({32, 16}));
  std::vector<std::string> names;
  for (const auto& child : model->named_children()) names.push_back(child.key());
  const std::vector<std::string> expected = {"input_act", "conv1",   "act1",    "pool1", "conv2",
                                             "act2",      "pool2",   "flatten", "fc1",   "fc_act1",
                                             "fc2",       "fc_act2", "fc"};
  EXPECT_EQ(names, expected);
  auto conv2 = model->named_children()["conv2"]->as<nn::QConv2dImpl>();
  ASSERT_NE(conv2, nullptr);
  EXPECT_EQ(conv2->options.groups(), 16);
  EXPECT_EQ(conv2->weight.sizes(), torch::IntArrayRef({16, 1, 3, 3}));
}

TEST(CnnMcu, QuantizedForwardBackwardAndClone) {
  torch::manual_seed(2);
  CnnMcu model(CnnMcuOptions().weight_quant("lsq:bits=4").activation_quant("pact:bits=8"));
  const torch::Tensor x = torch::randn({3, 1, 16, 16});
  model->forward(x).pow(2).mean().backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
  // A clone runs its own layers: changing the clone's weights leaves the original's output.
  model->eval();
  const torch::Tensor before = model->forward(x);
  auto copy = std::dynamic_pointer_cast<CnnMcuImpl>(model->clone());
  {
    torch::NoGradGuard no_grad;
    for (auto& p : copy->parameters()) p.zero_();
  }
  EXPECT_TRUE(torch::equal(model->forward(x), before));
  EXPECT_FALSE(torch::equal(copy->forward(x), before));
}

TEST(CnnMcu, QuantizersOnEveryLayer) {
  CnnMcu model;
  EXPECT_EQ(testing::quantize_role(*model, "weights", "lsq:bits=2"), 4u);
  EXPECT_EQ(testing::quantize_role(*model, "activations", "pact:bits=4"), 4u);
  EXPECT_EQ(model->forward(torch::randn({2, 1, 16, 16})).sizes(), torch::IntArrayRef({2, 10}));
}

}  // namespace
}  // namespace lowbit::models
