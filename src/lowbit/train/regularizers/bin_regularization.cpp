#include "lowbit/train/regularizers/bin_regularization.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/nn/qactivation.h"
#include "lowbit/train/quantize/layer_weights.h"

namespace lowbit::train {

torch::Tensor grid_step(const torch::Tensor& levels) {
  const int64_t count = levels.size(-1);
  if (count < 2) {
    throw std::invalid_argument("grid_step: a grid needs at least two levels, got " +
                                std::to_string(count));
  }
  return (levels.select(-1, count - 1) - levels.select(-1, 0)) / static_cast<double>(count - 1);
}

namespace {

// Index of the nearest level for every value of `x` (1-D), levels ascending.
torch::Tensor nearest_level(const torch::Tensor& x, const torch::Tensor& levels) {
  const int64_t count = levels.size(0);
  torch::Tensor midpoints =
      ((levels.slice(0, 1, count) + levels.slice(0, 0, count - 1)) / 2).contiguous();
  return torch::bucketize(x.contiguous(), midpoints);
}

}  // namespace

torch::Tensor bin_regularization(const torch::Tensor& latent, const torch::Tensor& levels,
                                 const torch::Tensor& step, bool detach_step) {
  if (levels.dim() != 1 && levels.dim() != 2) {
    throw std::invalid_argument("bin_regularization: levels must be {L} or {C, L}, got rank " +
                                std::to_string(levels.dim()));
  }
  const bool per_channel = levels.dim() == 2;
  const int64_t channels = per_channel ? levels.size(0) : 1;
  if (per_channel && (latent.dim() == 0 || latent.size(0) != channels)) {
    throw std::invalid_argument("bin_regularization: per-channel levels have " +
                                std::to_string(channels) +
                                " rows but the latent tensor's axis 0 does not match");
  }
  if (step.numel() != 1 && step.numel() != channels) {
    throw std::invalid_argument("bin_regularization: step must have 1 or " +
                                std::to_string(channels) + " elements, got " +
                                std::to_string(step.numel()));
  }
  if (latent.numel() == 0) return torch::zeros({}, latent.options());
  torch::Tensor s = detach_step ? step.detach() : step;
  torch::Tensor lv = detach_step ? levels.detach() : levels;
  s = s.reshape({step.numel() == 1 ? 1 : channels, 1});
  // Rows are channels ({1, N} per tensor); all arithmetic is in units of the step.
  torch::Tensor x = latent.reshape({channels, -1}) / s;
  torch::Tensor grid = lv.reshape({channels, -1}) / s;
  const int64_t count = grid.size(1);
  std::vector<torch::Tensor> rows;
  rows.reserve(channels);
  {
    torch::NoGradGuard no_grad;
    for (int64_t c = 0; c < channels; ++c) {
      rows.push_back(nearest_level(x[c].detach(), grid[c].detach()) + c * count);
    }
  }
  torch::Tensor bin = torch::stack(rows);  // {C, N}: flat bin index c * L + level
  torch::Tensor assigned = grid.reshape({-1}).index_select(0, bin.reshape({-1})).reshape_as(x);
  torch::Tensor squared = (x - assigned).pow(2).reshape({-1});
  torch::Tensor flat = bin.reshape({-1});
  torch::Tensor sums =
      torch::zeros({channels * count}, squared.options()).index_add(0, flat, squared);
  torch::Tensor counts = torch::zeros({channels * count}, squared.options())
                             .index_add(0, flat, torch::ones_like(squared).detach());
  torch::Tensor nonempty = counts > 0;
  return (sums.masked_select(nonempty) / counts.masked_select(nonempty)).mean();
}

torch::Tensor quantizer_bin_regularization(quant::QuantizerImpl& quantizer, const torch::Tensor& x,
                                           bool detach_step, int64_t channel_axis) {
  torch::Tensor levels = quantizer.levels(x);
  torch::Tensor latent = levels.dim() == 2 ? x.transpose(0, channel_axis) : x;
  return bin_regularization(latent, levels, grid_step(levels), detach_step);
}

BinRegularizer::BinRegularizer(torch::nn::Module& model, const BinRegularizerOptions& options)
    : model_(&model), options_(options) {}

torch::Tensor BinRegularizer::weight_loss() const {
  torch::Tensor total = torch::zeros({});
  if (options_.lambda_weight == 0.0) return total;
  for (const LayerWeight& layer : layer_weights(*model_, true)) {
    total = total + quantizer_bin_regularization(*layer.quantizer, layer.weight,
                                                 options_.detach_weight_step, 0)
                        .to(total.device());
  }
  return total * options_.lambda_weight;
}

torch::Tensor BinRegularizer::activation_loss(
    const std::vector<std::pair<quant::Quantizer, torch::Tensor>>& inputs) const {
  torch::Tensor total = torch::zeros({});
  if (options_.lambda_activation == 0.0) return total;
  for (const auto& [quantizer, x] : inputs) {
    if (!quantizer) throw std::invalid_argument("BinRegularizer::activation_loss: null quantizer");
    total = total + quantizer_bin_regularization(*quantizer, x, options_.detach_activation_step, 1)
                        .to(total.device());
  }
  return total * options_.lambda_activation;
}

void BinRegularizer::set_activation_recording(bool recording) const {
  for (const auto& module : model_->modules()) {
    auto* activation = dynamic_cast<nn::QActivationImpl*>(module.get());
    if (activation != nullptr && activation->output_quant()) activation->set_recording(recording);
  }
}

torch::Tensor BinRegularizer::recorded_activation_loss() const {
  std::vector<std::pair<quant::Quantizer, torch::Tensor>> inputs;
  for (const auto& module : model_->modules()) {
    auto* activation = dynamic_cast<nn::QActivationImpl*>(module.get());
    if (activation != nullptr && activation->output_quant() &&
        activation->recorded_input().defined()) {
      inputs.emplace_back(activation->output_quant(), activation->recorded_input());
    }
  }
  return activation_loss(inputs);
}

}  // namespace lowbit::train
