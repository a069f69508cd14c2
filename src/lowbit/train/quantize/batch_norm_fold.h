// Folding batch norm into the preceding QLinear/QConv2d during training (docs/config.md, event
// `fold_batchnorm`): per output channel g = gamma / sqrt(running_var + eps), the layer's weights
// become w * g and its bias (b - running_mean) * g + beta, and the batch norm becomes the
// identity, so the following epochs fine-tune the folded weights under their quantizer.
#pragma once

#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "lowbit/train/checkpoint/model_state.h"

namespace lowbit::train {

/// Folds every not yet folded FoldableBatchNorm of `model` whose dotted name matches the
/// fnmatch glob `layers` into the QLinear/QConv2d registered directly before it (a layer without
/// bias gets one). Returns the names folded, in module order. Throws std::invalid_argument naming
/// the batch norm when no QLinear/QConv2d with as many output channels precedes it, and naming the
/// glob when it matches no batch norm that could fold (already folded ones count as matched).
std::vector<std::string> fold_batch_norms(torch::nn::Module& model, const std::string& layers);

/// Before loading `state` into `model`: folds each batch norm that `state` marks folded (a
/// `<name>.folded` entry) and `model` has unfolded, so the two have the same tensors; the values
/// are then overwritten by the load. Returns the names folded.
std::vector<std::string> restore_folded_batch_norms(torch::nn::Module& model,
                                                    const NamedTensors& state);

}  // namespace lowbit::train
