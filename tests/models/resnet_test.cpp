#include "lowbit/models/resnet.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

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

TEST(ResNet, DescribesBranchesShortcutsAndAddsAsAGraph) {
  ResNet model(ResNetOptions().widths({4, 8, 8}).blocks({2, 1, 1}));
  const ModelGraph graph = model_graph(*model);
  std::vector<std::string> names;
  for (const GraphNode& node : graph) names.push_back(node.name);
  // Stem 4 + (5 + add) x 2 identity blocks + (5 + 2 shortcut + add) x 2 + avgpool + fc.
  ASSERT_EQ(graph.size(), 4u + 6 * 2 + 8 * 2 + 2);
  EXPECT_EQ(names.front(), "input_act");
  EXPECT_EQ(names[names.size() - 2], "avgpool");
  EXPECT_EQ(names.back(), "fc");
  const auto find = [&](const std::string& name) -> const GraphNode& {
    for (const GraphNode& node : graph) {
      if (node.name == name) return node;
    }
    throw std::runtime_error("no node " + name);
  };
  // Identity shortcut: the block's input is the previous block's add (or the stem).
  EXPECT_EQ(find("layer1.0.conv1").inputs, (std::vector<std::string>{"act1"}));
  EXPECT_EQ(find("layer1.1.add").inputs,
            (std::vector<std::string>{"layer1.1.bn2", "layer1.0.add"}));
  // Projection: the strided 1x1 conv reads the block input, the add reads its batch norm.
  EXPECT_EQ(find("layer2.0.shortcut.0").inputs, (std::vector<std::string>{"layer1.1.add"}));
  EXPECT_EQ(find("layer2.0.add").inputs,
            (std::vector<std::string>{"layer2.0.bn2", "layer2.0.shortcut.1"}));
  const GraphNode& add = find("layer3.0.add");
  EXPECT_EQ(add.kind, NodeKind::kAdd);
  EXPECT_EQ(add.module.get(), model->stages[2]->ptr<BasicBlockImpl>(0)->act2.get());
  // The registered global average pool gives what mean({2, 3}) gives.
  const torch::Tensor x = torch::randn({2, 8, 5, 3});
  EXPECT_TRUE(torch::allclose(model->avgpool->forward(x).flatten(1), x.mean({2, 3})));
}

}  // namespace
}  // namespace lowbit::models
