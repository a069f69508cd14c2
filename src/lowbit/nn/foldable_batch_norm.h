// Batch norm that can be folded into the layer before it: torch::nn::BatchNorm1d/2d's arithmetic,
// options and tensor names (weight, bias, running_mean, running_var, num_batches_tracked, so FP
// checkpoints load by name), for inputs {N, C} or {N, C, H, W}, that becomes the identity once
// folded. A folded one carries the extra buffer `folded` {1}, so its state says it was folded.
// (LibTorch's batch norm classes cannot be subclassed: their base's pretty_print is not exported.)
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/options/batchnorm.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <ostream>

namespace lowbit::nn {

/// The name of the buffer that marks a batch norm as folded.
inline constexpr const char* kFoldedBufferName = "folded";

/// Batch norm over channel dimension 1 that is the identity after mark_folded().
class FoldableBatchNormImpl : public torch::nn::Cloneable<FoldableBatchNormImpl> {
 public:
  /// A batch norm of `options.num_features()` channels (LibTorch's defaults otherwise).
  explicit FoldableBatchNormImpl(const torch::nn::BatchNormOptions& options);
  /// Creates the parameters and buffers (gamma 1, beta 0, mean 0, var 1).
  void reset() override;
  /// Sets the running statistics back to mean 0, var 1, no batches.
  void reset_running_stats();
  /// Batch norm of `input` as torch::nn::BatchNorm2d computes it, or `input` once folded.
  torch::Tensor forward(const torch::Tensor& input);
  /// Whether the normalization now lives in the preceding layer.
  bool folded() const { return folded_; }
  /// Makes the module the identity and registers the `folded` buffer (no-op when folded).
  void mark_folded();
  /// "lowbit::nn::FoldableBatchNorm(C, eps=..., momentum=..., affine=..., folded=...)".
  void pretty_print(std::ostream& stream) const override;

  /// The options (momentum nullopt: cumulative average, as in LibTorch).
  torch::nn::BatchNormOptions options;
  /// gamma {C} (undefined without affine).
  torch::Tensor weight;
  /// beta {C} (undefined without affine).
  torch::Tensor bias;
  /// Running mean {C}.
  torch::Tensor running_mean;
  /// Running variance {C}.
  torch::Tensor running_var;
  /// Batches seen in training.
  torch::Tensor num_batches_tracked;

 private:
  bool folded_ = false;
};

/// Holder of FoldableBatchNormImpl.
TORCH_MODULE(FoldableBatchNorm);

/// Whether `module` is a folded FoldableBatchNorm.
bool is_folded_batch_norm(const torch::nn::Module& module);

}  // namespace lowbit::nn
