#include "lowbit/models/smartpix_model2.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <set>
#include <string>

#include "lowbit/data/smartpix.h"
#include "models/quantize_role.h"

namespace lowbit::models {
namespace {

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

// models/ sits above data/, so the model keeps its own copy of the feature layout.
TEST(SmartpixModel2, InputLayoutIsTheDataLayout) {
  EXPECT_EQ(SmartpixModel2Impl::kBranch1Features, data::kSmartpixBranch1Features);
  EXPECT_EQ(SmartpixModel2Impl::kBranch2Features, data::kSmartpixBranch2Features);
  EXPECT_EQ(SmartpixModel2Impl::kInputFeatures, data::kSmartpixFeatures);
}

TEST(SmartpixModel2, ShapeAndParameterCount) {
  torch::manual_seed(0);
  SmartpixModel2 model;
  const torch::Tensor y = model->forward(torch::randn({5, 36}));
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({5, 1}));
  EXPECT_TRUE(((y > 0) & (y < 1)).all().item<bool>());
  // 22*32+32 + 14*32+32 + 64*128+128 + 128*64+64 + 64*32+32 + 32+1 (seed 000/001 Model2).
  EXPECT_EQ(parameter_count(*model), 19905);
  EXPECT_THROW(model->forward(torch::randn({5, 35})), std::invalid_argument);
}

TEST(SmartpixModel2, SeedLayerNamesForWarmStart) {
  SmartpixModel2 model;
  std::set<std::string> names;
  for (const auto& p : model->named_parameters()) names.insert(p.key());
  for (const char* layer :
       {"xz_dense1", "yl_dense1", "merged_dense1", "merged_dense2", "merged_dense3", "output"}) {
    EXPECT_EQ(names.count(std::string(layer) + ".weight"), 1u) << layer;
    EXPECT_EQ(names.count(std::string(layer) + ".bias"), 1u) << layer;
  }
  const auto children = model->named_children();
  EXPECT_TRUE(children.contains("output_activation"));
  EXPECT_TRUE(children.contains("xz_act1"));
  EXPECT_TRUE(children.contains("merged_drop3"));
}

TEST(SmartpixModel2, BranchesReadTheirOwnColumns) {
  torch::manual_seed(1);
  SmartpixModel2 model(SmartpixModel2Options().dropout(0));
  model->eval();
  const torch::Tensor x = torch::randn({3, 36});
  torch::Tensor changed = x.clone();
  changed.narrow(1, 22, 14).add_(1.0);
  // The branch-1 activations do not move when only the branch-2 columns change.
  const torch::Tensor a = model->xz_dense1->forward(x.narrow(1, 0, 22));
  const torch::Tensor b = model->xz_dense1->forward(changed.narrow(1, 0, 22));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(model->forward(x), model->forward(changed)));
}

TEST(SmartpixModel2, QuantizedForwardBackward) {
  torch::manual_seed(2);
  SmartpixModel2 model(SmartpixModel2Options()
                           .weight_quant("lsq:bits=4")
                           .activation_quant("pact:bits=8")
                           .input_quant("lsq:bits=8"));
  EXPECT_TRUE(model->xz_dense1->weight_quant());
  EXPECT_TRUE(model->merged_act2->output_quant());
  EXPECT_TRUE(model->input_act->output_quant());
  const torch::Tensor x = torch::randn({8, 36});
  const torch::Tensor loss = model->forward_logits(x).pow(2).mean();
  loss.backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
  EXPECT_GT(model->merged_dense1->weight.grad().abs().sum().item<double>(), 0.0);
}

TEST(SmartpixModel2, QuantizersOnEveryLayer) {
  SmartpixModel2 model;
  EXPECT_EQ(testing::quantize_role(*model, "weights", "lsq:bits=2"), 6u);
  EXPECT_EQ(testing::quantize_role(*model, "biases", "lsq:bits=8"), 6u);
  // input_act, 2 branch + 3 merged activations, output_activation.
  EXPECT_EQ(testing::quantize_role(*model, "activations", "pact:bits=4"), 7u);
  EXPECT_TRUE(model->output->weight_quant());
  EXPECT_TRUE(model->output->bias_quant());
  EXPECT_TRUE(model->output_activation->output_quant());
  EXPECT_EQ(model->forward(torch::randn({2, 36})).sizes(), torch::IntArrayRef({2, 1}));
}

}  // namespace
}  // namespace lowbit::models
