// The multi-layer perceptron builder: QLinear layers fc1..fcN, each hidden one followed by an
// optional norm (norm1..) and a QActivation (act1..); inputs are flattened per sample.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/config/config_reader.h"

namespace lowbit::models {

/// Settings of an MLP.
struct MlpOptions {
  int64_t in_features = 1;          ///< Inputs per sample (after flattening).
  std::vector<int64_t> widths;      ///< Hidden layer widths (may be empty: one linear layer).
  int64_t num_outputs = 1;          ///< Width of the last layer.
  std::string activation = "relu";  ///< Hidden activation (a QActivation function).
  std::string norm = "none";        ///< none, batch, layer or rms, after each hidden QLinear.
  std::string output_activation = "none";  ///< Activation after the last layer (e.g. sigmoid).
  bool bias = true;                        ///< Whether the QLinear layers learn biases.
  std::string kernel_initializer = "torch_default";  ///< Kernel initialiser (nn/initializers.h).
  std::string bias_initializer = "torch_default";    ///< Bias initialiser.
  bool fit_kernel_to_grid = false;  ///< QKeras's QInitializer: fit kernels to the weight grid.
};

/// The network: flatten, then [fcK, normK, actK] for each hidden width, then fcN (and act_out).
class MlpImpl : public torch::nn::Module {
 public:
  /// Builds the layers; throws std::invalid_argument for an unknown norm or a width < 1.
  explicit MlpImpl(const MlpOptions& options);
  /// The outputs [N, num_outputs] for inputs [N, ...].
  torch::Tensor forward(const torch::Tensor& input);
  /// The settings it was built with.
  const MlpOptions& options() const { return options_; }

 private:
  MlpOptions options_;
  std::vector<torch::nn::AnyModule> layers_;
};

/// Holder of MlpImpl.
TORCH_MODULE(Mlp);

/// Builder for `model: {type: mlp, widths: [...], activation, norm, output_activation, bias}`.
torch::nn::AnyModule build_mlp(const lowbit::config::ConfigNode& node, int64_t in_features,
                               int64_t num_outputs);

}  // namespace lowbit::models
