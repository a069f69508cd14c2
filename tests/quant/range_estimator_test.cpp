#include "lowbit/quant/affine/range_estimator.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/serialize.h>

#include <sstream>
#include <string>

#include "lowbit/quant/affine/affine_grid.h"

namespace lowbit::quant {
namespace {

RangeEstimator make(const std::string& text) {
  return make_range_estimator(QuantSpec::parse(text), "absmax");
}

TEST(RangeEstimator, AbsMaxPerTensorAndPerChannel) {
  const torch::Tensor x = torch::tensor({{1.0f, -4.0f, 2.0f}, {0.5f, 0.25f, 3.0f}});
  const ClipRange t = make("u")->estimate(x, -1, -8, 7);
  EXPECT_EQ(t.hi.dim(), 0);
  EXPECT_EQ(t.hi.item<float>(), 4.0f);
  EXPECT_EQ(t.lo.item<float>(), -4.0f);
  const ClipRange c = make("u")->estimate(x, 0, -8, 7);
  EXPECT_TRUE(torch::equal(c.hi, torch::tensor({4.0f, 3.0f})));
  // The second row has no negatives, so its range starts at 0.
  EXPECT_TRUE(torch::equal(c.lo, torch::tensor({-4.0f, 0.0f})));
}

TEST(RangeEstimator, AbsMeanScalesByProp) {
  const torch::Tensor x = torch::tensor({1.0f, -2.0f, 3.0f, -6.0f});
  const ClipRange r = make("u:scale=absmean,prop=2")->estimate(x, -1, -8, 7);
  EXPECT_EQ(r.hi.item<float>(), 6.0f);
  EXPECT_EQ(r.lo.item<float>(), -6.0f);
}

TEST(RangeEstimator, MinMaxIsAsymmetric) {
  const torch::Tensor x = torch::tensor({{-1.0f, 5.0f}, {2.0f, 3.0f}});
  const ClipRange r = make("u:scale=minmax")->estimate(x, 0, 0, 255);
  EXPECT_TRUE(torch::equal(r.lo, torch::tensor({-1.0f, 2.0f})));
  EXPECT_TRUE(torch::equal(r.hi, torch::tensor({5.0f, 3.0f})));
}

TEST(RangeEstimator, PercentileTakesOrderStatistics) {
  const torch::Tensor x = torch::arange(1, 1001, torch::kFloat32);
  const ClipRange r = make("u:scale=percentile,percentile=99")->estimate(x, -1, 0, 255);
  EXPECT_EQ(r.hi.item<float>(), 990.0f);
  EXPECT_EQ(r.lo.item<float>(), 11.0f);
  const ClipRange all = make("u:scale=percentile,percentile=100")->estimate(x, -1, 0, 255);
  EXPECT_EQ(all.hi.item<float>(), 1000.0f);
  EXPECT_EQ(all.lo.item<float>(), 1.0f);
}

double grid_mse(const torch::Tensor& x, float s, int64_t qmin, int64_t qmax) {
  const AffineGrid g =
      affine_grid({torch::tensor(-s).reshape({}), torch::tensor(s).reshape({})}, qmin, qmax, -1);
  return (fake_quantize(x, g) - x).square().mean().item<double>();
}

TEST(RangeEstimator, MseBeatsEveryOtherCandidateLevel) {
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({4096});
  const ClipRange r = make("u:scale=mse")->estimate(x, -1, -8, 7);
  const float s = r.hi.item<float>();
  const float amax = x.abs().max().item<float>();
  EXPECT_LT(s, amax);  // Clipping pays at 4 bits on Gaussian data.
  const double best = grid_mse(x, s, -8, 7);
  for (int k = 1; k <= kMseCandidates; ++k) {
    EXPECT_LE(best, grid_mse(x, amax * static_cast<float>(k) / kMseCandidates, -8, 7)) << k;
  }
}

TEST(RangeEstimator, MsePerChannelHasOneLevelPerRow) {
  torch::manual_seed(6);
  const torch::Tensor x = torch::randn({3, 257}) * torch::tensor({{0.1f}, {1.0f}, {10.0f}});
  const ClipRange r = make("u:scale=mse")->estimate(x, 0, -2, 1);
  ASSERT_EQ(r.hi.sizes(), torch::IntArrayRef({3}));
  EXPECT_LT(r.hi[0].item<float>(), r.hi[1].item<float>());
  EXPECT_LT(r.hi[1].item<float>(), r.hi[2].item<float>());
}

TEST(EmaEstimator, UpdatesInTrainingModeOnly) {
  auto ema = std::make_shared<EmaEstimatorImpl>(0.25);
  EXPECT_FALSE(ema->initialized());
  ema->train();
  ema->observe(torch::tensor({-2.0f, 4.0f}), -1);
  EXPECT_TRUE(ema->initialized());
  EXPECT_EQ(ema->running_min().item<float>(), -2.0f);
  EXPECT_EQ(ema->running_max().item<float>(), 4.0f);
  ema->observe(torch::tensor({-6.0f, 8.0f}), -1);
  EXPECT_EQ(ema->running_min().item<float>(), -3.0f);  // -2 + 0.25 * (-6 - -2)
  EXPECT_EQ(ema->running_max().item<float>(), 5.0f);
  ema->eval();
  ema->observe(torch::tensor({-100.0f, 100.0f}), -1);
  EXPECT_EQ(ema->running_max().item<float>(), 5.0f);
  const ClipRange r = ema->estimate(torch::tensor({-100.0f, 100.0f}), -1, 0, 255);
  EXPECT_EQ(r.lo.item<float>(), -3.0f);
  EXPECT_EQ(r.hi.item<float>(), 5.0f);
}

TEST(EmaEstimator, FrozenObserverDoesNotMove) {
  auto ema = std::make_shared<EmaEstimatorImpl>(0.5);
  ema->train();
  ema->observe(torch::tensor({0.0f, 2.0f}), -1);
  ema->set_frozen(true);
  ema->observe(torch::tensor({0.0f, 10.0f}), -1);
  EXPECT_EQ(ema->running_max().item<float>(), 2.0f);
  ema->set_frozen(false);
  ema->observe(torch::tensor({0.0f, 10.0f}), -1);
  EXPECT_EQ(ema->running_max().item<float>(), 6.0f);
}

TEST(EmaEstimator, FallsBackToTheBatchBeforeAnyObservation) {
  auto ema = std::make_shared<EmaEstimatorImpl>(0.1);
  ema->eval();
  const ClipRange r = ema->estimate(torch::tensor({-1.0f, 3.0f}), -1, 0, 255);
  EXPECT_EQ(r.lo.item<float>(), -1.0f);
  EXPECT_EQ(r.hi.item<float>(), 3.0f);
  EXPECT_FALSE(ema->initialized());
}

TEST(EmaEstimator, PerChannelBuffersSaveAndLoad) {
  auto ema = std::make_shared<EmaEstimatorImpl>(0.1);
  ema->train();
  ema->observe(torch::tensor({{-1.0f, 2.0f}, {3.0f, 5.0f}, {-7.0f, 0.0f}}), 0);
  const auto buffers = ema->named_buffers();
  ASSERT_TRUE(buffers.contains("min_val"));
  EXPECT_TRUE(torch::equal(buffers["min_val"], torch::tensor({-1.0f, 3.0f, -7.0f})));
  std::stringstream stream;
  {
    torch::serialize::OutputArchive out;
    ema->save(out);
    out.save_to(stream);
  }
  auto loaded = std::make_shared<EmaEstimatorImpl>(0.1);
  torch::serialize::InputArchive in;
  in.load_from(stream);
  loaded->load(in);
  EXPECT_TRUE(loaded->initialized());
  EXPECT_TRUE(torch::equal(loaded->running_min(), torch::tensor({-1.0f, 3.0f, -7.0f})));
  EXPECT_TRUE(torch::equal(loaded->running_max(), torch::tensor({2.0f, 5.0f, 0.0f})));
}

TEST(RangeEstimator, FactoryNamesEveryEstimator) {
  for (const std::string name :
       {"absmax", "absmean", "minmax", "ema", "percentile", "mse", "octav"}) {
    EXPECT_EQ(make("u:scale=" + name)->name(), name);
  }
  EXPECT_EQ(make_range_estimator(QuantSpec::parse("u"), "ema")->name(), "ema");
}

TEST(RangeEstimator, BadKeysNameTheKey) {
  const auto message = [](const std::string& text) {
    try {
      make(text);
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("u:scale=bogus").find("'scale'"), std::string::npos);
  EXPECT_NE(message("u:scale=absmean,prop=0").find("'prop'"), std::string::npos);
  EXPECT_NE(message("u:scale=ema,momentum=1.5").find("'momentum'"), std::string::npos);
  EXPECT_NE(message("u:scale=percentile,percentile=20").find("'percentile'"), std::string::npos);
  EXPECT_NE(message("u:scale=percentile,percentile=x").find("'percentile'"), std::string::npos);
}

}  // namespace
}  // namespace lowbit::quant
