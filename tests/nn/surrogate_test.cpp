#include "lowbit/nn/surrogate.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>
#include <string>
#include <vector>

namespace lowbit::nn {
namespace {

constexpr double kPi = 3.14159265358979323846;

torch::Tensor dbl(const std::vector<double>& values) {
  return torch::tensor(values, torch::kFloat64);
}

// The gradient formulas, written out here independently of the library.
torch::Tensor formula(const torch::Tensor& x, const Surrogate& s) {
  const double p = s.param;
  switch (s.kind) {
    case SurrogateKind::kAtan:
      return (p / 2.0) / (1.0 + (kPi / 2.0 * p * x) * (kPi / 2.0 * p * x));
    case SurrogateKind::kFastSigmoid:
      return 1.0 / ((1.0 + p * x.abs()) * (1.0 + p * x.abs()));
    case SurrogateKind::kTriangle:
      return torch::relu(1.0 - x.abs() / p) / p;
  }
  return {};
}

const std::vector<Surrogate>& cases() {
  static const std::vector<Surrogate> all = {Surrogate::atan(),         Surrogate::atan(3.5),
                                             Surrogate::fast_sigmoid(), Surrogate::fast_sigmoid(5),
                                             Surrogate::triangle(),     Surrogate::triangle(0.5)};
  return all;
}

TEST(Surrogate, ForwardIsTheStrictHeavisideInTheInputsDtype) {
  for (const Surrogate& s : cases()) {
    for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
      const torch::Tensor x = torch::tensor({-1.0, -1e-6, 0.0, 1e-6, 2.0}, dtype);
      const torch::Tensor y = spike(x, s);
      EXPECT_EQ(y.scalar_type(), dtype);
      EXPECT_TRUE(torch::equal(y, torch::tensor({0.0, 0.0, 0.0, 1.0, 1.0}, dtype)))
          << s.to_string();
    }
  }
}

TEST(Surrogate, BackwardIsTheFormulaOfEachKind) {
  torch::manual_seed(1);
  for (const Surrogate& s : cases()) {
    const torch::Tensor x = torch::linspace(-2.0, 2.0, 81, torch::kFloat64).requires_grad_(true);
    const torch::Tensor upstream = torch::rand({81}, torch::kFloat64) + 0.5;
    spike(x, s).backward(upstream);
    const torch::Tensor expected = upstream * formula(x.detach(), s);
    EXPECT_TRUE(torch::allclose(x.grad(), expected, 1e-12, 1e-14)) << s.to_string();
    EXPECT_TRUE(
        torch::allclose(surrogate_gradient(x.detach(), s), formula(x.detach(), s), 1e-12, 1e-14))
        << s.to_string();
  }
  // The peaks: atan alpha / 2, fast_sigmoid 1, triangle 1 / width.
  const torch::Tensor zero = dbl({0.0});
  EXPECT_DOUBLE_EQ(surrogate_gradient(zero, Surrogate::atan(3.0)).item<double>(), 1.5);
  EXPECT_DOUBLE_EQ(surrogate_gradient(zero, Surrogate::fast_sigmoid(25)).item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(surrogate_gradient(zero, Surrogate::triangle(0.5)).item<double>(), 2.0);
  // The triangle is zero from its width on; the others are not.
  EXPECT_EQ(
      surrogate_gradient(dbl({0.5, 0.7}), Surrogate::triangle(0.5)).abs().sum().item<double>(),
      0.0);
  EXPECT_GT(surrogate_gradient(dbl({3.0}), Surrogate::atan()).item<double>(), 0.0);
}

TEST(Surrogate, GradientIsTheFiniteDifferenceOfTheSmoothFunction) {
  // Points off the kinks (0 and +-width), where the central difference is second-order exact.
  const torch::Tensor x = torch::linspace(-2.3, 2.3, 47, torch::kFloat64) + 0.0137;
  const double h = 1e-6;
  for (const Surrogate& s : cases()) {
    const torch::Tensor difference =
        (surrogate_function(x + h, s) - surrogate_function(x - h, s)) / (2.0 * h);
    const torch::Tensor gradient = surrogate_gradient(x, s);
    EXPECT_TRUE(torch::allclose(difference, gradient, 1e-6, 1e-8))
        << s.to_string() << ": max error " << (difference - gradient).abs().max().item<double>();
    // Autograd through the smooth function agrees as well.
    const torch::Tensor xg = x.clone().requires_grad_(true);
    surrogate_function(xg, s).sum().backward();
    EXPECT_TRUE(torch::allclose(xg.grad(), gradient, 1e-12, 1e-14)) << s.to_string();
  }
  // atan and the triangle rise from 0 to 1 as a step approximant does.
  EXPECT_NEAR(surrogate_function(dbl({-1e9}), Surrogate::atan()).item<double>(), 0.0, 1e-9);
  EXPECT_NEAR(surrogate_function(dbl({1e9}), Surrogate::atan()).item<double>(), 1.0, 1e-9);
  EXPECT_DOUBLE_EQ(surrogate_function(dbl({-0.5}), Surrogate::triangle(0.5)).item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(surrogate_function(dbl({0.0}), Surrogate::triangle(0.5)).item<double>(), 0.5);
  EXPECT_DOUBLE_EQ(surrogate_function(dbl({0.5}), Surrogate::triangle(0.5)).item<double>(), 1.0);
}

TEST(Surrogate, ParseReadsNamesAndParameters) {
  const Surrogate a = Surrogate::parse("atan");
  EXPECT_EQ(a.kind, SurrogateKind::kAtan);
  EXPECT_EQ(a.param, 2.0);
  EXPECT_EQ(Surrogate::parse("fast_sigmoid").param, 25.0);
  EXPECT_EQ(Surrogate::parse("triangle").param, 1.0);
  const Surrogate f = Surrogate::parse("fast_sigmoid:slope=100");
  EXPECT_EQ(f.kind, SurrogateKind::kFastSigmoid);
  EXPECT_EQ(f.param, 100.0);
  EXPECT_EQ(Surrogate::parse("triangle:width=0.25").param, 0.25);
  EXPECT_EQ(Surrogate::parse(Surrogate::atan(3.5).to_string()).param, 3.5);
  EXPECT_EQ(Surrogate::atan(3.5).to_string(), "atan:alpha=3.5");
  for (const std::string bad : {"sigmoid", "atan:slope=2", "atan:alpha=0", "atan:alpha=-1",
                                "atan:alpha=2x", "atan:alpha=", "triangle:width=nan", ""}) {
    try {
      Surrogate::parse(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("surrogate '" + bad + "'"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("fast_sigmoid:slope"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(Surrogate::atan(0.0), std::invalid_argument);
  EXPECT_THROW(Surrogate::triangle(-1.0), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::nn
