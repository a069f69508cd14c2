#include "lowbit/nn/leaky.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <string>
#include <vector>

namespace lowbit::nn {
namespace {

// One neuron, six steps: [T, B=1, 1]. The first step lands exactly on the threshold (no spike:
// H(0) = 0).
torch::Tensor hand_input() {
  return torch::tensor({1.0, 0.6, 0.9, 0.0, 2.5, 0.0}, torch::kFloat32).view({6, 1, 1});
}

torch::Tensor seq(const std::vector<double>& values) {
  return torch::tensor(values, torch::kFloat32).view({static_cast<int64_t>(values.size()), 1, 1});
}

struct HandCase {
  const char* mechanism;
  bool delay;
  std::vector<double> spikes;
  std::vector<double> membrane;
};

// beta 0.5, threshold 1; worked by hand from the equations in docs/spiking.md.
const std::vector<HandCase>& hand_cases() {
  static const std::vector<HandCase> all = {
      // U = 0.5 U + X - S[t-1]: 1.0, 0.5+0.6, 0.55+0.9-1, 0.225, 0.1125+2.5, 1.30625-1.
      {"subtract", true, {0, 1, 0, 0, 1, 0}, {1.0, 1.1, 0.45, 0.225, 2.6125, 0.30625}},
      // U = 0.5 (1 - S[t-1]) U + X.
      {"zero", true, {0, 1, 0, 0, 1, 0}, {1.0, 1.1, 0.9, 0.45, 2.725, 0.0}},
      // U = 0.5 U + X.
      {"none", true, {0, 1, 1, 0, 1, 1}, {1.0, 1.1, 1.45, 0.725, 2.8625, 1.43125}},
      // Reset in the same step: the stored membrane is after the reset.
      {"subtract", false, {0, 1, 0, 0, 1, 0}, {1.0, 0.1, 0.95, 0.475, 1.7375, 0.86875}},
      {"zero", false, {0, 1, 0, 0, 1, 0}, {1.0, 0.0, 0.9, 0.45, 0.0, 0.0}},
      {"none", false, {0, 1, 1, 0, 1, 1}, {1.0, 1.1, 1.45, 0.725, 2.8625, 1.43125}},
  };
  return all;
}

TEST(Leaky, DynamicsMatchHandComputedSequencesForEveryResetMode) {
  for (const HandCase& c : hand_cases()) {
    Leaky lif(LeakyOptions(0.5).threshold(1.0).reset_mechanism(c.mechanism).reset_delay(c.delay));
    const LeakyTrace trace = lif->run(hand_input());
    const std::string what = std::string(c.mechanism) + (c.delay ? " delayed" : " same-step");
    EXPECT_TRUE(torch::equal(trace.spikes, seq(c.spikes))) << what << "\n" << trace.spikes;
    EXPECT_TRUE(torch::allclose(trace.membrane, seq(c.membrane), 1e-6, 1e-6)) << what << "\n"
                                                                              << trace.membrane;
    EXPECT_TRUE(torch::equal(lif->forward_sequence(hand_input()), trace.spikes)) << what;
  }
}

TEST(Leaky, PerChannelValuesBroadcastAlongTheChannelDimension) {
  // Two channels with their own beta and threshold; the reference is a scalar loop.
  Leaky lif(LeakyOptions(0.9).channels(2).learn_beta(true).learn_threshold(true));
  {
    torch::NoGradGuard no_grad;
    lif->beta.copy_(torch::tensor({0.5, 0.25}));
    lif->threshold.copy_(torch::tensor({1.0, 0.5}));
  }
  torch::manual_seed(3);
  const torch::Tensor x = torch::rand({7, 3, 2, 4}) * 1.2;  // [T, B, C, W]
  const LeakyTrace trace = lif->run(x);
  const double betas[] = {0.5, 0.25}, thresholds[] = {1.0, 0.5};
  auto xa = x.accessor<float, 4>();
  auto sa = trace.spikes.accessor<float, 4>();
  auto ma = trace.membrane.accessor<float, 4>();
  for (int b = 0; b < 3; ++b) {
    for (int c = 0; c < 2; ++c) {
      for (int w = 0; w < 4; ++w) {
        float u = 0.0f, last = 0.0f;
        for (int t = 0; t < 7; ++t) {
          u = static_cast<float>(betas[c]) * u + xa[t][b][c][w] -
              last * static_cast<float>(thresholds[c]);
          last = u > static_cast<float>(thresholds[c]) ? 1.0f : 0.0f;
          ASSERT_EQ(sa[t][b][c][w], last) << t << " " << b << " " << c << " " << w;
          ASSERT_NEAR(ma[t][b][c][w], u, 1e-6);
        }
      }
    }
  }
  EXPECT_GT(trace.spikes.sum().item<double>(), 5.0);
  EXPECT_THROW(lif->forward_sequence(torch::rand({7, 3, 3, 4})), std::invalid_argument);
}

TEST(Leaky, ResetDetachChangesGradientsNotValues) {
  torch::manual_seed(4);
  const torch::Tensor input = torch::randn({8, 3, 5}) * 1.5 + 0.5;
  const torch::Tensor weights = torch::randn({8, 3, 5});
  for (const char* mechanism : {"subtract", "zero"}) {
    for (bool delay : {true, false}) {
      torch::Tensor grads[2];
      LeakyTrace traces[2];
      for (int detach = 0; detach < 2; ++detach) {
        Leaky lif(LeakyOptions(0.8).reset_mechanism(mechanism).reset_delay(delay).reset_detach(
            detach == 1));
        const torch::Tensor x = input.clone().requires_grad_(true);
        traces[detach] = lif->run(x);
        ((traces[detach].spikes + traces[detach].membrane) * weights).sum().backward();
        grads[detach] = x.grad();
      }
      const std::string what = std::string(mechanism) + (delay ? " delayed" : " same-step");
      EXPECT_TRUE(torch::equal(traces[0].spikes, traces[1].spikes)) << what;
      EXPECT_TRUE(torch::equal(traces[0].membrane, traces[1].membrane)) << what;
      EXPECT_GT(traces[0].spikes.sum().item<double>(), 10.0) << what;
      EXPECT_GT((grads[0] - grads[1]).abs().max().item<double>(), 1e-3) << what;
    }
  }
}

TEST(Leaky, ResetDetachedGradientOfOneStepIsTheSurrogate) {
  // Delayed subtract reset, detached: U1 = beta U0 + x1 - S0 thr with dS0 treated as 0, so
  // dS1/dx0 = surrogate(U1 - thr) * beta and dS1/dx1 = surrogate(U1 - thr).
  Leaky lif(LeakyOptions(0.5).spike_grad(Surrogate::fast_sigmoid(4.0)));
  const torch::Tensor x = torch::tensor({1.3f, 0.4f}).view({2, 1, 1}).requires_grad_(true);
  const torch::Tensor s = lif->forward_sequence(x);
  s[1].sum().backward();
  const double shifted = (0.5 * 1.3 + 0.4 - 1.0) - 1.0;  // U1 - thr = -0.95
  const double surrogate = 1.0 / ((1.0 + 4.0 * 0.95) * (1.0 + 4.0 * 0.95));
  ASSERT_NEAR(shifted, -0.95, 1e-12);
  EXPECT_NEAR(x.grad()[0].item<double>(), 0.5 * surrogate, 1e-6);
  EXPECT_NEAR(x.grad()[1].item<double>(), surrogate, 1e-6);
  EXPECT_TRUE(torch::equal(s.flatten(), torch::tensor({1.0f, 0.0f})));
}

TEST(Leaky, LearnableBetaAndThresholdReceiveGradientsPerLayerAndPerChannel) {
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({6, 4, 3, 5}) + 0.6;
  for (int64_t channels : {int64_t{0}, int64_t{3}}) {
    Leaky lif(LeakyOptions(0.8).learn_beta(true).learn_threshold(true).channels(channels));
    const auto params = lif->named_parameters();
    ASSERT_TRUE(params.contains("beta") && params.contains("threshold"));
    EXPECT_EQ(lif->beta.dim(), channels == 0 ? 0 : 1);
    const LeakyTrace trace = lif->run(x);
    (trace.spikes.sum() + 0.1 * trace.membrane.pow(2).sum()).backward();
    for (const char* name : {"beta", "threshold"}) {
      const torch::Tensor g = params[name].grad();
      ASSERT_TRUE(g.defined()) << name;
      EXPECT_EQ(g.sizes(), params[name].sizes());
      EXPECT_TRUE(g.ne(0).all().item<bool>()) << name << " channels " << channels << ": " << g;
    }
  }
  // Fixed values are buffers (as in snnTorch), not parameters.
  Leaky fixed(LeakyOptions(0.8).channels(3));
  EXPECT_TRUE(fixed->named_parameters().is_empty());
  EXPECT_TRUE(fixed->named_buffers().contains("beta"));
  EXPECT_TRUE(fixed->named_buffers().contains("threshold"));
  EXPECT_EQ(fixed->beta.sizes(), torch::IntArrayRef({3}));
}

TEST(Leaky, LearnedBetaIsClampedToTheUnitInterval) {
  Leaky wide(LeakyOptions(0.5).learn_beta(true));
  Leaky one(LeakyOptions(1.0));
  Leaky zero(LeakyOptions(0.0));
  const torch::Tensor x = torch::rand({5, 2, 3});
  {
    torch::NoGradGuard no_grad;
    wide->beta.fill_(1.5);
  }
  EXPECT_TRUE(torch::equal(wide->run(x).membrane, one->run(x).membrane));
  {
    torch::NoGradGuard no_grad;
    wide->beta.fill_(-0.5);
  }
  EXPECT_TRUE(torch::equal(wide->run(x).membrane, zero->run(x).membrane));
  EXPECT_EQ(wide->effective_beta().item<double>(), 0.0);
}

TEST(Leaky, QuantizedMembraneLiesOnItsGrid) {
  // snnTorch's uniform state_quant: 2^bits levels from -thr (1 + lower) to thr (1 + upper).
  Leaky lif(LeakyOptions(0.9).threshold(1.0).state_quant_bits(3));
  const torch::Tensor levels = lif->state_levels();
  EXPECT_TRUE(torch::allclose(levels, torch::linspace(-1.0, 1.2, 8), 1e-6, 1e-6)) << levels;
  torch::manual_seed(6);
  const torch::Tensor x = torch::randn({9, 4, 6});
  const LeakyTrace trace = lif->run(x);
  const torch::Tensor distance = (trace.membrane.unsqueeze(-1) - levels).abs().amin(-1).max();
  EXPECT_EQ(distance.item<double>(), 0.0);
  // Nearest level, as snnTorch finds it (argmin of the distance), values beyond clamped.
  const torch::Tensor u = torch::randn({2000}) * 2.0;
  const torch::Tensor nearest = levels.index_select(0, (u.unsqueeze(1) - levels).abs().argmin(1));
  EXPECT_TRUE(torch::equal(lif->quantize_state(u), nearest));
  // Straight through: the gradient passes unchanged.
  const torch::Tensor ug = u.clone().requires_grad_(true);
  lif->quantize_state(ug).sum().backward();
  EXPECT_TRUE(torch::equal(ug.grad(), torch::ones_like(u)));
  // Off, the membrane is untouched.
  lif->set_state_quant_bits(0);
  EXPECT_FALSE(lif->state_levels().defined());
  EXPECT_TRUE(torch::equal(lif->quantize_state(u), u));
}

TEST(Leaky, PerChannelThresholdsGiveEachChannelItsOwnGrid) {
  Leaky lif(LeakyOptions(0.7)
                .channels(3)
                .learn_threshold(true)
                .state_quant_bits(4)
                .state_quant_lower_limit(0.5)
                .state_quant_upper_limit(0.25)
                .reset_mechanism("zero")
                .reset_delay(false));
  {
    torch::NoGradGuard no_grad;
    lif->threshold.copy_(torch::tensor({0.5, 1.0, 2.0}));
  }
  const torch::Tensor levels = lif->state_levels();
  ASSERT_EQ(levels.sizes(), torch::IntArrayRef({3, 16}));
  EXPECT_NEAR(levels[2][0].item<double>(), -3.0, 1e-6);
  EXPECT_NEAR(levels[2][15].item<double>(), 2.5, 1e-6);
  torch::manual_seed(7);
  const LeakyTrace trace = lif->run(torch::randn({6, 2, 3, 5}) * 2.0);
  for (int64_t c = 0; c < 3; ++c) {
    const torch::Tensor m = trace.membrane.select(2, c).reshape({-1, 1});
    EXPECT_EQ((m - levels[c]).abs().amin(1).max().item<double>(), 0.0) << "channel " << c;
  }
  EXPECT_GT(trace.spikes.sum().item<double>(), 0.0);
}

TEST(Leaky, StateIsResetBetweenSequencesAndKeptBetweenSteps) {
  torch::manual_seed(8);
  const torch::Tensor a = torch::rand({5, 2, 4}) * 2.0;
  const torch::Tensor b = torch::rand({5, 2, 4}) * 2.0;
  Leaky used(LeakyOptions(0.95));
  Leaky fresh(LeakyOptions(0.95));
  used->forward_sequence(a);
  EXPECT_TRUE(used->membrane().defined());
  EXPECT_TRUE(torch::equal(used->run(b).membrane, fresh->run(b).membrane));
  // The step API: the same sequence step by step, the membrane kept in the module.
  used->reset_state();
  EXPECT_FALSE(used->membrane().defined());
  const LeakyTrace whole = fresh->run(a);
  for (int64_t t = 0; t < 5; ++t) {
    EXPECT_TRUE(torch::equal(used->step(a[t]), whole.spikes[t])) << t;
    EXPECT_TRUE(torch::equal(used->membrane(), whole.membrane[t])) << t;
  }
  // A new shape without a reset is an error, not a silent restart.
  EXPECT_THROW(used->step(torch::rand({3, 4})), std::invalid_argument);
  used->reset_state();
  EXPECT_EQ(used->step(torch::rand({3, 4})).sizes(), torch::IntArrayRef({3, 4}));
}

TEST(Leaky, BadOptionsNameTheOption) {
  auto message = [](const LeakyOptions& o) {
    try {
      Leaky lif(o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(LeakyOptions(1.2)).find("beta must lie in [0, 1]"), std::string::npos);
  EXPECT_NE(message(LeakyOptions(0.5).threshold(0)).find("threshold"), std::string::npos);
  EXPECT_NE(message(LeakyOptions(0.5).reset_mechanism("hard")).find("reset_mechanism"),
            std::string::npos);
  EXPECT_NE(message(LeakyOptions(0.5).state_quant_bits(17)).find("state_quant_bits"),
            std::string::npos);
  EXPECT_NE(message(LeakyOptions(0.5).channels(-1)).find("channels"), std::string::npos);
  // A grid topped at the threshold would never fire (H(0) = 0).
  EXPECT_NE(
      message(LeakyOptions(0.5).state_quant_bits(4).state_quant_upper_limit(0)).find("never fires"),
      std::string::npos);
  Leaky lif(LeakyOptions(0.5));
  EXPECT_THROW(lif->forward_sequence(torch::rand({4})), std::invalid_argument);
  EXPECT_THROW(lif->forward_sequence(torch::ones({3, 2}, torch::kLong)), std::invalid_argument);
}

TEST(Leaky, CloneKeepsOptionsAndValues) {
  Leaky lif(LeakyOptions(0.6).channels(2).learn_beta(true).state_quant_bits(4));
  {
    torch::NoGradGuard no_grad;
    lif->beta.copy_(torch::tensor({0.3, 0.7}));
  }
  auto copy = std::dynamic_pointer_cast<LeakyImpl>(lif->clone());
  ASSERT_TRUE(copy);
  EXPECT_TRUE(torch::equal(copy->beta, lif->beta));
  EXPECT_FALSE(copy->beta.is_same(lif->beta));
  const torch::Tensor x = torch::rand({4, 1, 2});
  EXPECT_TRUE(torch::equal(copy->forward(x), lif->forward(x)));
}

}  // namespace
}  // namespace lowbit::nn
