#include "lowbit/nn/initializers.h"

#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace lowbit::nn {

namespace {

// Keras VarianceScaling(truncated_normal) divides the deviation by the standard deviation of a
// unit normal truncated to [-2, 2], so the drawn values have the requested variance.
constexpr double kTruncatedNormalStd = 0.87962566103423978;

// Keras's VarianceScaling family: the variance scale and whether fan_in, fan_out or their mean
// sets it.
struct VarianceScaling {
  double scale;
  enum class Mode { kFanIn, kFanAvg } mode;
  bool normal;
};

bool variance_scaling(const std::string& name, VarianceScaling& out) {
  using M = VarianceScaling::Mode;
  // kaiming_uniform(a = sqrt 5): gain^2 = 2 / (1 + 5), bound sqrt(3 / 3 / fan_in).
  if (name == "torch_default")
    out = {1.0 / 3.0, M::kFanIn, false};
  else if (name == "glorot_uniform")
    out = {1.0, M::kFanAvg, false};
  else if (name == "glorot_normal")
    out = {1.0, M::kFanAvg, true};
  else if (name == "he_uniform")
    out = {2.0, M::kFanIn, false};
  else if (name == "he_normal")
    out = {2.0, M::kFanIn, true};
  else if (name == "lecun_uniform")
    out = {1.0, M::kFanIn, false};
  else if (name == "lecun_normal")
    out = {1.0, M::kFanIn, true};
  else
    return false;
  return true;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Normal values truncated to +-2 deviations, redrawing those outside (as tf.truncated_normal).
void truncated_normal_(torch::Tensor& t, double stddev) {
  t.normal_(0.0, stddev);
  for (torch::Tensor out = t.abs() > 2.0 * stddev; out.any().item<bool>();
       out = t.abs() > 2.0 * stddev) {
    t.masked_scatter_(out, torch::empty_like(t).normal_(0.0, stddev).masked_select(out));
  }
}

}  // namespace

const std::vector<std::string>& kernel_initializer_names() {
  static const std::vector<std::string> names = {"torch_default", "glorot_uniform", "glorot_normal",
                                                 "he_uniform",    "he_normal",      "lecun_uniform",
                                                 "lecun_normal"};
  return names;
}

const std::vector<std::string>& bias_initializer_names() {
  static const std::vector<std::string> names = {"torch_default", "zeros"};
  return names;
}

void check_kernel_initializer(const std::string& name) {
  const auto& names = kernel_initializer_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    throw std::invalid_argument("unknown kernel initializer '" + name + "': expected one of " +
                                joined(names));
  }
}

void check_bias_initializer(const std::string& name) {
  const auto& names = bias_initializer_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    throw std::invalid_argument("unknown bias initializer '" + name + "': expected one of " +
                                joined(names));
  }
}

void init_kernel(torch::Tensor& weight, const std::string& name, double variance_scale) {
  check_kernel_initializer(name);
  torch::NoGradGuard no_grad;
  if (name == "torch_default" && variance_scale == 1.0) {
    torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
    return;
  }
  VarianceScaling v{};
  variance_scaling(name, v);
  const auto [fan_in, fan_out] = torch::nn::init::_calculate_fan_in_and_fan_out(weight);
  const double n = v.mode == VarianceScaling::Mode::kFanIn
                       ? static_cast<double>(fan_in)
                       : 0.5 * static_cast<double>(fan_in + fan_out);
  const double variance = v.scale * variance_scale / n;
  if (v.normal) {
    truncated_normal_(weight, std::sqrt(variance) / kTruncatedNormalStd);
  } else {
    const double limit = std::sqrt(3.0 * variance);
    weight.uniform_(-limit, limit);
  }
}

void init_bias(torch::Tensor& bias, const torch::Tensor& weight, const std::string& name) {
  check_bias_initializer(name);
  torch::NoGradGuard no_grad;
  if (name == "zeros") {
    bias.zero_();
    return;
  }
  const auto fans = torch::nn::init::_calculate_fan_in_and_fan_out(weight);
  const double bound = 1.0 / std::sqrt(static_cast<double>(std::get<0>(fans)));
  bias.uniform_(-bound, bound);
}

bool fit_kernel_to_grid(torch::Tensor& weight, const std::string& name,
                        quant::QuantizerImpl& quantizer) {
  VarianceScaling v{};
  if (!variance_scaling(name, v) || !quantizer.scale_is_static()) return false;
  torch::NoGradGuard no_grad;
  const double max_value = std::max(1.0, quantizer.levels(weight).abs().max().item<double>());
  const double delta = max_value * std::ldexp(1.0, -quantizer.bits());
  init_kernel(weight, name);
  // np.std: the population deviation.
  if (delta > weight.std(/*unbiased=*/false).item<double>()) {
    const torch::Tensor q = quantizer.forward(weight);
    double scale = 1.0;
    if (q.abs().max().item<double>() == 0.0) {
      scale = max_value / std::sqrt(weight.square().mean().item<double>());
    } else {
      scale = q.square().sum().item<double>() / (q * weight).sum().item<double>();
    }
    init_kernel(weight, name, std::max(scale, 1.0));
  }
  weight.clamp_(-max_value, max_value);
  return true;
}

}  // namespace lowbit::nn
