#include "lowbit/quant/learned/pact.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/archive.h>

#include <cmath>
#include <memory>
#include <sstream>

#include "lowbit/quant/registry.h"

namespace lowbit::quant {
namespace {

std::shared_ptr<PactImpl> make_pact(int bits, double alpha) {
  PactOptions options;
  options.bits = bits;
  options.alpha = alpha;
  return std::make_shared<PactImpl>(options);
}

// Points whose x / step sits at least 0.2 from a rounding boundary, below 0, inside [0, alpha]
// and above alpha.
torch::Tensor points_away_from_boundaries(int64_t n, double step) {
  const torch::Tensor k = torch::randint(-4, 20, {n}, torch::kFloat32);
  const torch::Tensor frac = torch::rand({n}) * 0.6 - 0.3;
  return (k + frac) * step;
}

TEST(Pact, ForwardIsClippedAndQuantized) {
  auto q = make_pact(2, 3.0);
  const torch::Tensor x = torch::tensor({-1.0f, 0.0f, 0.4f, 0.6f, 1.4f, 2.0f, 2.9f, 3.0f, 7.0f});
  EXPECT_TRUE(torch::equal(q->forward(x),
                           torch::tensor({0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 2.0f, 3.0f, 3.0f, 3.0f})));
}

TEST(Pact, GradientsAreThePapers) {
  torch::manual_seed(21);
  auto q = make_pact(3, 2.0);
  const torch::Tensor x0 = points_away_from_boundaries(101, 2.0 / 7.0);
  const torch::Tensor x = x0.clone().requires_grad_(true);
  const torch::Tensor w = torch::randn({101});
  (q->forward(x) * w).sum().backward();
  const torch::Tensor above = (x0 >= 2.0f).to(torch::kFloat32);
  const torch::Tensor inside = torch::logical_and(x0 >= 0, x0 < 2.0f).to(torch::kFloat32);
  ASSERT_GT(above.sum().item<double>(), 0);
  ASSERT_GT((x0 < 0).sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::allclose(q->alpha().grad(), (w * above).sum().reshape({1}), 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(x.grad(), w * inside));
}

TEST(Pact, AlphaGradientAgreesWithFiniteDifferencesPlusTheRoundingTerm) {
  // The true derivative of round(clip(x)/s) * s with s = alpha / Qp is 1 above alpha and
  // round(x/s) / Qp inside; PACT passes rounding straight through and drops the inside term.
  torch::manual_seed(22);
  const double alpha = 4.0;
  const int64_t qmax = 15;
  auto q = make_pact(4, alpha);
  const torch::Tensor x = points_away_from_boundaries(80, alpha / qmax);
  const torch::Tensor w = torch::randn({80});
  auto loss_at = [&](double value) {
    torch::NoGradGuard no_grad;
    q->alpha().fill_(value);
    return (q->forward(x) * w).sum().item<double>();
  };
  const double h = 1e-4;
  const double numeric = (loss_at(alpha + h) - loss_at(alpha - h)) / (2 * h);
  {
    torch::NoGradGuard no_grad;
    q->alpha().fill_(alpha);
  }
  (q->forward(x) * w).sum().backward();
  const torch::Tensor inside = torch::logical_and(x >= 0, x < alpha).to(torch::kFloat32);
  const torch::Tensor rounded = (x / (alpha / qmax)).round();
  const double rounding = (w * inside * rounded / static_cast<double>(qmax)).sum().item<double>();
  const double analytic = q->alpha().grad().item<double>() + rounding;
  EXPECT_NEAR(analytic, numeric, 2e-3 * (1.0 + std::abs(numeric)));
}

TEST(Pact, FreezingStopsUpdatesEvenWithMomentumAndWeightDecay) {
  torch::manual_seed(23);
  auto q = make_pact(4, 1.0);
  // The input needs a gradient so that a frozen alpha still leaves something to backpropagate.
  const torch::Tensor x = (torch::randn({40}) * 2).requires_grad_(true);
  torch::optim::SGD sgd(q->parameters(),
                        torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(0.01));
  auto train_step = [&] {
    sgd.zero_grad();
    q->forward(x).sum().backward();
    sgd.step();
  };
  train_step();
  const torch::Tensor after_first = q->alpha().clone();
  train_step();
  EXPECT_FALSE(torch::equal(q->alpha(), after_first));
  q->set_frozen(true);
  const torch::Tensor frozen_value = q->alpha().clone();
  train_step();
  train_step();
  EXPECT_TRUE(torch::equal(q->alpha(), frozen_value));
  q->set_frozen(false);
  train_step();
  EXPECT_FALSE(torch::equal(q->alpha(), frozen_value));
}

TEST(Pact, StateRoundTripKeepsAlpha) {
  auto q = make_pact(4, 6.0);
  {
    torch::NoGradGuard no_grad;
    q->alpha().fill_(2.75);
  }
  torch::serialize::OutputArchive out;
  q->save(out);
  std::stringstream stream;
  out.save_to(stream);
  auto loaded = make_pact(4, 6.0);
  torch::serialize::InputArchive in;
  in.load_from(stream);
  loaded->load(in);
  EXPECT_EQ(loaded->alpha().item<float>(), 2.75f);
  const torch::Tensor x = torch::randn({30}) * 3;
  EXPECT_TRUE(torch::equal(loaded->forward(x), q->forward(x)));
}

TEST(Pact, IntegerFormIsBitExactAcrossWidthsAndShapes) {
  torch::manual_seed(24);
  for (int bits = 1; bits <= 8; ++bits) {
    for (int64_t n : {1, 3, 7, 17, 33}) {
      auto q = make_pact(bits, 1.7);
      const torch::Tensor x = torch::randn({n, 2}) * 2;
      const torch::Tensor y = q->forward(x);
      const IntegerForm form = q->integer_form(x);
      SCOPED_TRACE(testing::Message() << "bits=" << bits << " n=" << n);
      EXPECT_TRUE(torch::equal(form.dequantize(), y));
      EXPECT_GE(form.codes.min().item<int64_t>(), 0);
      EXPECT_LE(form.codes.max().item<int64_t>(), (int64_t{1} << bits) - 1);
      EXPECT_LE(std::get<0>(torch::_unique(y)).numel(), int64_t{1} << bits);
      EXPECT_TRUE(torch::isin(y, q->levels(x)).all().item<bool>());
      EXPECT_FALSE(form.is_signed);
      EXPECT_EQ(form.bits, bits);
    }
  }
}

TEST(Pact, IntegerFormIsBitExactOnRoundingBoundaries) {
  auto q = make_pact(4, 3.0);
  const float s = q->step().item<float>();
  const torch::Tensor ties = (torch::arange(0, 16, torch::kFloat32) + 0.5f) * s;
  const torch::Tensor x = torch::cat({ties, torch::nextafter(ties, ties + 1),
                                      torch::nextafter(ties, ties - 1), torch::randn({1000}) * 3});
  EXPECT_TRUE(torch::equal(q->integer_form(x).dequantize(), q->forward(x)));
}

TEST(Pact, SetBitsKeepsAlpha) {
  auto q = make_pact(8, 2.0);
  q->set_bits(2);
  EXPECT_EQ(q->bits(), 2);
  EXPECT_EQ(q->alpha().item<float>(), 2.0f);
  EXPECT_EQ(q->levels(torch::zeros({1})).numel(), 4);
  EXPECT_THROW(q->set_bits(0), SpecError);
}

TEST(Pact, RegistryBuildsItForActivationsOnly) {
  const Quantizer q = make_quantizer("pact:bits=3,alpha=2.5", Role::kActivation);
  EXPECT_EQ(q->bits(), 3);
  EXPECT_EQ(q->spec().str(), "pact:bits=3,alpha=2.5");
  EXPECT_EQ(make_quantizer("pact", Role::kActivation)->spec().str(), "pact:bits=4,alpha=6");
  EXPECT_THROW(make_quantizer("pact", Role::kWeight), SpecError);
  EXPECT_THROW(make_quantizer("pact:alpha=-1", Role::kActivation), SpecError);
  EXPECT_THROW(make_quantizer("pact:bits=0", Role::kActivation), SpecError);
}

}  // namespace
}  // namespace lowbit::quant
