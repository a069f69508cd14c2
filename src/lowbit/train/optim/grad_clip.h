// Gradient clipping between backward() and the optimizer step. The smart-pixel seeds pass Keras
// `clipnorm=1.0` and describe it as clipping by the global norm; Keras itself applies `clipnorm`
// to each gradient tensor separately (`global_clipnorm` is the global one), so both are offered.
#pragma once

#include <vector>

#include <torch/types.h>

#include "lowbit/config/config_reader.h"

namespace lowbit::train {

/// What is clipped.
enum class ClipMode {
  kNone,        ///< no clipping
  kGlobalNorm,  ///< scale all gradients together so their joint L2 norm is <= threshold
  kTensorNorm,  ///< scale each gradient tensor so its own L2 norm is <= threshold (Keras clipnorm)
  kValue,       ///< clamp every gradient element to [-threshold, threshold]
};

/// A clipping setting.
struct ClipConfig {
  /// The kind of clipping.
  ClipMode mode = ClipMode::kNone;
  /// The largest norm (norm modes) or absolute value (kValue); > 0.
  double threshold = 1.0;
};

/// Reads a `gradient_clipping:` section: `mode` (none, global_norm, tensor_norm, value; default
/// global_norm) and `max_norm` (norm modes) or `max_value` (value mode), both > 0 and required.
ClipConfig parse_clipping(const config::ConfigNode& node);

/// The L2 norm of all gradients of `params` taken together (parameters without a gradient are
/// skipped; 0 if none has one).
double grad_global_norm(const std::vector<torch::Tensor>& params);

/// Scales all gradients by max_norm / norm when their global norm exceeds max_norm; returns the
/// global norm before clipping.
double clip_grad_global_norm(const std::vector<torch::Tensor>& params, double max_norm);

/// Scales each gradient tensor whose own norm exceeds max_norm down to max_norm; returns the
/// global norm before clipping.
double clip_grad_tensor_norm(const std::vector<torch::Tensor>& params, double max_norm);

/// Clamps every gradient element to [-max_value, max_value]; returns the global norm before.
double clip_grad_value(const std::vector<torch::Tensor>& params, double max_value);

/// Applies `config` to the gradients of `params`; returns the global norm before clipping.
double clip_gradients(const ClipConfig& config, const std::vector<torch::Tensor>& params);

}  // namespace lowbit::train
