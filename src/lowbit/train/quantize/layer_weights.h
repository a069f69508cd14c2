// The weights of a model's QLinear and QConv2d layers with their weight quantizers: what the
// regularizers, pruning and the weight reports iterate over.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <string>
#include <vector>

#include "lowbit/quant/quantizer.h"

namespace lowbit::train {

/// One layer weight and the quantizer applied to it.
struct LayerWeight {
  std::string name;            ///< Module path of the layer ("" for the model itself).
  torch::Tensor weight;        ///< The layer's `weight` parameter (shares storage with it).
  quant::Quantizer quantizer;  ///< The weight quantizer; null when the weight is not quantized.
};

/// Every QLinear and QConv2d weight of `model` (the model itself included), in module order.
/// With `quantized_only` the layers without a weight quantizer are left out.
std::vector<LayerWeight> layer_weights(torch::nn::Module& model, bool quantized_only);

}  // namespace lowbit::train
