#include "lowbit/models/mlp.h"

#include <torch/nn/modules/normalization.h>

#include <stdexcept>

#include "lowbit/models/builders.h"
#include "lowbit/nn/foldable_batch_norm.h"
#include "lowbit/nn/qactivation.h"
#include "lowbit/nn/qlinear.h"
#include "lowbit/nn/rms_norm.h"

namespace lowbit::models {

namespace {

// One QLinear of the MLP, with the model's bias and initialisers.
nn::QLinearOptions linear_options(const MlpOptions& options, int64_t in, int64_t out) {
  return nn::QLinearOptions(in, out)
      .bias(options.bias)
      .kernel_initializer(options.kernel_initializer)
      .bias_initializer(options.bias_initializer)
      .fit_kernel_to_grid(options.fit_kernel_to_grid);
}

}  // namespace

MlpImpl::MlpImpl(const MlpOptions& options) : options_(options) {
  int64_t in = options.in_features;
  size_t index = 1;
  for (int64_t width : options.widths) {
    if (width < 1) throw std::invalid_argument("mlp: layer widths must be >= 1");
    const std::string k = std::to_string(index++);
    layers_.emplace_back(
        register_module("fc" + k, nn::QLinear(linear_options(options, in, width))));
    if (options.norm == "batch") {
      layers_.emplace_back(register_module("norm" + k, nn::FoldableBatchNorm(width)));
    } else if (options.norm == "layer") {
      layers_.emplace_back(
          register_module("norm" + k, torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}))));
    } else if (options.norm == "rms") {
      layers_.emplace_back(register_module("norm" + k, nn::RMSNorm(std::vector<int64_t>{width})));
    } else if (options.norm != "none") {
      throw std::invalid_argument("mlp: norm must be none, batch, layer or rms, got '" +
                                  options.norm + "'");
    }
    layers_.emplace_back(
        register_module("act" + k, nn::QActivation(nn::QActivationOptions(options.activation))));
    in = width;
  }
  layers_.emplace_back(register_module(
      "fc" + std::to_string(index), nn::QLinear(linear_options(options, in, options.num_outputs))));
  if (options.output_activation != "none") {
    layers_.emplace_back(register_module(
        "act_out", nn::QActivation(nn::QActivationOptions(options.output_activation))));
  }
}

torch::Tensor MlpImpl::forward(const torch::Tensor& input) {
  torch::Tensor x = input.reshape({input.size(0), -1});
  for (auto& layer : layers_) x = layer.forward(x);
  return x;
}

torch::nn::AnyModule build_mlp(const lowbit::config::ConfigNode& node, int64_t in_features,
                               int64_t num_outputs) {
  MlpOptions options;
  options.in_features = in_features;
  options.num_outputs = num_outputs;
  options.widths = node.get<std::vector<int64_t>>("widths", {});
  for (int64_t w : options.widths) {
    if (w < 1) node.fail("widths", "expected widths >= 1");
  }
  options.activation = node.choice("activation", "relu", nn::activation_functions());
  options.norm = node.choice("norm", "none", {"none", "batch", "layer", "rms"});
  options.output_activation = node.choice("output_activation", "none", nn::activation_functions());
  options.bias = node.get<bool>("bias", true);
  const InitializerKeys init = read_initializer_keys(node);
  options.kernel_initializer = init.kernel;
  options.bias_initializer = init.bias;
  options.fit_kernel_to_grid = init.fit_kernel_to_grid;
  node.done();
  return torch::nn::AnyModule(Mlp(options));
}

}  // namespace lowbit::models
