// The registry of model builders: a `model:` config section names a builder by `type`, and the
// builder makes the network for the data's input size and number of outputs.
#pragma once

#include <torch/nn/modules/container/any.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lowbit/config/config_reader.h"

namespace lowbit::models {

/// Builds a model from its config section (keys other than `type`), the number of input
/// features per sample (the product of the non-batch input dimensions) and the number of outputs.
/// The builder calls done() on the section.
using ModelBuilder = std::function<torch::nn::AnyModule(const lowbit::config::ConfigNode& node,
                                                        int64_t in_features, int64_t num_outputs)>;

/// A named builder as the registry lists it.
struct ModelType {
  std::string name;         ///< The `type` value that selects it.
  std::string description;  ///< One line: what it builds.
  ModelBuilder build;       ///< The builder.
};

/// Every model type, in the order `lowbit` lists them.
const std::vector<ModelType>& model_types();

/// Builds the model a `model:` section describes (`type` picks the builder). Throws
/// lowbit::config::ConfigError naming the key and the known types for an unknown type.
torch::nn::AnyModule build_model(const lowbit::config::ConfigNode& node, int64_t in_features,
                                 int64_t num_outputs);

}  // namespace lowbit::models
