// Surrogate gradients of the spike function of spiking neurons (docs/spiking.md): the forward pass
// is the Heaviside step, whose derivative is zero almost everywhere, so the backward pass uses the
// derivative of a smooth stand-in instead.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace lowbit::nn {

/// The shapes of surrogate gradient.
enum class SurrogateKind { kAtan = 0, kFastSigmoid = 1, kTriangle = 2 };

/// A surrogate gradient: its shape and its one parameter (atan: alpha, fast_sigmoid: slope,
/// triangle: width).
struct Surrogate {
  /// The shape.
  SurrogateKind kind = SurrogateKind::kAtan;
  /// alpha of atan, slope of fast_sigmoid, width of triangle; positive.
  double param = 2.0;

  /// snnTorch's atan: dS/dx = (alpha / 2) / (1 + (pi / 2 * alpha * x)^2).
  static Surrogate atan(double alpha = 2.0);
  /// snnTorch's fast_sigmoid (SuperSpike): dS/dx = 1 / (1 + slope * |x|)^2.
  static Surrogate fast_sigmoid(double slope = 25.0);
  /// The triangle: dS/dx = max(0, 1 - |x| / width) / width (area 1).
  static Surrogate triangle(double width = 1.0);
  /// Parses "atan", "atan:alpha=3", "fast_sigmoid:slope=25", "triangle:width=0.5"; an unknown
  /// name or key, or a parameter that is not a positive number, is std::invalid_argument naming
  /// the text and the choices.
  static Surrogate parse(const std::string& text);
  /// The text parse() reads back ("atan:alpha=2").
  std::string to_string() const;
};

/// The names Surrogate::parse accepts, with their parameter keys ("atan:alpha", ...).
const std::vector<std::string>& surrogate_names();

/// The smooth function whose derivative is the surrogate gradient: atan 1/2 + atan(pi/2 alpha
/// x)/pi, fast_sigmoid x / (1 + slope |x|), triangle the piecewise quadratic rising from 0 at
/// -width to 1 at +width. Differentiable with ordinary autograd (finite-difference checks use it).
torch::Tensor surrogate_function(const torch::Tensor& x, const Surrogate& surrogate);

/// The surrogate gradient dS/dx at x (the derivative of surrogate_function).
torch::Tensor surrogate_gradient(const torch::Tensor& x, const Surrogate& surrogate);

/// The spike function: 1 where x > 0, else 0 (x's dtype; 0 at x == 0, as in snnTorch and Norse),
/// with backward grad * surrogate_gradient(x).
torch::Tensor spike(const torch::Tensor& x, const Surrogate& surrogate);

}  // namespace lowbit::nn
