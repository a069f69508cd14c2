#include "lowbit/models/graph.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>

#include <memory>
#include <string>
#include <vector>

#include "lowbit/models/mlp.h"
#include "lowbit/models/smartpix_model2.h"
#include "lowbit/nn/qactivation.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::models {
namespace {

std::vector<std::string> names(const ModelGraph& graph) {
  std::vector<std::string> out;
  for (const GraphNode& node : graph) out.push_back(node.name);
  return out;
}

TEST(ModelGraph, AChainIsItsChildrenInOrderWithSequentialsWalkedInto) {
  torch::nn::Sequential inner(nn::QLinear(4, 3), nn::QActivation(nn::QActivationOptions("relu")));
  auto net = std::make_shared<torch::nn::Module>();
  net->register_module("in", nn::QActivation(nn::QActivationOptions("none")));
  net->register_module("block", inner);
  net->register_module("drop", torch::nn::Dropout(0.5));
  net->register_module("out", nn::QLinear(3, 2));
  const ModelGraph graph = model_graph(*net);
  EXPECT_EQ(names(graph), (std::vector<std::string>{"in", "block.0", "block.1", "drop", "out"}));
  for (const GraphNode& node : graph) {
    EXPECT_EQ(node.kind, NodeKind::kModule) << node.name;
    EXPECT_TRUE(node.inputs.empty()) << node.name;  // each reads the node before it
    EXPECT_FALSE(node.host);
    ASSERT_TRUE(node.module) << node.name;
  }
  EXPECT_EQ(graph[1].module.get(), inner[0].get());
}

TEST(ModelGraph, MlpIsAChainOfItsLayers) {
  MlpOptions options;
  options.in_features = 4;
  options.widths = {5};
  options.num_outputs = 2;
  Mlp mlp(options);
  std::vector<std::string> children;
  for (const auto& child : mlp->named_children()) children.push_back(child.key());
  EXPECT_EQ(names(model_graph(*mlp)), children);
}

TEST(ModelGraph, SmartpixModel2DescribesItsBranchesAndConcat) {
  SmartpixModel2 model;
  const ModelGraph graph = model_graph(*model);
  EXPECT_EQ(names(graph),
            (std::vector<std::string>{"input_act", "xz_slice", "xz_dense1", "xz_act1", "yl_slice",
                                      "yl_dense1", "yl_act1", "concat", "merged_dense1",
                                      "merged_act1", "merged_drop1", "merged_dense2", "merged_act2",
                                      "merged_drop2", "merged_dense3", "merged_act3",
                                      "merged_drop3", "output", "output_activation"}));
  const GraphNode& xz = graph[1];
  EXPECT_EQ(xz.kind, NodeKind::kSlice);
  EXPECT_EQ(xz.inputs, std::vector<std::string>{"input_act"});
  EXPECT_EQ(xz.offset, 0);
  EXPECT_EQ(xz.length, SmartpixModel2Impl::kBranch1Features);
  const GraphNode& yl = graph[4];
  EXPECT_EQ(yl.offset, SmartpixModel2Impl::kBranch1Features);
  EXPECT_EQ(yl.length, SmartpixModel2Impl::kBranch2Features);
  EXPECT_EQ(graph[7].kind, NodeKind::kConcat);
  EXPECT_EQ(graph[7].inputs, (std::vector<std::string>{"xz_act1", "yl_act1"}));
  EXPECT_EQ(graph[2].module.get(), model->xz_dense1.ptr().get());
  // The sigmoid on the logit is the host's; any other output activation is part of the model.
  EXPECT_TRUE(graph.back().host);
  SmartpixModel2 hard(SmartpixModel2Options{});
  hard->output_activation->options.function("hard_sigmoid");
  EXPECT_FALSE(model_graph(*hard).back().host);
}

}  // namespace
}  // namespace lowbit::models
