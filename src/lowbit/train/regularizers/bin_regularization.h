// Bin Regularization (Han et al., ICCV 2021, "Improving Low-Precision Network Quantization via
// Bin Regularization").
//
// Every latent value belongs to the bin of its nearest grid level. For each non-empty bin b with
// level l_b and values v_i, the term is (mean(v) - l_b)^2 + var(v) (population variance), which
// equals mean((v_i - l_b)^2); the loss of a tensor is that term averaged over the non-empty bins.
// It is computed on x / step and levels / step, so it is in units of the step size and its
// strength does not depend on the layer's scale. A value exactly half way between two levels
// belongs to the lower one.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "lowbit/quant/quantizer.h"

namespace lowbit::train {

/// The step of a grid: (last level - first level) / (L - 1) per row, for levels {L} (a tensor of
/// shape {}) or {C, L} (shape {C}). Equals the step of a uniform grid; keeps its gradient to
/// learned levels. Throws std::invalid_argument for fewer than two levels.
torch::Tensor grid_step(const torch::Tensor& levels);

/// The BR loss of `latent` on the grid `levels` ({L} per tensor, or {C, L} with channel axis 0 of
/// `latent`), in units of `step` (one element, or {C}). With `detach_step` neither the step nor
/// the levels get gradients (the latent still does).
torch::Tensor bin_regularization(const torch::Tensor& latent, const torch::Tensor& levels,
                                 const torch::Tensor& step, bool detach_step);

/// The BR loss of `x` on the grid of `quantizer` (levels(x), step grid_step(levels)); a
/// per-channel grid's channels lie along `channel_axis` of x (0 for weights, 1 for activations).
torch::Tensor quantizer_bin_regularization(quant::QuantizerImpl& quantizer, const torch::Tensor& x,
                                           bool detach_step, int64_t channel_axis);

/// Settings of the model-level regularizer (YAML `regularizers: {bin: ...}`).
struct BinRegularizerOptions {
  double lambda_weight = 1.0;          ///< lambda_br: weight of the weight term.
  double lambda_activation = 0.0;      ///< lambda_br_act: weight of the activation term.
  bool detach_weight_step = false;     ///< Whether weight BR leaves the weight steps alone.
  bool detach_activation_step = true;  ///< Whether activation BR leaves activation steps alone.
};

/// Bin regularization over a model: the sum over its quantized QLinear/QConv2d weights (paper:
/// sum over layers) and over activations the caller hands in.
class BinRegularizer {
 public:
  /// A regularizer over `model`, which must outlive it. Layers are looked up on every call, so
  /// quantizers replaced by stage events are picked up.
  BinRegularizer(torch::nn::Module& model, const BinRegularizerOptions& options);

  /// lambda_weight * sum over quantized layer weights of their BR loss (0 when lambda is 0).
  torch::Tensor weight_loss() const;

  /// lambda_activation * sum of the BR losses of (activation quantizer, its input) pairs;
  /// per-channel activation grids have their channels on axis 1.
  torch::Tensor activation_loss(
      const std::vector<std::pair<quant::Quantizer, torch::Tensor>>& inputs) const;

  /// Turns input recording on (or off) in every QActivation of the model that has an output
  /// quantizer, so that recorded_activation_loss() sees the activations of the next forward.
  void set_activation_recording(bool recording) const;

  /// activation_loss() over the inputs the model's recording QActivation layers saw in their
  /// last forward (layers without a recorded input are skipped).
  torch::Tensor recorded_activation_loss() const;

  /// The settings.
  const BinRegularizerOptions& options() const { return options_; }

 private:
  torch::nn::Module* model_;
  BinRegularizerOptions options_;
};

}  // namespace lowbit::train
