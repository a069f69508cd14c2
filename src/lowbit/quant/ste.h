// Straight-through estimators for grids LibTorch's fused fake-quant ops cannot express.
#pragma once

#include <torch/types.h>

namespace lowbit::quant {

/// Returns `quantized` exactly in the forward pass. The backward pass hands the incoming gradient
/// to `x` where lo <= x <= hi and zero elsewhere (bounds broadcast against x; they get no
/// gradient, nor does `quantized`). This is the straight-through estimator with clipping.
torch::Tensor straight_through(const torch::Tensor& x, const torch::Tensor& quantized,
                               const torch::Tensor& lo, const torch::Tensor& hi);

/// Returns `quantized` exactly in the forward pass and hands the incoming gradient to `x`
/// unchanged everywhere (the unclipped straight-through estimator).
torch::Tensor straight_through(const torch::Tensor& x, const torch::Tensor& quantized);

}  // namespace lowbit::quant
