#include "lowbit/quant/learned/lsq.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/archive.h>

#include <cmath>
#include <memory>
#include <sstream>
#include <vector>

#include "lowbit/quant/registry.h"

namespace lowbit::quant {
namespace {

std::shared_ptr<LsqImpl> make_lsq(int bits, bool is_signed, bool per_channel,
                                  Role role = Role::kWeight) {
  LsqOptions options;
  options.bits = bits;
  options.is_signed = is_signed;
  options.per_channel = per_channel;
  return std::make_shared<LsqImpl>(options, role);
}

void set_step(LsqImpl& q, const torch::Tensor& x, const torch::Tensor& step) {
  q.forward(x);  // initialises, so the value below is not overwritten lazily
  torch::NoGradGuard no_grad;
  q.step().set_data(step.clone());
}

// Points whose x / s sits at least 0.2 away from a rounding boundary, both inside and outside
// the code range [-8, 7] (and [0, 15] unsigned).
torch::Tensor points_away_from_boundaries(int64_t n, double step) {
  const torch::Tensor k = torch::randint(-11, 19, {n}, torch::kFloat32);
  const torch::Tensor frac = torch::rand({n}) * 0.6 - 0.3;
  return (k + frac) * step;
}

TEST(Lsq, StepInitialisesLazilyFromTheFirstInput) {
  torch::manual_seed(3);
  auto q = make_lsq(4, true, false);
  EXPECT_FALSE(q->initialized());
  const torch::Tensor x = torch::randn({64, 5});
  q->forward(x);
  EXPECT_TRUE(q->initialized());
  const torch::Tensor expected = 2.0 * x.abs().mean() / std::sqrt(7.0);
  EXPECT_TRUE(torch::allclose(q->step(), expected.reshape({1}), 1e-6, 0));
  // A second input does not re-initialise.
  const torch::Tensor before = q->step().clone();
  q->forward(torch::randn({64, 5}) * 10);
  EXPECT_TRUE(torch::equal(q->step(), before));
}

TEST(Lsq, PerChannelStepInitialisesPerChannel) {
  torch::manual_seed(4);
  auto q = make_lsq(3, true, true);
  const torch::Tensor w = torch::randn({6, 4, 3, 3}) * torch::arange(1, 7).reshape({6, 1, 1, 1});
  q->forward(w);
  ASSERT_EQ(q->step().sizes(), torch::IntArrayRef({6}));
  const torch::Tensor expected = 2.0 * w.abs().reshape({6, -1}).mean(1) / std::sqrt(3.0);
  EXPECT_TRUE(torch::allclose(q->step(), expected, 1e-6, 0));
}

TEST(Lsq, StepGradientMatchesPaperEquation3) {
  torch::manual_seed(5);
  const double s = 0.25;
  auto q = make_lsq(4, true, false);
  const torch::Tensor x0 = points_away_from_boundaries(97, s);
  set_step(*q, x0, torch::full({1}, s));
  const torch::Tensor x = x0.clone().requires_grad_(true);
  const torch::Tensor w = torch::randn({97});
  (q->forward(x) * w).sum().backward();

  const torch::Tensor v = x0 / s;
  const torch::Tensor below = v.round() < -8;
  const torch::Tensor above = v.round() > 7;
  const torch::Tensor inside = torch::logical_not(torch::logical_or(below, above));
  const torch::Tensor ds = torch::where(below, torch::full_like(v, -8),
                                        torch::where(above, torch::full_like(v, 7), v.round() - v));
  const double g = 1.0 / std::sqrt(97.0 * 7.0);
  EXPECT_NEAR(q->grad_scale(x0), g, 1e-12);
  const double expected = g * (ds * w).sum().item<double>();
  EXPECT_NEAR(q->step().grad().item<double>(), expected, 1e-5 * (1.0 + std::abs(expected)));
  EXPECT_TRUE(torch::equal(x.grad(), w * inside.to(torch::kFloat32)));
  ASSERT_GT(below.sum().item<int64_t>(), 0);
  ASSERT_GT(above.sum().item<int64_t>(), 0);
}

TEST(Lsq, StepGradientAgreesWithFiniteDifferencesPlusTheRoundingTerm) {
  // The true derivative of clamp(round(x/s)) * s in s is round(x/s) inside and -Qn / Qp outside;
  // LSQ's estimate differs from it exactly by the straight-through term -x/s inside.
  torch::manual_seed(6);
  const double s = 0.3;
  const torch::Tensor x = points_away_from_boundaries(64, s);
  const torch::Tensor w = torch::randn({64});
  auto q = make_lsq(4, true, false);
  set_step(*q, x, torch::full({1}, s));
  const torch::Tensor step = q->step();
  auto loss_at = [&](double value) {
    torch::NoGradGuard no_grad;
    step.fill_(value);
    return (q->forward(x) * w).sum().item<double>();
  };
  const double h = 1e-4;
  const double numeric = (loss_at(s + h) - loss_at(s - h)) / (2 * h);
  {
    torch::NoGradGuard no_grad;
    step.fill_(s);
  }
  (q->forward(x) * w).sum().backward();
  const torch::Tensor v = x / s;
  const torch::Tensor inside = torch::logical_and(v.round() >= -8, v.round() <= 7);
  const double g = q->grad_scale(x);
  const double straight_through = (w * v * inside.to(torch::kFloat32)).sum().item<double>();
  const double analytic = step.grad().item<double>() / g + straight_through;
  EXPECT_NEAR(analytic, numeric, 2e-3 * (1.0 + std::abs(numeric)));
}

TEST(Lsq, PerChannelGradientUsesElementsPerChannel) {
  torch::manual_seed(7);
  auto q = make_lsq(3, true, true);
  const torch::Tensor s = torch::tensor({0.1f, 0.2f, 0.4f});
  torch::Tensor x0 = torch::cat({points_away_from_boundaries(10, 0.1).reshape({1, 10}),
                                 points_away_from_boundaries(10, 0.2).reshape({1, 10}),
                                 points_away_from_boundaries(10, 0.4).reshape({1, 10})});
  set_step(*q, x0, s);
  const torch::Tensor w = torch::randn({3, 10});
  (q->forward(x0) * w).sum().backward();
  const torch::Tensor v = x0 / s.reshape({3, 1});
  const torch::Tensor r = v.round();
  const torch::Tensor ds = torch::where(r < -4, torch::full_like(v, -4),
                                        torch::where(r > 3, torch::full_like(v, 3), r - v));
  const double g = 1.0 / std::sqrt(10.0 * 3.0);
  EXPECT_NEAR(q->grad_scale(x0), g, 1e-12);
  EXPECT_TRUE(torch::allclose(q->step().grad(), g * (ds * w).sum(1), 1e-5, 1e-6));
}

TEST(Lsq, ActivationGradientScaleUsesFeaturesPerSample) {
  auto q = make_lsq(2, false, false, Role::kActivation);
  const torch::Tensor x = torch::rand({8, 3, 5});
  EXPECT_NEAR(q->grad_scale(x), 1.0 / std::sqrt(15.0 * 3.0), 1e-12);
}

TEST(Lsq, FreezingStopsUpdatesEvenWithMomentumAndWeightDecay) {
  torch::manual_seed(8);
  auto q = make_lsq(3, true, false);
  const torch::Tensor x = torch::randn({40}, torch::requires_grad());
  torch::optim::SGD sgd(q->parameters(),
                        torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(0.01));
  auto train_step = [&] {
    sgd.zero_grad();
    (q->forward(x) * torch::linspace(-1, 1, 40)).sum().backward();
    sgd.step();
  };
  train_step();
  const torch::Tensor after_first = q->step().clone();
  train_step();
  EXPECT_FALSE(torch::equal(q->step(), after_first));

  q->set_frozen(true);
  EXPECT_TRUE(q->frozen());
  const torch::Tensor frozen_value = q->step().clone();
  x.mutable_grad() = torch::Tensor();
  train_step();
  train_step();
  EXPECT_TRUE(torch::equal(q->step(), frozen_value));
  EXPECT_TRUE(x.grad().defined());  // the input still gets its straight-through gradient

  q->set_frozen(false);
  train_step();
  EXPECT_FALSE(torch::equal(q->step(), frozen_value));
}

TEST(Lsq, StateRoundTripKeepsStepAndInitialisation) {
  torch::manual_seed(9);
  auto q = make_lsq(4, true, true);
  const torch::Tensor w = torch::randn({5, 7});
  q->forward(w);
  torch::serialize::OutputArchive out;
  q->save(out);
  std::stringstream stream;
  out.save_to(stream);

  auto loaded = make_lsq(4, true, true);
  torch::serialize::InputArchive in;
  in.load_from(stream);
  loaded->load(in);
  EXPECT_TRUE(loaded->initialized());
  EXPECT_TRUE(torch::equal(loaded->step(), q->step()));
  // Initialised from the archive, so another input does not re-initialise it.
  EXPECT_TRUE(torch::equal(loaded->forward(w), q->forward(w)));
  const auto names = q->named_parameters().keys();
  EXPECT_EQ(names, std::vector<std::string>({"step"}));
  EXPECT_EQ(q->named_buffers().keys(), std::vector<std::string>({"initialized"}));
}

TEST(Lsq, IntegerFormIsBitExactAcrossWidthsShapesAndModes) {
  torch::manual_seed(10);
  for (bool is_signed : {true, false}) {
    for (bool per_channel : {false, true}) {
      for (int bits = is_signed ? 2 : 1; bits <= 8; ++bits) {
        for (int64_t n : {1, 3, 7, 17, 33}) {
          const Role role = is_signed ? Role::kWeight : Role::kActivation;
          auto q = make_lsq(bits, is_signed, per_channel, role);
          const torch::Tensor x = role == Role::kWeight ? torch::randn({n, 3}) * 2
                                                        : torch::relu(torch::randn({2, n}) * 3);
          // Uninitialised: integer_form uses the step forward is about to adopt.
          const IntegerForm before = q->integer_form(x);
          const torch::Tensor y = q->forward(x);
          const IntegerForm form = q->integer_form(x);
          SCOPED_TRACE(testing::Message() << "bits=" << bits << " signed=" << is_signed
                                          << " per_channel=" << per_channel << " n=" << n);
          EXPECT_TRUE(torch::equal(before.dequantize(), y));
          EXPECT_TRUE(torch::equal(form.dequantize(), y));
          EXPECT_EQ(form.codes.scalar_type(), torch::kInt32);
          EXPECT_GE(form.codes.min().item<int64_t>(), form.code_min);
          EXPECT_LE(form.codes.max().item<int64_t>(), form.code_max);
          EXPECT_EQ(form.code_max - form.code_min + 1, int64_t{1} << bits);
          EXPECT_LE(std::get<0>(torch::_unique(form.codes)).numel(), int64_t{1} << bits);
          EXPECT_EQ(form.bits, bits);
          EXPECT_EQ(form.is_signed, is_signed);
          EXPECT_EQ(form.axis, per_channel ? (role == Role::kWeight ? 0 : 1) : -1);
        }
      }
    }
  }
}

TEST(Lsq, IntegerFormIsBitExactOnRoundingBoundaries) {
  auto q = make_lsq(4, true, false);
  const torch::Tensor probe = torch::randn({16});
  set_step(*q, probe, torch::full({1}, 0.1f));
  // Exact ties k + 0.5 and their float neighbours, where half-to-even and the reciprocal matter.
  const torch::Tensor ties = (torch::arange(-9, 9, torch::kFloat32) + 0.5f) * 0.1f;
  const torch::Tensor x = torch::cat({ties, torch::nextafter(ties, ties + 1),
                                      torch::nextafter(ties, ties - 1), torch::randn({1000})});
  EXPECT_TRUE(torch::equal(q->integer_form(x).dequantize(), q->forward(x)));
}

TEST(Lsq, OutputsLieOnTheLevels) {
  torch::manual_seed(11);
  auto q = make_lsq(3, true, false);
  const torch::Tensor x = torch::randn({200});
  const torch::Tensor y = q->forward(x);
  const torch::Tensor levels = q->levels(x);
  ASSERT_EQ(levels.numel(), 8);
  EXPECT_TRUE(torch::equal(levels, std::get<0>(levels.sort())));
  EXPECT_TRUE(torch::isin(y, levels).all().item<bool>());

  auto pc = make_lsq(2, true, true);
  const torch::Tensor w = torch::randn({4, 9});
  const torch::Tensor yw = pc->forward(w);
  const torch::Tensor per_channel_levels = pc->levels(w);
  ASSERT_EQ(per_channel_levels.sizes(), torch::IntArrayRef({4, 4}));
  for (int64_t c = 0; c < 4; ++c) {
    EXPECT_TRUE(torch::isin(yw[c], per_channel_levels[c]).all().item<bool>());
  }
}

TEST(Lsq, SetBitsRescalesAnInitialisedStep) {
  torch::manual_seed(12);
  auto q = make_lsq(8, true, false);
  const torch::Tensor x = torch::randn({50});
  q->forward(x);
  const double before = q->step().item<double>();
  q->set_bits(4);
  EXPECT_EQ(q->bits(), 4);
  EXPECT_NEAR(q->step().item<double>(), before * std::sqrt(127.0 / 7.0), 1e-6 * before);
  EXPECT_EQ(q->code_min(), -8);
  EXPECT_EQ(q->code_max(), 7);
  EXPECT_THROW(q->set_bits(1), SpecError);
  EXPECT_EQ(q->bits(), 4);

  auto lazy = make_lsq(8, true, false);
  lazy->set_bits(2);
  lazy->forward(x);
  EXPECT_NEAR(lazy->step().item<double>(), 2.0 * x.abs().mean().item<double>() / 1.0, 1e-6);
}

TEST(Lsq, AppliedTwiceBeforeOneBackward) {
  auto q = make_lsq(4, true, false);
  const torch::Tensor x = torch::randn({10}, torch::requires_grad());
  const torch::Tensor loss = q->forward(x).sum() + q->forward(x * 2).sum();
  loss.backward();
  EXPECT_TRUE(q->step().grad().defined());
}

TEST(Lsq, RegistryBuildsItWithRoleDefaults) {
  auto weight = std::dynamic_pointer_cast<LsqImpl>(make_quantizer("lsq:bits=2", Role::kWeight));
  ASSERT_TRUE(weight);
  EXPECT_EQ(weight->bits(), 2);
  EXPECT_EQ(weight->code_min(), -2);
  EXPECT_EQ(weight->spec().str(), "lsq:bits=2,signed=1,per_channel=0");
  auto act = std::dynamic_pointer_cast<LsqImpl>(make_quantizer("lsq", Role::kActivation));
  ASSERT_TRUE(act);
  EXPECT_EQ(act->code_min(), 0);
  EXPECT_EQ(act->code_max(), 15);
  const Quantizer rebuilt = make_quantizer(act->spec(), Role::kActivation);
  EXPECT_EQ(rebuilt->spec(), act->spec());
  EXPECT_THROW(make_quantizer("lsq:bits=1", Role::kWeight), SpecError);
  EXPECT_NO_THROW(make_quantizer("lsq:bits=1,signed=0", Role::kActivation));
  EXPECT_THROW(make_quantizer("lsq:bits=4,scale=2"), SpecError);
  EXPECT_THROW(make_quantizer("lsq:per_channel=maybe"), SpecError);
}

TEST(Lsq, ClipIsReluSixBeforeTheGridAndInTheIntegerForm) {
  auto q = std::dynamic_pointer_cast<LsqImpl>(
      make_quantizer("lsq:bits=4,signed=0,clip=6", Role::kActivation));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->spec().str(), "lsq:bits=4,signed=0,per_channel=0,clip=6");
  EXPECT_EQ(make_quantizer(q->spec(), Role::kActivation)->spec(), q->spec());
  // A step of 1 puts codes 0..15 on [0, 15]; the clip caps the values at 6 first.
  torch::Tensor x = torch::tensor({-1.0f, 2.2f, 5.6f, 7.0f, 40.0f}).requires_grad_(true);
  q->forward(torch::ones({4}));  // initialise, then set the step
  {
    torch::NoGradGuard no_grad;
    q->named_parameters()["step"].fill_(1.0f);
  }
  torch::Tensor y = q->forward(x);
  EXPECT_TRUE(torch::equal(y.detach(), torch::tensor({0.0f, 2.0f, 6.0f, 6.0f, 6.0f})));
  y.sum().backward();
  // Straight through inside [0, 6], no gradient where the clip (or code 0) holds.
  EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({0.0f, 1.0f, 1.0f, 0.0f, 0.0f})));
  EXPECT_TRUE(
      torch::equal(q->integer_form(x.detach()).codes,
                   torch::tensor({0, 2, 6, 6, 6}, q->integer_form(x.detach()).codes.dtype())));
  // Without the clip the same step reaches code 15.
  auto open = make_quantizer("lsq:bits=4,signed=0", Role::kActivation);
  open->forward(torch::ones({4}));
  {
    torch::NoGradGuard no_grad;
    open->named_parameters()["step"].fill_(1.0f);
  }
  EXPECT_EQ(open->forward(x.detach()).max().item<float>(), 15.0f);
  EXPECT_THROW(make_quantizer("lsq:clip=-1", Role::kActivation), SpecError);
}

TEST(Lsq, RejectsWrongInputs) {
  auto q = make_lsq(4, true, true);
  EXPECT_THROW(q->forward(torch::randn({4}, torch::kFloat64)), std::invalid_argument);
  q->forward(torch::randn({4, 2}));
  EXPECT_THROW(q->forward(torch::randn({5, 2})), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::quant
