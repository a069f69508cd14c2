// The hook through which a stage's `regularizers:` list adds penalty terms to the training loss.
// Each regularizer type registers a factory under its name; the run config builds one object per
// list entry, and the trainer adds every penalty to the loss of each batch.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lowbit/config/config_reader.h"

namespace lowbit::train {

/// A penalty added to the training loss.
class Regularizer {
 public:
  virtual ~Regularizer() = default;
  /// Called once with the model before its first training batch (e.g. to turn on the recording
  /// of activations); penalty() attaches on its own when called with another model.
  virtual void attach(torch::nn::Module& /*model*/) {}
  /// The penalty for the model's current state (a scalar that backpropagates).
  virtual torch::Tensor penalty(torch::nn::Module& model, int64_t epoch) = 0;
  /// The type name it was registered under.
  virtual std::string name() const = 0;
};

/// Builds a regularizer from its config entry (whose `type` key was already read).
using RegularizerFactory = std::function<std::shared_ptr<Regularizer>(const config::ConfigNode&)>;

/// Makes `type` available in `regularizers:` lists; a second registration replaces the first.
void register_regularizer(const std::string& type, RegularizerFactory factory);

/// The registered type names, sorted.
std::vector<std::string> regularizer_types();

/// Builds the regularizer an entry `{type: NAME, ...}` describes; throws config::ConfigError naming
/// the entry and the registered types for an unknown type.
std::shared_ptr<Regularizer> make_regularizer(const config::ConfigNode& node);

}  // namespace lowbit::train
