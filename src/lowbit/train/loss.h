// The training losses: cross-entropy on logits (optionally label-smoothed), binary cross-entropy
// on probabilities or on logits, mean squared error, and the optical-flow losses (endpoint error,
// Charbonnier, optional smoothness) over valid ground truth. All return the batch mean.
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
  kFlowEpe,      ///< flow [N, 2, H, W], target [N, 3, H, W] (u, v, valid): mean endpoint error
  kCharbonnier,  ///< flow as kFlowEpe: mean ((du^2 + eps^2)^alpha + (dv^2 + eps^2)^alpha) / 2
};

/// True for the optical-flow losses (flow_epe, charbonnier).
bool is_flow_loss(LossType type);

/// A loss setting.
struct LossConfig {
  /// The loss function.
  LossType type = LossType::kCrossEntropy;
  /// Cross-entropy and binary losses: targets are smoothed towards uniform by this amount in
  /// [0, 1) (PyTorch's definition for cross-entropy; y * (1 - s) + s / 2 for binary, as Keras).
  double label_smoothing = 0.0;
  /// Charbonnier (and the smoothness term's) epsilon: rho(x) = (x^2 + epsilon^2)^alpha.
  double charbonnier_epsilon = 1e-3;
  /// Charbonnier exponent alpha (0.5: a smooth L1; 0.45: the robust form of optical-flow work).
  double charbonnier_alpha = 0.45;
  /// Flow losses: weight of the first-order smoothness term, the mean Charbonnier penalty of the
  /// predicted flow's differences between horizontal and vertical neighbours (0 = off).
  double smoothness = 0.0;
};

/// The loss names accepted in configs, in enum order.
const std::vector<std::string>& loss_type_names();

/// Reads a `loss:` section: `type` (cross_entropy, binary_cross_entropy, bce_with_logits, mse,
/// flow_epe, charbonnier; required), `label_smoothing` (classification losses), `epsilon` and
/// `alpha` (charbonnier), `smoothness` (flow losses).
LossConfig parse_loss(const config::ConfigNode& node);

/// The mean loss of `output` against `target`; binary and MSE targets are reshaped to the output's
/// shape and converted to its dtype. Flow losses average over the pixels whose target is valid
/// (channel 2 non-zero); a batch without one gives 0 (plus the smoothness term). Throws
/// std::invalid_argument on mismatched sizes.
torch::Tensor compute_loss(const LossConfig& config, const torch::Tensor& output,
                           const torch::Tensor& target);

}  // namespace lowbit::train
