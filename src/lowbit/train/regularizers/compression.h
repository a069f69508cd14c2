// The compression loss of self-compressing quantizers (quant::SelfCompressImpl): the mean number
// of bits per weight, which the trainer adds as gamma * compression_bits(model).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

namespace lowbit::train {

/// Mean effective bit depth per weight over every QLinear/QConv2d weight quantized by
/// `selfcompress`: sum over layers and channels of b_c * weights of channel c, divided by the
/// number of those weights. Differentiable in the bit depths; 0 when no layer uses selfcompress.
torch::Tensor compression_bits(torch::nn::Module& model);

/// Freezes every selfcompress weight quantizer of `model` (integer bit depths, no more training
/// of b and e): the epoch event that ends bit-width learning.
void freeze_bit_depths(torch::nn::Module& model);

}  // namespace lowbit::train
