// Builds a LibTorch optimizer (SGD, Adam, AdamW) from an `optimizer:` config section.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "lowbit/config/config_reader.h"

namespace lowbit::train {

/// The optimizer algorithm.
enum class OptimizerType {
  kSgd,    ///< torch::optim::SGD (momentum, dampening, nesterov, weight_decay)
  kAdam,   ///< torch::optim::Adam (L2 weight decay added to the gradient)
  kAdamW,  ///< torch::optim::AdamW (decoupled weight decay)
};

/// Hyper-parameters of an optimizer; defaults are PyTorch's (AdamW's weight decay is set by
/// parse_optimizer to PyTorch's 0.01 when the config does not give one).
struct OptimizerConfig {
  /// The algorithm.
  OptimizerType type = OptimizerType::kAdam;
  /// The base learning rate (> 0).
  double lr = 1e-3;
  /// SGD: momentum factor in [0, 1).
  double momentum = 0.0;
  /// SGD: dampening of the momentum in [0, 1].
  double dampening = 0.0;
  /// SGD: Nesterov momentum (needs momentum > 0 and dampening 0).
  bool nesterov = false;
  /// L2 penalty (SGD, Adam) or decoupled decay rate (AdamW), >= 0.
  double weight_decay = 0.0;
  /// Adam, AdamW: first-moment decay in [0, 1).
  double beta1 = 0.9;
  /// Adam, AdamW: second-moment decay in [0, 1).
  double beta2 = 0.999;
  /// Adam, AdamW: denominator term (> 0).
  double eps = 1e-8;
  /// Adam, AdamW: use the AMSGrad variant.
  bool amsgrad = false;
  /// LR multiplier of learned quantizer state (step sizes, clipping levels, bit depths), > 0.
  double quantizer_lr_scale = 1.0;
};

/// The optimizer type names accepted in configs ("sgd", "adam", "adamw"), in enum order.
const std::vector<std::string>& optimizer_type_names();

/// Reads an `optimizer:` section: `type` (required: sgd, adam, adamw), `lr` (required), and the
/// type's keys (sgd: momentum, dampening, nesterov, weight_decay; adam/adamw: betas [b1, b2], eps,
/// weight_decay, amsgrad), and `quantizer_lr_scale` for every type. Rejects keys of other types,
/// out-of-range values and unknown keys.
OptimizerConfig parse_optimizer(const config::ConfigNode& node);

/// Checks the ranges of `config`; throws std::invalid_argument naming the parameter.
void validate_optimizer(const OptimizerConfig& config);

/// A set of parameters that shares options within an optimizer.
struct ParamGroup {
  /// The parameters of the group.
  std::vector<torch::Tensor> params;
  /// The group's LR is config.lr * lr_scale (e.g. smaller for learned quantizer step sizes).
  double lr_scale = 1.0;
  /// Replaces config.weight_decay for this group (e.g. 0 for biases and step sizes).
  std::optional<double> weight_decay;
};

/// Builds the optimizer over `groups`; throws std::invalid_argument on invalid settings.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        const std::vector<ParamGroup>& groups);

/// Builds the optimizer over one group holding `params`.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        const std::vector<torch::Tensor>& params);

}  // namespace lowbit::train
