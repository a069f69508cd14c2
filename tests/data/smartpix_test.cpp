#include "lowbit/data/smartpix.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lowbit::data {
namespace {

SmartpixData generate(uint64_t seed, int64_t count = 2000) {
  SmartpixOptions options;
  options.count = count;
  options.seed = seed;
  return generate_smartpix(options);
}

// Pearson correlation of two 1-D tensors.
double correlation(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor x = a.to(torch::kFloat64) - a.to(torch::kFloat64).mean();
  const torch::Tensor y = b.to(torch::kFloat64) - b.to(torch::kFloat64).mean();
  return ((x * y).sum() / (x.norm() * y.norm())).item<double>();
}

TEST(Smartpix, FeaturesFollowTheDocumentedLayout) {
  torch::Tensor charge = torch::zeros({1, kSmartpixRows, kSmartpixCols});
  charge[0][6][10] = 1000.0f;
  charge[0][7][10] = 500.0f;
  charge[0][6][11] = 3.0f;
  const torch::Tensor f = smartpix_features(charge, torch::tensor({12.5f}), torch::tensor({-3.0f}));
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{1, kSmartpixFeatures}));
  EXPECT_EQ(kSmartpixFeatures, 36);
  EXPECT_EQ(kSmartpixBranch2Offset, 22);
  EXPECT_FLOAT_EQ(f[0][10].item<float>(), std::log2(1501.0f));
  EXPECT_FLOAT_EQ(f[0][11].item<float>(), 2.0f);
  EXPECT_EQ(f[0][0].item<float>(), 0.0f);
  EXPECT_EQ(f[0][21].item<float>(), 12.5f);
  EXPECT_FLOAT_EQ(f[0][22 + 6].item<float>(), std::log2(1004.0f));
  EXPECT_FLOAT_EQ(f[0][22 + 7].item<float>(), std::log2(501.0f));
  EXPECT_EQ(f[0][35].item<float>(), -3.0f);
  EXPECT_FLOAT_EQ(log2_compress(torch::tensor({-7.0f}))[0].item<float>(), -3.0f);
  EXPECT_THROW(smartpix_features(torch::zeros({1, 21, 13}), torch::zeros({1}), torch::zeros({1})),
               std::invalid_argument);
}

TEST(Smartpix, ShapesBalanceAndThreshold) {
  const SmartpixData data = generate(1, 2001);
  const Dataset& d = data.dataset;
  d.check();
  EXPECT_EQ(d.inputs.sizes(), (std::vector<int64_t>{2001, 36}));
  EXPECT_EQ(d.targets.scalar_type(), torch::kFloat32);
  EXPECT_EQ(d.targets.sum().item<float>(), 1000.0f);
  EXPECT_EQ(data.clusters.charge.sizes(), (std::vector<int64_t>{2001, 13, 21}));
  EXPECT_TRUE(torch::equal(d.inputs, smartpix_features(data.clusters.charge, data.clusters.z_global,
                                                       data.clusters.y_local)));
  const torch::Tensor nonzero = data.clusters.charge.masked_select(data.clusters.charge != 0);
  EXPECT_GE(nonzero.min().item<float>(), 400.0f);
  // Every cluster has a pixel over threshold.
  EXPECT_EQ((data.clusters.charge.sum({1, 2}) == 0).sum().item<int64_t>(), 0);
  EXPECT_LE(data.clusters.y_local.abs().max().item<float>(), 8.0f);
}

TEST(Smartpix, DeterministicForASeed) {
  const SmartpixData a = generate(5, 300);
  const SmartpixData b = generate(5, 300);
  const SmartpixData c = generate(6, 300);
  EXPECT_TRUE(torch::equal(a.dataset.inputs, b.dataset.inputs));
  EXPECT_TRUE(torch::equal(a.dataset.targets, b.dataset.targets));
  EXPECT_FALSE(torch::equal(a.dataset.inputs, c.dataset.inputs));
  EXPECT_FALSE(torch::equal(a.dataset.targets, c.dataset.targets));
}

TEST(Smartpix, SignalAndBackgroundDifferAsThePhysicsSays) {
  const SmartpixData data = generate(2, 4000);
  const torch::Tensor is_signal = data.clusters.labels > 0.5f;
  const torch::Tensor charge = data.clusters.charge;
  const torch::Tensor total = charge.sum({1, 2});
  const torch::Tensor x_size = (charge.sum(1) > 0).sum(1).to(torch::kFloat32);
  const torch::Tensor y_size = (charge.sum(2) > 0).sum(1).to(torch::kFloat32);
  const torch::Tensor z = data.clusters.z_global;
  const double signal_charge = total.masked_select(is_signal).mean().item<double>();
  const double background_charge = total.masked_select(~is_signal).mean().item<double>();
  // Out-of-time and partial background tracks collect less charge.
  EXPECT_GT(signal_charge, 1.2 * background_charge);
  // A MIP crossing 100 um at normal incidence leaves roughly 7-8k electrons; signal tracks are
  // longer, so the mean lies above that.
  EXPECT_GT(signal_charge, 7000.0);
  EXPECT_LT(signal_charge, 40000.0);
  // Prompt tracks are long in x exactly when |z| / R is large; background has no such link.
  const double signal_corr =
      correlation(z.abs().masked_select(is_signal), x_size.masked_select(is_signal));
  const double background_corr =
      correlation(z.abs().masked_select(~is_signal), x_size.masked_select(~is_signal));
  EXPECT_GT(signal_corr, 0.8);
  EXPECT_LT(std::abs(background_corr), 0.1);
  // Stiff prompt tracks are narrow in y (Lorentz drift spreads them over ~2 rows); soft
  // background at random angles is wider on average.
  const double signal_y = y_size.masked_select(is_signal).mean().item<double>();
  const double background_y = y_size.masked_select(~is_signal).mean().item<double>();
  EXPECT_LT(signal_y, 3.0);
  EXPECT_GT(background_y, signal_y);
}

TEST(Smartpix, RealClustersMakeADataset) {
  torch::manual_seed(0);
  const torch::Tensor charge = torch::rand({5, 13, 21}) * 1000;
  const Dataset d = smartpix_dataset(charge, torch::zeros({5}), torch::ones({5}),
                                     torch::tensor({1, 0, 1, 0, 0}), "real");
  d.check();
  EXPECT_EQ(d.inputs.sizes(), (std::vector<int64_t>{5, 36}));
  EXPECT_EQ(d.targets.scalar_type(), torch::kFloat32);
  EXPECT_THROW(
      smartpix_dataset(charge, torch::zeros({5}), torch::ones({5}), torch::zeros({4}), "x"),
      std::invalid_argument);
}

TEST(Smartpix, RejectsBadOptions) {
  SmartpixOptions options;
  options.count = 10;
  options.pitch_x_um = 0;
  EXPECT_THROW(generate_smartpix(options), std::invalid_argument);
  options = SmartpixOptions{};
  options.min_theta_deg = 0;
  EXPECT_THROW(generate_smartpix(options), std::invalid_argument);
  options = SmartpixOptions{};
  options.count = 4;
  options.threshold_electrons = 1e9;
  EXPECT_THROW(generate_smartpix(options), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::data
