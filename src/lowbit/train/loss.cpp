#include "lowbit/train/loss.h"

#include <algorithm>
#include <stdexcept>

#include <torch/nn/functional/loss.h>

namespace lowbit::train {
namespace {

namespace F = torch::nn::functional;

torch::Tensor as_output_shaped(const torch::Tensor& output, const torch::Tensor& target,
                               const char* loss) {
  if (output.numel() != target.numel()) {
    throw std::invalid_argument(std::string(loss) + ": output has " +
                                std::to_string(output.numel()) + " elements but the target has " +
                                std::to_string(target.numel()));
  }
  return target.reshape(output.sizes()).to(output.scalar_type());
}

torch::Tensor charbonnier(const torch::Tensor& x, const LossConfig& config) {
  return (x.pow(2) + config.charbonnier_epsilon * config.charbonnier_epsilon)
      .pow(config.charbonnier_alpha);
}

// The flow losses over the valid pixels of the target (u, v, valid), plus the smoothness term.
torch::Tensor flow_loss(const LossConfig& config, const torch::Tensor& output,
                        const torch::Tensor& target) {
  if (output.dim() != 4 || output.size(1) != 2 || target.dim() != 4 || target.size(1) != 3 ||
      output.size(0) != target.size(0) || output.size(2) != target.size(2) ||
      output.size(3) != target.size(3)) {
    throw std::invalid_argument(
        loss_type_names().at(static_cast<size_t>(config.type)) +
        ": expected flow [N, 2, H, W] and targets [N, 3, H, W] (u, v, valid) of one N, H, W, got " +
        std::to_string(output.dim()) + "-d output with " +
        std::to_string(output.dim() > 1 ? output.size(1) : 0) + " channels and " +
        std::to_string(target.dim()) + "-d targets");
  }
  const torch::Tensor y = target.to(output.scalar_type());
  const torch::Tensor valid = y.select(1, 2).ne(0).to(output.scalar_type());
  const torch::Tensor diff = output - y.slice(1, 0, 2);
  torch::Tensor per_pixel;
  if (config.type == LossType::kFlowEpe) {
    // The small constant keeps the gradient of the root finite where the error is exactly 0.
    per_pixel = (diff.pow(2).sum(1) + 1e-8).sqrt();
  } else {
    per_pixel = charbonnier(diff, config).mean(1);
  }
  torch::Tensor loss = (per_pixel * valid).sum() / valid.sum().clamp_min(1.0);
  if (config.smoothness > 0.0) {
    torch::Tensor smooth = torch::zeros({}, output.options());
    if (output.size(3) > 1) {
      smooth = smooth + charbonnier(output.slice(3, 1) - output.slice(3, 0, -1), config).mean();
    }
    if (output.size(2) > 1) {
      smooth = smooth + charbonnier(output.slice(2, 1) - output.slice(2, 0, -1), config).mean();
    }
    loss = loss + config.smoothness * smooth;
  }
  return loss;
}

}  // namespace

const std::vector<std::string>& loss_type_names() {
  static const std::vector<std::string> kNames = {
      "cross_entropy", "binary_cross_entropy", "bce_with_logits", "mse", "flow_epe", "charbonnier"};
  return kNames;
}

bool is_flow_loss(LossType type) {
  return type == LossType::kFlowEpe || type == LossType::kCharbonnier;
}

LossConfig parse_loss(const config::ConfigNode& node) {
  LossConfig config;
  const auto& names = loss_type_names();
  const std::string type = node.require_choice("type", names);
  config.type = static_cast<LossType>(std::find(names.begin(), names.end(), type) - names.begin());
  if (config.type != LossType::kMse && !is_flow_loss(config.type)) {
    config.label_smoothing = node.get_in_range<double>("label_smoothing", 0.0, 0.0, 0.999);
  }
  if (config.type == LossType::kCharbonnier) {
    config.charbonnier_epsilon =
        node.get_in_range<double>("epsilon", config.charbonnier_epsilon, 1e-9, 10.0);
    config.charbonnier_alpha =
        node.get_in_range<double>("alpha", config.charbonnier_alpha, 0.01, 1.0);
  }
  if (is_flow_loss(config.type)) {
    config.smoothness = node.get_in_range<double>("smoothness", 0.0, 0.0, 1e6);
  }
  node.done();
  return config;
}

torch::Tensor compute_loss(const LossConfig& config, const torch::Tensor& output,
                           const torch::Tensor& target) {
  switch (config.type) {
    case LossType::kCrossEntropy:
      if (output.dim() != 2 || target.dim() != 1 || output.size(0) != target.size(0)) {
        throw std::invalid_argument(
            "cross_entropy: expected logits [N, C] and class labels [N], got " +
            std::to_string(output.dim()) + "-d logits and " + std::to_string(target.dim()) +
            "-d labels");
      }
      return F::cross_entropy(output, target.to(torch::kLong),
                              F::CrossEntropyFuncOptions().label_smoothing(config.label_smoothing));
    case LossType::kBinaryCrossEntropy:
    case LossType::kBinaryCrossEntropyWithLogits: {
      torch::Tensor y = as_output_shaped(output, target, "binary_cross_entropy");
      if (config.label_smoothing > 0.0) {
        y = y * (1.0 - config.label_smoothing) + 0.5 * config.label_smoothing;
      }
      if (config.type == LossType::kBinaryCrossEntropy) return F::binary_cross_entropy(output, y);
      return F::binary_cross_entropy_with_logits(output, y);
    }
    case LossType::kMse:
      return F::mse_loss(output, as_output_shaped(output, target, "mse"));
    case LossType::kFlowEpe:
    case LossType::kCharbonnier:
      return flow_loss(config, output, target);
  }
  throw std::logic_error("compute_loss: unknown LossType");
}

}  // namespace lowbit::train
