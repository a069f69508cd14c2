#include "lowbit/quant/affine/uniform.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <string>
#include <vector>

#include "lowbit/quant/registry.h"
#include "quant/quantizer_checks.h"

namespace lowbit::quant {
namespace {

UniformQuantizer make_uniform(const std::string& text, Role role = Role::kWeight) {
  auto q =
      std::dynamic_pointer_cast<UniformQuantizerImpl>(make_quantizer(std::string_view(text), role));
  EXPECT_NE(q, nullptr) << text;
  return q;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (int64_t d : shape) s += std::to_string(d) + "x";
  return s;
}

TEST(UniformQuantizer, CodeRanges) {
  EXPECT_EQ(code_range(4, true, false), std::make_pair(int64_t{-8}, int64_t{7}));
  EXPECT_EQ(code_range(4, true, true), std::make_pair(int64_t{-7}, int64_t{7}));
  EXPECT_EQ(code_range(4, false, false), std::make_pair(int64_t{0}, int64_t{15}));
  EXPECT_EQ(code_range(1, false, false), std::make_pair(int64_t{0}, int64_t{1}));
}

// Every bit width, signedness, range and estimator over awkward shapes: bit-exact integer form,
// codes in range, at most 2^bits codes, outputs on the grid and idempotent on the same grid.
TEST(UniformQuantizer, GridPropertiesHoldForEverySetting) {
  torch::manual_seed(11);
  const std::vector<std::string> scales = {"absmax", "absmean,prop=2", "minmax", "percentile",
                                           "mse",    "octav"};
  int checked = 0;
  for (int bits = 1; bits <= 8; ++bits) {
    for (const char* sign : {"1", "0"}) {
      for (const char* narrow : {"0", "1"}) {
        for (const char* per_channel : {"0", "1"}) {
          const std::string& scale = scales[static_cast<size_t>(checked) % scales.size()];
          const std::string text = "uniform:bits=" + std::to_string(bits) + ",signed=" + sign +
                                   ",narrow=" + narrow + ",per_channel=" + per_channel +
                                   ",scale=" + scale;
          UniformQuantizer q = make_uniform(text);
          for (const auto& shape : testing::awkward_shapes()) {
            const torch::Tensor x = torch::randn(shape) * 2 + (sign[0] == '0' ? 0.5 : 0.0);
            const std::string what = text + " shape " + shape_text(shape);
            testing::expect_integer_form_matches(*q, x, what);
            const torch::Tensor y = q->forward(x);
            testing::expect_on_levels(y, q->levels(x), what);
            if (bits > 1 || sign[0] == '0') {
              EXPECT_TRUE(torch::equal(fake_quantize(y, q->grid(x)), y)) << what;
            } else {
              // Binary: the signs of y on the same scale are y again.
              const IntegerForm form = q->integer_form(x);
              const torch::Tensor s = broadcast_along(form.scale, form.axis, x.dim());
              EXPECT_TRUE(torch::equal(torch::where(y >= 0, 1.0f, -1.0f) * s, y)) << what;
            }
          }
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 64);
}

TEST(UniformQuantizer, PerChannelScalesFollowAxisZero) {
  const torch::Tensor x = torch::tensor({{1.0f, -0.4f, 0.25f}, {8.0f, 4.4f, -2.0f}});
  UniformQuantizer q = make_uniform("uniform:bits=4,per_channel=1");
  const IntegerForm form = q->integer_form(x);
  EXPECT_EQ(form.axis, 0);
  EXPECT_TRUE(torch::allclose(form.scale, torch::tensor({1.0f / 7, 8.0f / 7})));
  EXPECT_TRUE(torch::equal(form.codes, torch::tensor({{7, -3, 2}, {7, 4, -2}}, torch::kInt32)));
  // Rank-1 tensors are scaled as a whole even with per_channel=1.
  EXPECT_EQ(q->integer_form(torch::randn({5})).axis, -1);
}

TEST(UniformQuantizer, UnsignedGridUsesAZeroPoint) {
  UniformQuantizer q = make_uniform("uniform:bits=2,signed=0,scale=minmax");
  const torch::Tensor x = torch::tensor({-1.0f, 0.0f, 1.0f, 2.0f});
  const IntegerForm form = q->integer_form(x);
  EXPECT_EQ(form.zero_point.item<int>(), 1);
  EXPECT_TRUE(torch::equal(form.codes, torch::tensor({0, 1, 2, 3}, torch::kInt32)));
  EXPECT_TRUE(torch::equal(q->forward(x), x));
}

TEST(UniformQuantizer, GradientPassesInsideTheRangeOnly) {
  UniformQuantizer q = make_uniform("uniform:bits=4,integer=0");  // step 1/8, codes [-8, 7]
  const torch::Tensor x =
      torch::tensor({-2.0f, -0.5f, 0.3f, 0.93f, 1.5f, -1.2f}, torch::requires_grad());
  const torch::Tensor upstream = torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f});
  q->forward(x).backward(upstream);
  EXPECT_TRUE(torch::equal(x.grad(), torch::tensor({0.f, 2.f, 3.f, 4.f, 0.f, 0.f})));
}

TEST(UniformQuantizer, GradientMatchesTheUnclippedCodesForEverySetting) {
  torch::manual_seed(12);
  for (const std::string text :
       {"uniform:bits=3,scale=absmean", "uniform:bits=2,per_channel=1,scale=absmean",
        "uniform:bits=5,signed=0,scale=percentile,percentile=90", "uniform:bits=1,scale=absmean",
        "uniform:bits=4,alpha=auto_po2"}) {
    UniformQuantizer q = make_uniform(text);
    const torch::Tensor x = (torch::randn({7, 17}) * 3).requires_grad_();
    const torch::Tensor upstream = torch::randn({7, 17});
    q->forward(x).backward(upstream);
    torch::Tensor inside;
    if (q->bits() == 1) {
      const torch::Tensor s = broadcast_along(q->integer_form(x).scale, q->integer_form(x).axis, 2);
      inside = x.detach().abs() <= s;
    } else {
      const AffineGrid g = q->grid(x);
      const torch::Tensor inv =
          broadcast_along(torch::ones_like(g.scale) / g.scale, g.axis, x.dim());
      const torch::Tensor r =
          torch::round(x.detach() * inv) + broadcast_along(g.zero_point, g.axis, x.dim());
      inside = (r >= g.qmin).logical_and(r <= g.qmax);
    }
    EXPECT_TRUE(torch::equal(x.grad(), upstream * inside.to(torch::kFloat32))) << text;
    EXPECT_GT(inside.logical_not().sum().item<int64_t>(), 0) << text << ": nothing clipped";
  }
}

// Tables worked by hand from QKeras quantized_bits: p = x 2^(bits - keep_negative) / 2^integer,
// xq = 2^integer clip(round(p), keep_negative (symmetric - 2^(bits-keep_negative)), m - 1) / m.
TEST(UniformQuantizer, QKerasQuantizedBitsTables) {
  const auto run = [](const std::string& spec, std::vector<float> in) {
    return make_uniform(spec)->forward(torch::tensor(in));
  };
  const std::vector<float> in40 = {-1.5f, -1.0f, -0.3f,  -0.0625f, 0.0f, 0.06f,
                                   0.2f,  0.5f,  0.875f, 0.9f,     2.0f};
  EXPECT_TRUE(torch::equal(run("uniform:bits=4,integer=0", in40),
                           torch::tensor({-1.0f, -1.0f, -0.25f, 0.0f, 0.0f, 0.0f, 0.25f, 0.5f,
                                          0.875f, 0.875f, 0.875f})));
  EXPECT_TRUE(torch::equal(run("uniform:bits=4,integer=0,narrow=1", in40),
                           torch::tensor({-0.875f, -0.875f, -0.25f, 0.0f, 0.0f, 0.0f, 0.25f, 0.5f,
                                          0.875f, 0.875f, 0.875f})));
  EXPECT_TRUE(
      torch::equal(run("uniform:bits=4,integer=2",
                       {-5.0f, -4.0f, -1.3f, -0.25f, 0.2f, 0.75f, 1.1f, 3.4f, 3.75f, 10.0f}),
                   torch::tensor({-4.0f, -4.0f, -1.5f, 0.0f, 0.0f, 1.0f, 1.0f, 3.5f, 3.5f, 3.5f})));
  EXPECT_TRUE(torch::equal(run("uniform:bits=4,integer=2,narrow=1", {-5.0f, -3.6f, 3.6f}),
                           torch::tensor({-3.5f, -3.5f, 3.5f})));
  EXPECT_TRUE(torch::equal(
      run("uniform:bits=4,integer=0,signed=0", {-0.5f, 0.03f, 0.1f, 0.5f, 0.95f, 2.0f}),
      torch::tensor({0.0f, 0.0f, 0.125f, 0.5f, 0.9375f, 0.9375f})));
  EXPECT_TRUE(torch::equal(run("uniform:bits=1,integer=0", {-0.3f, 0.0f, 0.7f, 5.0f}),
                           torch::tensor({-1.0f, 1.0f, 1.0f, 1.0f})));
}

// QKeras auto_po2, worked by hand per channel: scale = po2(max|x| / 7); then five steps of
// z = sign(x) min(floor(|x|/scale + 0.5), 7), scale = po2(mean(x z) / mean(z z)).
TEST(UniformQuantizer, QKerasAutoPo2Table) {
  const torch::Tensor x =
      torch::tensor({{0.9f, -0.3f, 0.12f, 0.5f}, {0.05f, -0.02f, 0.011f, 0.03f}});
  UniformQuantizer q = make_uniform("uniform:bits=4,alpha=auto_po2");
  const IntegerForm form = q->integer_form(x);
  EXPECT_TRUE(torch::equal(form.scale, torch::tensor({0.125f, 0.0078125f})));
  EXPECT_TRUE(
      torch::equal(form.codes, torch::tensor({{7, -2, 1, 4}, {6, -3, 1, 4}}, torch::kInt32)));
  EXPECT_TRUE(
      torch::equal(q->forward(x), torch::tensor({{0.875f, -0.25f, 0.125f, 0.5f},
                                                 {0.046875f, -0.0234375f, 0.0078125f, 0.03125f}})));
  // integer=2 scales x by 2^-2 first and the result back by 2^2: the same grid here.
  EXPECT_TRUE(torch::equal(make_uniform("uniform:bits=4,alpha=auto_po2,integer=2")->forward(x),
                           q->forward(x)));
}

TEST(UniformQuantizer, QKerasAutoTable) {
  const torch::Tensor x =
      torch::tensor({{0.9f, -0.3f, 0.12f, 0.5f}, {0.05f, -0.02f, 0.011f, 0.03f}});
  UniformQuantizer q = make_uniform("uniform:bits=4,alpha=auto");
  const IntegerForm form = q->integer_form(x);
  EXPECT_TRUE(torch::allclose(form.scale, torch::tensor({0.9f / 7, 0.05f / 7})));
  EXPECT_TRUE(
      torch::equal(form.codes, torch::tensor({{7, -2, 1, 4}, {7, -3, 2, 4}}, torch::kInt32)));
  testing::expect_integer_form_matches(*q, x, "auto");
}

TEST(UniformQuantizer, SetBitsChangesTheGrid) {
  torch::manual_seed(13);
  UniformQuantizer q = make_uniform("uniform:bits=8");
  const torch::Tensor x = torch::randn({1000});
  EXPECT_GT(std::get<0>(torch::_unique(q->integer_form(x).codes)).numel(), 16);
  q->set_bits(2);
  EXPECT_EQ(q->bits(), 2);
  EXPECT_LE(std::get<0>(torch::_unique(q->integer_form(x).codes)).numel(), 4);
  testing::expect_integer_form_matches(*q, x, "bits=2");
  EXPECT_EQ(q->spec().str(), "uniform:bits=2");
  EXPECT_EQ(make_quantizer(q->spec())->bits(), 2);
  EXPECT_THROW(q->set_bits(9), SpecError);
  EXPECT_THROW(q->set_bits(0), SpecError);
  EXPECT_THROW(make_uniform("uniform:bits=4,alpha=auto")->set_bits(1), SpecError);
}

TEST(UniformQuantizer, ActivationRoleDefaultsToUnsignedPerTensorEma) {
  UniformQuantizer q = make_uniform("uniform:bits=8", Role::kActivation);
  EXPECT_FALSE(q->options().is_signed);
  EXPECT_FALSE(q->options().per_channel);
  ASSERT_NE(q->estimator(), nullptr);
  EXPECT_EQ(q->estimator()->name(), "ema");
  EXPECT_EQ(make_uniform("uniform")->estimator()->name(), "absmax");
  EXPECT_TRUE(make_uniform("uniform")->options().is_signed);
}

TEST(UniformQuantizer, EmaObserverUpdatesInTrainingOnlyAndNotWhenFrozen) {
  UniformQuantizer q = make_uniform("uniform:bits=8,momentum=0.5", Role::kActivation);
  auto ema = std::dynamic_pointer_cast<EmaEstimatorImpl>(q->estimator());
  ASSERT_NE(ema, nullptr);
  EXPECT_TRUE(q->named_buffers().contains("estimator.max_val"));
  q->train();
  q->forward(torch::tensor({0.0f, 2.0f}));
  EXPECT_EQ(ema->running_max().item<float>(), 2.0f);
  q->forward(torch::tensor({0.0f, 4.0f}));
  EXPECT_EQ(ema->running_max().item<float>(), 3.0f);
  q->eval();
  const torch::Tensor big = torch::tensor({0.0f, 30.0f});
  const torch::Tensor y = q->forward(big);
  EXPECT_EQ(ema->running_max().item<float>(), 3.0f);
  EXPECT_EQ(y[1].item<float>(), 3.0f);  // clipped at the running max, 255 * (3/255)
  q->train();
  q->set_frozen(true);
  q->forward(big);
  EXPECT_EQ(ema->running_max().item<float>(), 3.0f);
  EXPECT_TRUE(ema->frozen());
  q->integer_form(big);
  EXPECT_EQ(ema->running_max().item<float>(), 3.0f);
  q->set_frozen(false);
  q->forward(big);
  EXPECT_EQ(ema->running_max().item<float>(), 16.5f);
}

std::string spec_error(const std::string& text, Role role = Role::kWeight) {
  try {
    make_quantizer(std::string_view(text), role);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "no error";
}

TEST(UniformQuantizer, BadSpecsNameTheKey) {
  EXPECT_NE(spec_error("uniform:bogus=1").find("'bogus'"), std::string::npos);
  EXPECT_NE(spec_error("uniform:bits=9").find("'bits'"), std::string::npos);
  EXPECT_NE(spec_error("uniform:bits=x").find("'bits'"), std::string::npos);
  EXPECT_NE(spec_error("uniform:signed=maybe").find("'signed'"), std::string::npos);
  EXPECT_NE(spec_error("uniform:scale=foo").find("'scale'"), std::string::npos);
  EXPECT_NE(spec_error("uniform:integer=2,scale=mse").find("'scale'"), std::string::npos);
  EXPECT_NE(spec_error("uniform:alpha=auto,signed=0").find("'alpha'"), std::string::npos);
  EXPECT_NE(spec_error("uniform:alpha=auto,bits=1").find("'alpha'"), std::string::npos);
  EXPECT_NE(spec_error("uniform:alpha=2").find("'alpha'"), std::string::npos);
  EXPECT_NE(spec_error("uniform:integer=99").find("'integer'"), std::string::npos);
  EXPECT_NE(spec_error("uniform:momentum=0").find("'momentum'"), std::string::npos);
}

TEST(UniformQuantizer, RegistryDescribesEveryParameter) {
  const QuantizerType& type = quantizer_type("uniform");
  EXPECT_EQ(type.roles.size(), 3u);
  EXPECT_EQ(type.params.size(), 10u);
  for (const auto& p : type.params) {
    EXPECT_FALSE(p.default_value.empty()) << p.name;
    EXPECT_FALSE(p.description.empty()) << p.name;
  }
}

}  // namespace
}  // namespace lowbit::quant
