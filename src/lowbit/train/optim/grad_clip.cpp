#include "lowbit/train/optim/grad_clip.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include <torch/nn/utils/clip_grad.h>

namespace lowbit::train {
namespace {

void check_threshold(const char* what, double threshold) {
  if (!(threshold > 0.0)) {
    throw std::invalid_argument(std::string(what) + ": threshold must be > 0, got " +
                                std::to_string(threshold));
  }
}

}  // namespace

ClipConfig parse_clipping(const config::ConfigNode& node) {
  ClipConfig config;
  const std::string mode =
      node.choice("mode", "global_norm", {"none", "global_norm", "tensor_norm", "value"});
  if (mode == "none") {
    config.mode = ClipMode::kNone;
  } else if (mode == "value") {
    config.mode = ClipMode::kValue;
    config.threshold = node.require_positive<double>("max_value");
  } else {
    config.mode = mode == "global_norm" ? ClipMode::kGlobalNorm : ClipMode::kTensorNorm;
    config.threshold = node.require_positive<double>("max_norm");
  }
  node.done();
  return config;
}

double grad_global_norm(const std::vector<torch::Tensor>& params) {
  // Accumulated in double so that the reported norm does not depend on the summation order.
  double sum = 0.0;
  for (const auto& param : params) {
    const auto& grad = param.grad();
    if (!grad.defined()) continue;
    sum += grad.detach().to(torch::kDouble).pow(2).sum().item<double>();
  }
  return std::sqrt(sum);
}

double clip_grad_global_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  check_threshold("clip_grad_global_norm", max_norm);
  const double norm = grad_global_norm(params);
  torch::nn::utils::clip_grad_norm_(params, max_norm);
  return norm;
}

double clip_grad_tensor_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  check_threshold("clip_grad_tensor_norm", max_norm);
  const double norm = grad_global_norm(params);
  for (const auto& param : params) {
    auto grad = param.grad();
    if (!grad.defined()) continue;
    const double tensor_norm = grad.detach().to(torch::kDouble).norm().item<double>();
    if (tensor_norm > max_norm) grad.mul_(max_norm / tensor_norm);
  }
  return norm;
}

double clip_grad_value(const std::vector<torch::Tensor>& params, double max_value) {
  check_threshold("clip_grad_value", max_value);
  const double norm = grad_global_norm(params);
  torch::nn::utils::clip_grad_value_(params, max_value);
  return norm;
}

double clip_gradients(const ClipConfig& config, const std::vector<torch::Tensor>& params) {
  switch (config.mode) {
    case ClipMode::kNone:
      return grad_global_norm(params);
    case ClipMode::kGlobalNorm:
      return clip_grad_global_norm(params, config.threshold);
    case ClipMode::kTensorNorm:
      return clip_grad_tensor_norm(params, config.threshold);
    case ClipMode::kValue:
      return clip_grad_value(params, config.threshold);
  }
  throw std::logic_error("clip_gradients: unknown ClipMode");
}

}  // namespace lowbit::train
