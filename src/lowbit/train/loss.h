// The training losses: cross-entropy on logits (optionally label-smoothed), binary cross-entropy
// on probabilities or on logits, and mean squared error. All return the batch mean.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "lowbit/config/config_reader.h"

namespace lowbit::train {

/// The loss function.
enum class LossType {
  kCrossEntropy,                  ///< logits [N, C], int64 class labels [N]
  kBinaryCrossEntropy,            ///< probabilities [N] or [N, 1] (a sigmoid output), labels 0/1
  kBinaryCrossEntropyWithLogits,  ///< logits [N] or [N, 1], labels 0/1 (numerically safer)
  kMse,                           ///< any output, a target of the same number of elements
};

/// A loss setting.
struct LossConfig {
  /// The loss function.
  LossType type = LossType::kCrossEntropy;
  /// Cross-entropy and binary losses: targets are smoothed towards uniform by this amount in
  /// [0, 1) (PyTorch's definition for cross-entropy; y * (1 - s) + s / 2 for binary, as Keras).
  double label_smoothing = 0.0;
};

/// The loss names accepted in configs, in enum order.
const std::vector<std::string>& loss_type_names();

/// Reads a `loss:` section: `type` (cross_entropy, binary_cross_entropy, bce_with_logits, mse;
/// required) and `label_smoothing` (not for mse).
LossConfig parse_loss(const config::ConfigNode& node);

/// The mean loss of `output` against `target`; binary and MSE targets are reshaped to the output's
/// shape and converted to its dtype. Throws std::invalid_argument on mismatched sizes.
torch::Tensor compute_loss(const LossConfig& config, const torch::Tensor& output,
                           const torch::Tensor& target);

}  // namespace lowbit::train
