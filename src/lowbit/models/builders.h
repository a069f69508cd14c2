// Config builders of the named models beside mlp: each reads its `model:` section strictly and
// checks that the model fits the data (input size, number of outputs).
#pragma once

#include <torch/nn/modules/container/any.h>

#include <cstdint>
#include <string>

#include "lowbit/config/config_reader.h"

namespace lowbit::models {

/// How a model's QLinear layers are initialised (nn/initializers.h), as its config names it.
struct InitializerKeys {
  std::string kernel = "torch_default";  ///< `kernel_initializer`.
  std::string bias = "torch_default";    ///< `bias_initializer`.
  bool fit_kernel_to_grid = false;       ///< `fit_kernel_to_grid` (QKeras's QInitializer).
};

/// Reads `kernel_initializer`, `bias_initializer` and `fit_kernel_to_grid` of a `model:` section;
/// an unknown name is a ConfigError naming the key and listing the names.
InitializerKeys read_initializer_keys(const lowbit::config::ConfigNode& node);

/// smartpix_model2 (seeds 000/001): needs 36 input features and one (binary) output.
torch::nn::AnyModule build_smartpix_model2(const lowbit::config::ConfigNode& node,
                                           int64_t in_features, int64_t num_outputs);

/// cnn_mcu (seed 002): a single-channel square image whose side is taken from the data.
torch::nn::AnyModule build_cnn_mcu(const lowbit::config::ConfigNode& node, int64_t in_features,
                                   int64_t num_outputs);

/// resnet20 for 3 x 32 x 32 inputs (seed 004's CIFAR ResNets).
torch::nn::AnyModule build_resnet20(const lowbit::config::ConfigNode& node, int64_t in_features,
                                    int64_t num_outputs);

/// resnet18 (CIFAR variant) for 3 x 32 x 32 inputs.
torch::nn::AnyModule build_resnet18(const lowbit::config::ConfigNode& node, int64_t in_features,
                                    int64_t num_outputs);

/// snn_flow (seed 003): spiking optical-flow encoder-decoder for event tensors [T, 2, H, W] per
/// sample and flow targets (two outputs, u and v).
torch::nn::AnyModule build_snn_flow(const lowbit::config::ConfigNode& node, int64_t in_features,
                                    int64_t num_outputs);

}  // namespace lowbit::models
