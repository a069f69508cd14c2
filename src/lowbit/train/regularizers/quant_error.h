// Quantization error penalty (seed 003's `quant_weight`): pulls latent weights onto their grid.
//
//   penalty = sum over quantized layers of sum((w - q(w))^2) / total quantized weights
//
// q(w) is the weight quantizer applied to w.detach(): with a straight-through gradient, q(w)
// would carry dq/dw = 1 and cancel the pull on w, so w gets 2 (w - q) / N while learned quantizer
// parameters (an LSQ step) still get their gradient through q.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

namespace lowbit::train {

/// The mean squared distance between latent and quantized weights over every quantized
/// QLinear/QConv2d weight of `model`; 0 when it has none. The caller multiplies by its weight.
torch::Tensor quantization_error(torch::nn::Module& model);

}  // namespace lowbit::train
