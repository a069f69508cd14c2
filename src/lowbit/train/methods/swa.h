// Stochastic weight averaging (Izmailov et al. 2018) for quantization-aware training.
//
// The average is the equal-weight arithmetic mean of the parameter snapshots taken (one per
// epoch over the last epochs). Averaging moves latent weights off the grid; the averaged latent
// weights become the model's weights and the weight quantizers snap them on the next forward
// (learned steps and clipping levels are parameters and are averaged too; a frozen one has
// the same value in every snapshot and so keeps it exactly). BatchNorm statistics no longer
// match the averaged weights, so reestimate_batch_norm() recomputes them from training data.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace lowbit::train {

/// The running arithmetic mean of a model's parameters.
class WeightAverager {
 public:
  /// An empty average over the parameters of `model`, which must outlive it and keep the same
  /// parameter set (names and shapes).
  explicit WeightAverager(torch::nn::Module& model);

  /// Adds the model's current parameters as one snapshot (sums are kept in float64).
  void update();

  /// Number of snapshots taken.
  int64_t count() const { return count_; }

  /// The averaged value of parameter `index` in named_parameters() order (float64).
  torch::Tensor average(size_t index) const;

  /// Copies the average into the model's parameters; throws std::logic_error before the first
  /// update().
  void apply();

  /// The float64 sums of the snapshots, in named_parameters() order (for checkpoints).
  const std::vector<torch::Tensor>& sums() const { return sums_; }

  /// Restores sums and count saved from sums() and count(); throws std::invalid_argument when
  /// their number or shapes differ from the model's parameters.
  void restore(std::vector<torch::Tensor> sums, int64_t count);

 private:
  torch::nn::Module* model_;
  std::vector<torch::Tensor> sums_;
  int64_t count_ = 0;
};

/// Re-estimates the running statistics of every BatchNorm1d/2d/3d module of `model`: resets them,
/// switches to a cumulative average (momentum None), puts the model in train mode and calls
/// `run_training_data`, which must forward the training batches through the model; gradients are
/// off. Momentum and the model's train/eval mode are restored afterwards. With equal batch sizes
/// the running mean is the data mean and the running variance the mean of the batches' unbiased
/// variances (the unbiased data variance when there is one batch).
void reestimate_batch_norm(torch::nn::Module& model,
                           const std::function<void()>& run_training_data);

}  // namespace lowbit::train
