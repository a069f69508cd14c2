#include "lowbit/train/methods/pruning.h"

#include <gtest/gtest.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "lowbit/nn/qconv2d.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::train {
namespace {

torch::nn::Sequential small_model() {
  return torch::nn::Sequential(
      nn::QConv2d(nn::QConv2dOptions(2, 4, 3).weight_quant("uniform:bits=4")),  // 72 weights
      nn::QLinear(nn::QLinearOptions(10, 7).weight_quant("uniform:bits=4")),    // 70 weights
      nn::QLinear(nn::QLinearOptions(7, 3)));                                   // 21 weights
}

int64_t zeros(const torch::Tensor& t) {
  return (t == 0).sum().item<int64_t>();
}

TEST(SparsitySchedule, CubicFormula) {
  SparsitySchedule s;
  s.initial = 0.1;
  s.final = 0.8;
  s.begin = 2;
  s.end = 12;
  s.frequency = 2;
  EXPECT_EQ(scheduled_sparsity(s, 0), 0.0);
  EXPECT_DOUBLE_EQ(scheduled_sparsity(s, 2), 0.1);
  // t = 5 uses the last update step 4: progress 0.2.
  EXPECT_DOUBLE_EQ(scheduled_sparsity(s, 5), 0.8 + (0.1 - 0.8) * std::pow(0.8, 3));
  EXPECT_DOUBLE_EQ(scheduled_sparsity(s, 4), scheduled_sparsity(s, 5));
  EXPECT_DOUBLE_EQ(scheduled_sparsity(s, 10), 0.8 + (0.1 - 0.8) * std::pow(0.2, 3));
  EXPECT_EQ(scheduled_sparsity(s, 12), 0.8);
  EXPECT_EQ(scheduled_sparsity(s, 100), 0.8);
  for (int64_t t = 2; t < 12; ++t)
    EXPECT_LE(scheduled_sparsity(s, t), scheduled_sparsity(s, t + 1));
  s.end = 2;
  EXPECT_THROW(scheduled_sparsity(s, 3), std::invalid_argument);
}

TEST(Pruner, PerLayerReachesExactCountsAndPrunesSmallest) {
  torch::manual_seed(11);
  auto model = small_model();
  Pruner pruner(*model, PruneScope::kLayer);
  ASSERT_EQ(pruner.masks().size(), 3u);
  const torch::Tensor before = pruner.masks()[1].weight.detach().clone();
  pruner.prune_to(0.5);
  EXPECT_EQ(pruner.pruned_counts(), (std::vector<int64_t>{36, 35, 10}));
  for (const auto& m : pruner.masks()) {
    EXPECT_EQ(zeros(m.weight), m.mask.numel() - m.mask.sum().item<int64_t>());
  }
  // Every kept magnitude is at least every pruned one.
  const auto& mask = pruner.masks()[1].mask;
  EXPECT_GE(before.abs().masked_select(mask).min().item<float>(),
            before.abs().masked_select(mask.logical_not()).max().item<float>());
  pruner.prune_to(0.75);
  EXPECT_EQ(pruner.pruned_counts(), (std::vector<int64_t>{54, 52, 15}));
  // Masks never shrink.
  pruner.prune_to(0.1);
  EXPECT_EQ(pruner.pruned_counts(), (std::vector<int64_t>{54, 52, 15}));
  EXPECT_THROW(pruner.prune_to(1.0), std::invalid_argument);
}

TEST(Pruner, GlobalUsesOneThreshold) {
  torch::manual_seed(12);
  auto model = small_model();
  Pruner pruner(*model, PruneScope::kGlobal);
  std::vector<torch::Tensor> before;
  for (const auto& m : pruner.masks()) before.push_back(m.weight.detach().abs().reshape({-1}));
  pruner.prune_to(0.6);
  const auto counts = pruner.pruned_counts();
  EXPECT_EQ(counts[0] + counts[1] + counts[2], static_cast<int64_t>(std::floor(0.6 * 163)));
  double kept_min = 1e9;
  double pruned_max = 0.0;
  for (size_t i = 0; i < before.size(); ++i) {
    const torch::Tensor m = pruner.masks()[i].mask.reshape({-1});
    if (m.any().item<bool>())
      kept_min = std::min(kept_min, before[i].masked_select(m).min().item<double>());
    if (m.logical_not().any().item<bool>()) {
      pruned_max =
          std::max(pruned_max, before[i].masked_select(m.logical_not()).max().item<double>());
    }
  }
  EXPECT_GE(kept_min, pruned_max);
  // Layers initialised with different scales lose different fractions.
  EXPECT_NE(counts[0] * 70, counts[1] * 72);
}

TEST(Pruner, PrunedWeightsStayZeroThroughSgdWithMomentum) {
  torch::manual_seed(13);
  auto model = small_model();
  torch::optim::SGD optimizer(model->parameters(),
                              torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-3));
  auto step = [&](Pruner* pruner) {
    optimizer.zero_grad();
    torch::Tensor x = torch::randn({4, 2, 4, 4});
    torch::Tensor h = model[0]->as<nn::QConv2d>()->forward(x).reshape({4, -1}).slice(1, 0, 10);
    torch::Tensor y = model[2]->as<nn::QLinear>()->forward(model[1]->as<nn::QLinear>()->forward(h));
    y.pow(2).mean().backward();
    if (pruner != nullptr) pruner->mask_gradients();
    optimizer.step();
    if (pruner != nullptr) pruner->apply_masks();
  };
  // Build momentum before pruning so that pruned weights carry velocity.
  for (int i = 0; i < 3; ++i) step(nullptr);
  Pruner pruner(*model, PruneScope::kLayer);
  pruner.prune_to(0.5);
  const auto counts = pruner.pruned_counts();
  for (int i = 0; i < 5; ++i) step(&pruner);
  for (size_t i = 0; i < pruner.masks().size(); ++i) {
    const auto& m = pruner.masks()[i];
    EXPECT_EQ(m.weight.detach().masked_select(m.mask.logical_not()).abs().max().item<float>(),
              0.0f);
    EXPECT_EQ(zeros(m.weight), counts[i]);  // kept weights still train and are non-zero
  }
  // Masking gradients alone is not enough: the momentum from before pruning moves them.
  Pruner late(*model, PruneScope::kLayer);
  for (int i = 0; i < 3; ++i) step(nullptr);
  late.prune_to(0.9);
  optimizer.zero_grad();
  late.mask_gradients();
  optimizer.step();
  const auto& m0 = late.masks()[0];
  EXPECT_GT(m0.weight.detach().masked_select(m0.mask.logical_not()).abs().max().item<float>(),
            0.0f);
  late.apply_masks();
  EXPECT_EQ(m0.weight.detach().masked_select(m0.mask.logical_not()).abs().max().item<float>(),
            0.0f);
  // The quantized weights of pruned positions are exactly zero (code 0 on export).
  const auto& conv = model[0]->as<nn::QConv2d>();
  EXPECT_EQ(conv->quantized_weight()
                .masked_select(pruner.masks()[0].mask.logical_not())
                .abs()
                .max()
                .item<float>(),
            0.0f);
}

