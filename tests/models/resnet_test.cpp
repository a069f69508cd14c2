#include "lowbit/models/resnet.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <set>
#include <string>

#include "models/quantize_role.h"

namespace lowbit::models {
namespace {

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

TEST(ResNet, ResNet20ParametersAndShape) {
  torch::manual_seed(0);
  ResNet model = resnet20();
  // 269,722 of the paper's option A plus two 1x1 projections with BN (16*32 + 32*64 + 2*96).
  EXPECT_EQ(parameter_count(*model), 272474);
  EXPECT_EQ(model->forward(torch::randn({2, 3, 32, 32})).sizes(), torch::IntArrayRef({2, 10}));
}

TEST(ResNet, ResNet18ParametersAndShape) {
  torch::manual_seed(1);
  ResNet model = resnet18(ResNetOptions().classes(100));
  // The CIFAR ResNet-18 (3x3 stem, no max pool) has 11,173,962 parameters with 10 classes.
  EXPECT_EQ(parameter_count(*model), 11173962 + 90 * 512 + 90);
  model->eval();
  EXPECT_EQ(model->forward(torch::randn({1, 3, 32, 32})).sizes(), torch::IntArrayRef({1, 100}));
}

TEST(ResNet, StableLayerNames) {
  ResNet model = resnet20();
  std::set<std::string> names;
  for (const auto& p : model->named_parameters()) names.insert(p.key());
  for (const char* name :
       {"conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer2.0.shortcut.0.weight",
        "layer3.2.conv2.weight", "fc.weight", "fc.bias"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
  EXPECT_EQ(names.count("layer1.0.shortcut.0.weight"), 0u);
  EXPECT_THROW(ResNet(ResNetOptions().blocks({1, 1}).widths({8})), std::invalid_argument);
}

TEST(ResNet, QuantizedForwardBackwardOnEveryLayer) {
  torch::manual_seed(2);
  ResNet model = resnet20(ResNetOptions().input_quant("lsq:bits=8"));
  // stem + 18 block convs + 2 projections + fc.
  EXPECT_EQ(testing::quantize_role(*model, "weights", "lsq:bits=2"), 22u);
  // input_act, stem act1, two per block.
  EXPECT_EQ(testing::quantize_role(*model, "activations", "lsq:bits=4,signed=0"), 20u);
  EXPECT_TRUE(model->conv1->weight_quant());
  EXPECT_TRUE(model->fc->weight_quant());
  model->forward(torch::randn({2, 3, 32, 32})).pow(2).mean().backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
}

}  // namespace
}  // namespace lowbit::models
