#include "lowbit/nn/integer_lif.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/nn/leaky.h"
#include "lowbit/nn/quant_slot.h"
#include "lowbit/nn/spiking_conv2d.h"

namespace lowbit::nn {
namespace {

torch::Tensor longs(const std::vector<int64_t>& values) {
  return torch::tensor(values, torch::kInt64);
}

IntegerLifConstants constants(int32_t threshold, int32_t beta_q15, const char* reset, bool delay) {
  IntegerLifConstants c;
  c.threshold = {threshold};
  c.beta_q15 = {beta_q15};
  const auto& names = reset_mechanism_names();
  c.reset =
      static_cast<ResetMechanism>(std::find(names.begin(), names.end(), reset) - names.begin());
  c.reset_delay = delay;
  return c;
}

struct Sequence {
  std::vector<int64_t> membrane;
  std::vector<int64_t> spikes;
};

// One neuron [B=1, C=1] through every input of `current`, from rest.
Sequence run_steps(const std::vector<int64_t>& current, const IntegerLifConstants& c) {
  torch::Tensor u = torch::zeros({1, 1}, torch::kInt64);
  torch::Tensor r = torch::zeros({1, 1}, torch::kInt64);
  Sequence out;
  for (int64_t i : current) {
    const IntegerLifStep next = integer_lif_step(longs({i}).view({1, 1}), u, r, c);
    u = next.membrane;
    r = next.pending_reset;
    out.membrane.push_back(u.item<int64_t>());
    out.spikes.push_back(next.spikes.item<int64_t>());
  }
  return out;
}

struct HandCase {
  const char* reset;
  bool delay;
  std::vector<int64_t> membrane;
  std::vector<int64_t> spikes;
};

// Threshold 10, beta_q15 16384 (0.5: leak(U) = floor((U + 1) / 2)), currents 10 6 9 0 25 0;
// worked by hand from /docs/spiking.md's integer equations.
TEST(IntegerLif, StepMatchesHandComputedSequencesForEveryResetAndDelay) {
  const std::vector<int64_t> current = {10, 6, 9, 0, 25, 0};
  const std::vector<HandCase> cases = {
      // 10 (not above 10), 5+6, 6+9-10, 3, 2+25, 14-10.
      {"subtract", true, {10, 11, 5, 3, 27, 4}, {0, 1, 0, 0, 1, 0}},
      // 10, 11, 0+9, 5, 3+25, 0+0.
      {"zero", true, {10, 11, 9, 5, 28, 0}, {0, 1, 0, 0, 1, 0}},
      {"none", true, {10, 11, 15, 8, 29, 15}, {0, 1, 1, 0, 1, 1}},
      // Same step: 10, 11-10, 1+9, 5, 28-10, 9.
      {"subtract", false, {10, 1, 10, 5, 18, 9}, {0, 1, 0, 0, 1, 0}},
      {"zero", false, {10, 0, 9, 5, 0, 0}, {0, 1, 0, 0, 1, 0}},
      {"none", false, {10, 11, 15, 8, 29, 15}, {0, 1, 1, 0, 1, 1}},
  };
  for (const HandCase& hand : cases) {
    const Sequence got = run_steps(current, constants(10, 16384, hand.reset, hand.delay));
    const std::string what = std::string(hand.reset) + (hand.delay ? " delayed" : " same-step");
    EXPECT_EQ(got.membrane, hand.membrane) << what;
    EXPECT_EQ(got.spikes, hand.spikes) << what;
  }
}

TEST(IntegerLif, LeaksRoundNegativeMembranesTowardMinusInfinity) {
  // Q15 leak, beta 0.5: round half up of U / 2: -3.5 -> -3, -1.5 -> -1, -0.5 -> 0.
  EXPECT_EQ(run_steps({-7, 0, 0, 0}, constants(5, 16384, "none", true)).membrane,
            (std::vector<int64_t>{-7, -3, -1, 0}));
  // Shift leak k = 2: U - floor(U / 4): -7 - (-2), -5 - (-2), -3 - (-1), then 18 - 4.
  IntegerLifConstants shift = constants(5, 0, "none", true);
  shift.leak_shift = 2;
  const Sequence got = run_steps({-7, 0, 0, 20, 0}, shift);
  EXPECT_EQ(got.membrane, (std::vector<int64_t>{-7, -5, -3, 18, 14}));
  EXPECT_EQ(got.spikes, (std::vector<int64_t>{0, 0, 0, 1, 1}));
  // beta_q15 is ignored with a shift: the same with another beta_q15.
  shift.beta_q15 = {32768};
  EXPECT_EQ(run_steps({-7, 0, 0, 20, 0}, shift).membrane, got.membrane);
}

TEST(IntegerLif, MembraneSaturatesToItsBits) {
  IntegerLifConstants c = constants(30000, 32768, "none", true);
  EXPECT_EQ(run_steps({20000, 20000, 20000}, c).membrane,
            (std::vector<int64_t>{20000, 32767, 32767}));
  EXPECT_EQ(run_steps({20000, 20000, 20000}, c).spikes, (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(run_steps({-20000, -20000}, c).membrane, (std::vector<int64_t>{-20000, -32768}));
  c.membrane_bits = 32;
  EXPECT_EQ(run_steps({20000, 20000}, c).membrane, (std::vector<int64_t>{20000, 40000}));
  EXPECT_EQ(run_steps({2000000000, 2000000000}, c).membrane,
            (std::vector<int64_t>{2000000000, std::numeric_limits<int32_t>::max()}));
}

TEST(IntegerLif, PerChannelConstantsApplyAlongDimensionOne) {
  IntegerLifConstants c = constants(5, 32768, "subtract", true);
  c.threshold = {5, 10};
  c.beta_q15 = {32768, 16384};
  torch::Tensor u = torch::zeros({1, 2, 1}, torch::kInt64);
  torch::Tensor r = torch::zeros_like(u);
  // Channel 0 (beta 1, thr 5): 6, 6+6-5, 7+6-5. Channel 1 (beta 0.5, thr 10): 6, 3+6, 5+6.
  const std::vector<std::vector<int64_t>> membrane = {{6, 6}, {7, 9}, {8, 11}};
  const std::vector<std::vector<int64_t>> spikes = {{1, 0}, {1, 0}, {1, 1}};
  for (size_t t = 0; t < 3; ++t) {
    const IntegerLifStep next = integer_lif_step(torch::full({1, 2, 1}, 6, torch::kInt64), u, r, c);
    u = next.membrane;
    r = next.pending_reset;
    EXPECT_TRUE(torch::equal(u.view({2}), longs(membrane[t]))) << "step " << t << "\n" << u;
    EXPECT_TRUE(torch::equal(next.spikes.view({2}), longs(spikes[t]))) << "step " << t;
  }
  EXPECT_THROW(integer_lif_step(torch::zeros({1, 3, 1}, torch::kInt64),
                                torch::zeros({1, 3, 1}, torch::kInt64),
                                torch::zeros({1, 3, 1}, torch::kInt64), c),
               std::invalid_argument);
  EXPECT_THROW(integer_lif_step(torch::zeros({1, 2, 1}), torch::zeros({1, 2, 1}),
                                torch::zeros({1, 2, 1}), c),
               std::invalid_argument);
}

TEST(IntegerLif, ConstantsRoundTheLayersThresholdAndBeta) {
  Leaky lif(LeakyOptions(0.9).threshold(1.0).reset_mechanism("zero").reset_delay(false));
  IntegerLifConstants c = integer_lif_constants(*lif, 0.3);
  EXPECT_EQ(c.threshold, std::vector<int32_t>{3});     // 3.33
  EXPECT_EQ(c.beta_q15, std::vector<int32_t>{29491});  // 29491.2
  EXPECT_EQ(c.leak_shift, 0);
  EXPECT_EQ(c.membrane_bits, 16);
  EXPECT_EQ(c.reset, ResetMechanism::kZero);
  EXPECT_FALSE(c.reset_delay);
  // Halves round away from zero; a threshold below half a step is still 1.
  Leaky half(LeakyOptions(0.5).threshold(0.75));
  EXPECT_EQ(integer_lif_constants(*half, 0.5).threshold, std::vector<int32_t>{2});
  EXPECT_EQ(integer_lif_constants(*half, 0.5).beta_q15, std::vector<int32_t>{16384});
  EXPECT_EQ(integer_lif_constants(*half, 100.0).threshold, std::vector<int32_t>{1});
  // The shift sets beta = 1 - 2^-3 exactly, and per-channel values come one per channel.
  Leaky shifted(LeakyOptions(0.2).leak_shift(3).membrane_bits(32).channels(2));
  {
    torch::NoGradGuard no_grad;
    shifted->threshold.copy_(torch::tensor({0.25, 1.0}));
  }
  c = integer_lif_constants(*shifted, 0.125);
  EXPECT_EQ(c.threshold, (std::vector<int32_t>{2, 8}));
  EXPECT_EQ(c.beta_q15, (std::vector<int32_t>{28672, 28672}));
  EXPECT_EQ(c.leak_shift, 3);
  EXPECT_EQ(c.membrane_bits, 32);
  EXPECT_THROW(integer_lif_constants(*lif, 0.0), std::invalid_argument);
  EXPECT_THROW(integer_lif_constants(*lif, std::nan("")), std::invalid_argument);
}

TEST(IntegerLif, OptionsAreValidated) {
  EXPECT_THROW(Leaky(LeakyOptions(0.9).leak_shift(2).learn_beta(true)), std::invalid_argument);
  EXPECT_THROW(Leaky(LeakyOptions(0.9).leak_shift(16)), std::invalid_argument);
  EXPECT_THROW(Leaky(LeakyOptions(0.9).membrane_bits(8)), std::invalid_argument);
  EXPECT_THROW(Leaky(LeakyOptions(0.9).integer_state(true).state_quant_bits(4)),
               std::invalid_argument);
  try {
    Leaky(LeakyOptions(0.9).membrane_bits(24));
    FAIL() << "membrane_bits 24 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("membrane_bits"), std::string::npos) << e.what();
  }
  Leaky integer(LeakyOptions(0.9).integer_state(true));
  EXPECT_THROW(integer->set_state_quant_bits(8), std::invalid_argument);
  integer->set_state_quant_bits(0);
  Leaky plain(LeakyOptions(0.9));
  EXPECT_THROW(plain->step_integer(torch::zeros({1, 1}), torch::zeros({1, 1}, torch::kInt64), 0.1),
               std::invalid_argument);
}

// The spec's integer LIF on plain integers, for one element.
struct ScalarLif {
  int64_t threshold;
  int64_t beta_q15;
  int leak_shift;
  ResetMechanism reset;
  bool delay;
  int64_t u = 0;
  int64_t r = 0;

  static int64_t fdiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
  }
  int64_t leak(int64_t v) const {
    if (leak_shift > 0) return v - fdiv(v, int64_t{1} << leak_shift);
    return fdiv(v * beta_q15 + 16384, 32768);
  }
  static int64_t sat(int64_t v) { return std::clamp<int64_t>(v, -32768, 32767); }
  int64_t step(int64_t i) {
    if (delay) {
      if (reset == ResetMechanism::kSubtract) u = sat(leak(u) + i - (r ? threshold : 0));
      if (reset == ResetMechanism::kZero) u = sat((r ? 0 : leak(u)) + i);
      if (reset == ResetMechanism::kNone) u = sat(leak(u) + i);
      r = u > threshold ? 1 : 0;
      return r;
    }
    u = sat(leak(u) + i);
    const int64_t s = u > threshold ? 1 : 0;
    if (s && reset == ResetMechanism::kSubtract) u -= threshold;
    if (s && reset == ResetMechanism::kZero) u = 0;
    return s;
  }
};

TEST(IntegerLif, LeakyIntegerModeFollowsTheIntegerStepWithFloatGradients) {
  torch::manual_seed(71);
  const double step = 0.05;
  const torch::Tensor codes = torch::randint(-20, 40, {6, 2, 3}, torch::kInt64);
  const torch::Tensor x = (codes.to(torch::kFloat32) * step).requires_grad_(true);
  Leaky lif(LeakyOptions(0.8).threshold(0.6).integer_state(true).learn_threshold(true));
  const LeakyTrace trace = lif->run_integer(x, codes, step);
  const IntegerLifConstants c = integer_lif_constants(*lif, step);
  torch::Tensor u = torch::zeros({2, 3}, torch::kInt64);
  torch::Tensor r = torch::zeros_like(u);
  for (int64_t t = 0; t < 6; ++t) {
    const IntegerLifStep next = integer_lif_step(codes[t], u, r, c);
    u = next.membrane;
    r = next.pending_reset;
    EXPECT_TRUE(torch::equal(trace.spikes[t], next.spikes.to(torch::kFloat32))) << "step " << t;
    EXPECT_TRUE(torch::equal(trace.membrane[t], (u.to(torch::kFloat64) * step).to(torch::kFloat32)))
        << "step " << t;
  }
  EXPECT_TRUE(torch::equal(lif->integer_membrane(), u));
  EXPECT_GT(trace.spikes.sum().item<double>(), 0.0);
  (trace.spikes.sum() + trace.membrane.sum()).backward();
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(lif->threshold.grad().defined());
  EXPECT_NE(lif->threshold.grad().item<double>(), 0.0);
  // A float step on an integer state (or the reverse) needs reset_state() first.
  EXPECT_THROW(lif->step(x[0].detach()), std::invalid_argument);
  lif->reset_state();
  lif->step(x[0].detach());
  EXPECT_THROW(lif->step_integer(x[0].detach(), codes[0], step), std::invalid_argument);
}

SpikingConv2dOptions quantized_block(bool batch_norm) {
  SpikingConv2dOptions options(2, 3, 3);
  options.conv().padding(1).output_quant("lsq:bits=8,signed=1");
  options.batch_norm(batch_norm);
  return options;
}

TEST(IntegerLif, SpikingConv2dSpikesAreThoseOfTheSpecOnTheCodes) {
  for (const char* reset : {"subtract", "zero", "none"}) {
    for (bool delay : {true, false}) {
      torch::manual_seed(72);
      SpikingConv2dOptions options = quantized_block(false);
      options.lif(LeakyOptions(0.85)
                      .threshold(0.4)
                      .channels(3)
                      .reset_mechanism(reset)
                      .reset_delay(delay)
                      .integer_state(true));
      SpikingConv2d block(options);
      {
        torch::NoGradGuard no_grad;
        block->lif->threshold.copy_(torch::tensor({0.3, 0.5, 0.8}));
      }
      const torch::Tensor x = torch::rand({5, 2, 2, 6, 6}) * 2.0;
      const LeakyTrace trace = block->run(x);
      ASSERT_TRUE(block->integer_mode());
      ASSERT_EQ(trace.spikes.sizes(), torch::IntArrayRef({5, 2, 3, 6, 6}));

      // The codes as the exporter sees them: the output quantizer's integer form of the conv.
      const torch::Tensor y =
          torch::conv2d(x.flatten(0, 1), block->conv->weight, block->conv->bias, 1, 1);
      const quant::IntegerForm form = block->conv->output_quant()->integer_form(y);
      const double step = form.scale.item<double>();
      const torch::Tensor codes =
          (form.codes.to(torch::kInt64) - form.zero_point.item<int64_t>()).view({5, 2, 3, 6, 6});
      const IntegerLifConstants c = integer_lif_constants(*block->lif, step);
      const torch::Tensor spikes = trace.spikes.to(torch::kInt64).contiguous();
      const torch::Tensor membrane = trace.membrane.contiguous();
      int64_t mismatches = 0;
      int64_t fired = 0;
      for (int64_t b = 0; b < 2; ++b) {
        for (int64_t ch = 0; ch < 3; ++ch) {
          for (int64_t i = 0; i < 36; ++i) {
            ScalarLif n{c.threshold[static_cast<size_t>(ch)], c.beta_q15[static_cast<size_t>(ch)],
                        c.leak_shift, c.reset, c.reset_delay};
            for (int64_t t = 0; t < 5; ++t) {
              const int64_t s = n.step(codes[t][b][ch].view({-1})[i].item<int64_t>());
              const float m = static_cast<float>(static_cast<double>(n.u) * step);
              fired += s;
              if (s != spikes[t][b][ch].view({-1})[i].item<int64_t>() ||
                  m != membrane[t][b][ch].view({-1})[i].item<float>()) {
                ++mismatches;
                ADD_FAILURE() << reset << " delay " << delay << ": t " << t << " b " << b << " c "
                              << ch << " i " << i;
              }
            }
          }
        }
      }
      EXPECT_EQ(mismatches, 0) << reset << " delay " << delay;
      EXPECT_GT(fired, 20) << reset << " delay " << delay;
      EXPECT_TRUE(torch::equal(block->forward(x), trace.spikes));

      (trace.spikes.sum() + trace.membrane.pow(2).sum()).backward();
      const torch::Tensor grad = block->conv->weight.grad();
      ASSERT_TRUE(grad.defined());
      EXPECT_TRUE(torch::isfinite(grad).all().item<bool>());
      EXPECT_GT(grad.abs().sum().item<double>(), 0.0) << reset << " delay " << delay;
    }
  }
}

TEST(IntegerLif, SpikingConv2dNeedsAFoldedNormAndFallsBackToFloatWithoutOutputQuantizer) {
  torch::manual_seed(73);
  SpikingConv2dOptions options = quantized_block(true);
  options.lif(LeakyOptions(0.9).integer_state(true));
  SpikingConv2d block(options);
  const torch::Tensor x = torch::rand({2, 1, 2, 5, 5});
  try {
    block->forward(x);
    FAIL() << "an unfolded norm was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("`norm`"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fold_batchnorm"), std::string::npos) << e.what();
  }
  block->norm->mark_folded();
  EXPECT_EQ(block->forward(x).sizes(), torch::IntArrayRef({2, 1, 3, 5, 5}));
  EXPECT_TRUE(block->lif->integer_membrane().defined());

  // No output quantizer (a float stage): the float LIF, as without integer_state.
  SpikingConv2dOptions fp(2, 3, 3);
  fp.lif(LeakyOptions(0.9).threshold(0.3).integer_state(true));
  SpikingConv2d float_block(fp);
  EXPECT_FALSE(float_block->integer_mode());
  const torch::Tensor spikes = float_block->forward(x);
  Leaky reference(LeakyOptions(0.9).threshold(0.3));
  EXPECT_TRUE(torch::equal(spikes, reference->forward(float_block->currents(x))));
  EXPECT_FALSE(float_block->lif->integer_membrane().defined());

  // A per-channel output grid has no single step for the integer LIF.
  SpikingConv2dOptions per_channel = quantized_block(false);
  per_channel.conv().output_quant("uniform:bits=8,signed=1,per_channel=1");
  per_channel.lif(LeakyOptions(0.9).integer_state(true));
  SpikingConv2d per_channel_block(per_channel);
  EXPECT_THROW(per_channel_block->forward(x), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::nn