TEST(Pruner, ChannelGroupsByL1) {
  auto model = torch::nn::Sequential(nn::QLinear(nn::QLinearOptions(2, 6).bias(false)));
  torch::Tensor w = model[0]->as<nn::QLinear>()->weight;
  {
    torch::NoGradGuard no_grad;
    // Group L1 norms with group_size 2: rows {0,1} -> 10, {2,3} -> 1, {4,5} -> 5.
    w.copy_(torch::tensor({{1., 2.}, {3., 4.}, {0.25, 0.25}, {0.25, 0.25}, {1., 1.5}, {1., 1.5}}));
  }
  Pruner pruner(*model, PruneScope::kLayer);
  pruner.prune_channel_groups(0.5, 2);  // floor(0.5 * 3) = 1 group
  EXPECT_TRUE(torch::equal(w.detach().sum(1) == 0,
                           torch::tensor({false, false, true, true, false, false})));
  pruner.prune_channel_groups(0.7, 2);  // 2 groups: {2,3} again (L1 now 0), then {4,5}
  EXPECT_TRUE(
      torch::equal(w.detach().sum(1) == 0, torch::tensor({false, false, true, true, true, true})));
  EXPECT_THROW(pruner.prune_channel_groups(0.5, 0), std::invalid_argument);
}

TEST(Pruner, RewindKeepsMasks) {
  torch::manual_seed(14);
  auto model = small_model();
  Pruner pruner(*model, PruneScope::kLayer);
  EXPECT_THROW(pruner.rewind(), std::logic_error);
  pruner.save_rewind_point();
  const torch::Tensor initial = pruner.masks()[1].weight.detach().clone();
  {
    torch::NoGradGuard no_grad;
    pruner.masks()[1].weight.add_(0.5);
  }
  pruner.prune_to(0.4);
  pruner.rewind();
  const auto& m = pruner.masks()[1];
  EXPECT_TRUE(torch::equal(m.weight.detach(), initial * m.mask));
  EXPECT_EQ(zeros(m.weight), 28);
}

}  // namespace
}  // namespace lowbit::train
