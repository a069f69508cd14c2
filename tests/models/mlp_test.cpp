#include "lowbit/models/mlp.h"

#include <gtest/gtest.h>

#include "lowbit/models/model.h"
#include "lowbit/nn/qactivation.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::models {
namespace {

std::vector<std::string> names(torch::nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& item : m.named_children()) out.push_back(item.key());
  return out;
}

TEST(Mlp, LayersAreNamedAndShapedFromTheConfig) {
  torch::manual_seed(1);
  auto model = build_model(
      lowbit::config::ConfigNode::parse(
          "{type: mlp, widths: [8, 4], norm: rms, output_activation: sigmoid}", "m.yaml"),
      6, 3);
  EXPECT_EQ(names(*model.ptr()), (std::vector<std::string>{"fc1", "norm1", "act1", "fc2", "norm2",
                                                           "act2", "fc3", "act_out"}));
  auto fc1 = std::dynamic_pointer_cast<nn::QLinearImpl>(model.ptr()->named_children()["fc1"]);
  ASSERT_TRUE(fc1);
  EXPECT_EQ(fc1->weight.sizes(), (std::vector<int64_t>{8, 6}));
  torch::Tensor y = model.forward(torch::randn({5, 2, 3}));  // flattened to 6 features
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{5, 3}));
  EXPECT_TRUE((y > 0).all().item<bool>() && (y < 1).all().item<bool>());
}

TEST(Mlp, NoHiddenLayersIsOneLinearLayer) {
  Mlp mlp(MlpOptions{3, {}, 2, "relu", "none", "none", false});
  EXPECT_EQ(names(*mlp), (std::vector<std::string>{"fc1"}));
  EXPECT_EQ(mlp->parameters().size(), 1u);  // no bias
}

TEST(Mlp, ConfigErrors) {
  EXPECT_THROW(build_model(lowbit::config::ConfigNode::parse("{type: lstm}", "m.yaml"), 2, 1),
               lowbit::config::ConfigError);
  EXPECT_THROW(
      build_model(lowbit::config::ConfigNode::parse("{type: mlp, norm: group}", "m.yaml"), 2, 1),
      lowbit::config::ConfigError);
  EXPECT_THROW(
      build_model(lowbit::config::ConfigNode::parse("{type: mlp, width: [3]}", "m.yaml"), 2, 1),
      lowbit::config::ConfigError);
  EXPECT_THROW(
      build_model(lowbit::config::ConfigNode::parse("{type: mlp, widths: [0]}", "m.yaml"), 2, 1),
      lowbit::config::ConfigError);
}

}  // namespace
}  // namespace lowbit::models
