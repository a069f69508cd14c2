#include "lowbit/train/report/flow_color.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace lowbit::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

// The wheel's colours in [0, 1]: each segment runs from one primary or secondary colour towards
// the next, in integer steps of 255 / length as the benchmark's wheel does.
const std::array<std::array<double, 3>, kWheelColours>& wheel() {
  static const auto colours = [] {
    struct Segment {
      int length;
      std::array<double, 3> from, to;
    };
    const Segment segments[] = {{15, {1, 0, 0}, {1, 1, 0}}, {6, {1, 1, 0}, {0, 1, 0}},
                                {4, {0, 1, 0}, {0, 1, 1}},  {11, {0, 1, 1}, {0, 0, 1}},
                                {13, {0, 0, 1}, {1, 0, 1}}, {6, {1, 0, 1}, {1, 0, 0}}};
    std::array<std::array<double, 3>, kWheelColours> out{};
    size_t i = 0;
    for (const Segment& s : segments) {
      for (int k = 0; k < s.length; ++k, ++i) {
        for (int c = 0; c < 3; ++c) {
          const double step = std::floor(255.0 * k / s.length) / 255.0;
          out[i][static_cast<size_t>(c)] =
              s.from[static_cast<size_t>(c)] +
              (s.to[static_cast<size_t>(c)] - s.from[static_cast<size_t>(c)]) * step;
        }
      }
    }
    return out;
  }();
  return colours;
}

uint8_t to_byte(double value) {
  return static_cast<uint8_t>(std::clamp(std::floor(255.0 * value), 0.0, 255.0));
}

void check_flow(const torch::Tensor& flow, const torch::Tensor& valid) {
  if (flow.dim() != 3 || flow.size(0) != 2) {
    throw std::invalid_argument(
        "flow image: expected flow [2, H, W] (u, v), got " + std::to_string(flow.dim()) +
        " dimensions" +
        (flow.dim() > 0 ? ", first of size " + std::to_string(flow.size(0)) : std::string()));
  }
  if (valid.defined() &&
      (valid.dim() != 2 || valid.size(0) != flow.size(1) || valid.size(1) != flow.size(2))) {
    throw std::invalid_argument("flow image: expected a validity mask [H, W] = [" +
                                std::to_string(flow.size(1)) + ", " + std::to_string(flow.size(2)) +
                                "]");
  }
}

}  // namespace

Rgb8 flow_colour(double u, double v, double max_magnitude) {
  if (!(max_magnitude > 0.0) || !std::isfinite(u) || !std::isfinite(v)) return {255, 255, 255};
  const double r = std::hypot(u, v) / max_magnitude;
  // Direction as a position in [0, kWheelColours - 1]: angle of (-u, -v) from -1 to 1 turns.
  const double a = std::atan2(-v, -u) / kPi;
  const double position = (a + 1.0) / 2.0 * (kWheelColours - 1);
  const int k0 = std::clamp(static_cast<int>(std::floor(position)), 0, kWheelColours - 1);
  const int k1 = (k0 + 1) % kWheelColours;
  const double f = position - k0;
  Rgb8 out{};
  for (size_t c = 0; c < 3; ++c) {
    double col =
        (1.0 - f) * wheel()[static_cast<size_t>(k0)][c] + f * wheel()[static_cast<size_t>(k1)][c];
    col = r <= 1.0 ? 1.0 - r * (1.0 - col) : col * 0.75;
    out[c] = to_byte(col);
  }
  return out;
}

double max_flow_magnitude(const torch::Tensor& flow, const torch::Tensor& valid) {
  check_flow(flow, valid);
  torch::Tensor magnitude = flow.detach().to(torch::kFloat64).pow(2).sum(0).sqrt();
  if (valid.defined()) magnitude = magnitude.masked_select(valid.ne(0));
  magnitude = magnitude.masked_select(torch::isfinite(magnitude));
  return magnitude.numel() == 0 ? 0.0 : magnitude.max().item<double>();
}

torch::Tensor flow_to_rgb(const torch::Tensor& flow, double max_magnitude,
                          const torch::Tensor& valid) {
  check_flow(flow, valid);
  const int64_t h = flow.size(1), w = flow.size(2);
  const torch::Tensor f = flow.detach().to(torch::kFloat64).contiguous();
  const torch::Tensor m = valid.defined() ? valid.ne(0).contiguous() : torch::ones({h, w}).ne(0);
  const double* u = f.data_ptr<double>();
  const double* v = u + h * w;
  const bool* keep = m.data_ptr<bool>();
  torch::Tensor out = torch::zeros({h, w, 3}, torch::kUInt8);
  uint8_t* px = out.data_ptr<uint8_t>();
  for (int64_t i = 0; i < h * w; ++i) {
    if (!keep[i]) continue;  // black
    const Rgb8 c = flow_colour(u[i], v[i], max_magnitude);
    std::copy(c.begin(), c.end(), px + 3 * i);
  }
  return out;
}

torch::Tensor flow_comparison_image(const torch::Tensor& predicted, const torch::Tensor& truth,
                                    const torch::Tensor& valid) {
  check_flow(predicted, valid);
  check_flow(truth, valid);
  if (predicted.sizes() != truth.sizes()) {
    throw std::invalid_argument("flow image: predicted and true flow differ in shape");
  }
  double max_magnitude = max_flow_magnitude(truth, valid);
  if (!(max_magnitude > 0.0)) max_magnitude = max_flow_magnitude(predicted);
  const int64_t h = truth.size(1), w = truth.size(2);
  torch::Tensor out = torch::full({h, 2 * w + kComparisonGap, 3}, 255, torch::kUInt8);
  out.slice(1, 0, w).copy_(flow_to_rgb(predicted, max_magnitude));
  out.slice(1, w + kComparisonGap).copy_(flow_to_rgb(truth, max_magnitude, valid));
  return out;
}

torch::Tensor colour_wheel_legend(int64_t size) {
  if (size < 1) throw std::invalid_argument("colour wheel: size must be at least 1");
  torch::Tensor out = torch::zeros({size, size, 3}, torch::kUInt8);
  uint8_t* px = out.data_ptr<uint8_t>();
  const double centre = (static_cast<double>(size) - 1.0) / 2.0;
  const double radius = std::max(centre, 0.5);
  for (int64_t y = 0; y < size; ++y) {
    for (int64_t x = 0; x < size; ++x) {
      const double dx = static_cast<double>(x) - centre, dy = static_cast<double>(y) - centre;
      if (std::hypot(dx, dy) > radius) continue;
      const Rgb8 c = flow_colour(dx, dy, radius);
      std::copy(c.begin(), c.end(), px + 3 * (y * size + x));
    }
  }
  return out;
}

}  // namespace lowbit::train
