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

}  // namespace

const std::vector<std::string>& loss_type_names() {
  static const std::vector<std::string> kNames = {"cross_entropy", "binary_cross_entropy",
                                                  "bce_with_logits", "mse"};
  return kNames;
}

LossConfig parse_loss(const config::ConfigNode& node) {
  LossConfig config;
  const auto& names = loss_type_names();
  const std::string type = node.require_choice("type", names);
  config.type = static_cast<LossType>(std::find(names.begin(), names.end(), type) - names.begin());
  if (config.type != LossType::kMse) {
    config.label_smoothing = node.get_in_range<double>("label_smoothing", 0.0, 0.0, 0.999);
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
  }
  throw std::logic_error("compute_loss: unknown LossType");
}

}  // namespace lowbit::train
