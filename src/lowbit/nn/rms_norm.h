// RMSNorm (Zhang and Sennrich, 2019), which LibTorch 1.13 lacks.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <ostream>
#include <vector>

namespace lowbit::nn {

/// Options of RMSNorm.
struct RMSNormOptions {
  /// Normalises over the trailing dimensions `normalized_shape`.
  RMSNormOptions(std::vector<int64_t> normalized_shape);  // NOLINT(google-explicit-constructor)
  /// The trailing dimensions normalised over.
  TORCH_ARG(std::vector<int64_t>, normalized_shape);
  /// Added to the mean square, as LayerNorm's default.
  TORCH_ARG(double, eps) = 1e-5;
  /// Whether the layer learns a per-element gain `weight` (initialised to ones).
  TORCH_ARG(bool, elementwise_affine) = true;
};

/// y = x / sqrt(mean(x^2 over normalized_shape) + eps) * weight. Unlike LayerNorm it neither
/// subtracts the mean nor learns a bias.
class RMSNormImpl : public torch::nn::Cloneable<RMSNormImpl> {
 public:
  /// A layer over the trailing `normalized_shape`.
  RMSNormImpl(std::vector<int64_t> normalized_shape)  // NOLINT(google-explicit-constructor)
      : RMSNormImpl(RMSNormOptions(std::move(normalized_shape))) {}
  /// A layer from options.
  explicit RMSNormImpl(const RMSNormOptions& options);

  /// (Re)creates `weight`.
  void reset() override;
  /// Sets `weight` to ones.
  void reset_parameters();
  /// Prints the shape and eps.
  void pretty_print(std::ostream& stream) const override;
  /// The normalised input; its trailing dimensions must equal normalized_shape.
  torch::Tensor forward(const torch::Tensor& input);

  /// The options the layer was built with.
  RMSNormOptions options;
  /// The learned gain, shaped normalized_shape; undefined without elementwise_affine.
  torch::Tensor weight;
};

/// Holder of RMSNormImpl (the module form layers are used in).
TORCH_MODULE(RMSNorm);

}  // namespace lowbit::nn
