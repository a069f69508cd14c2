// QLinear: torch::nn::Linear with optional quantizers on its input, weight, bias and output.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "lowbit/nn/quantized_layer.h"

namespace lowbit::nn {

/// Options of QLinear; quantizer SPECs are empty for none.
struct QLinearOptions {
  /// Sizes of the input and output features.
  QLinearOptions(int64_t in_features, int64_t out_features);
  /// Size of each input sample.
  TORCH_ARG(int64_t, in_features);
  /// Size of each output sample.
  TORCH_ARG(int64_t, out_features);
  /// Whether the layer learns an additive bias.
  TORCH_ARG(bool, bias) = true;
  /// SPEC of the weight quantizer (role weight).
  TORCH_ARG(std::string, weight_quant) = "";
  /// SPEC of the bias quantizer (role bias).
  TORCH_ARG(std::string, bias_quant) = "";
  /// SPEC of the input quantizer (role activation).
  TORCH_ARG(std::string, input_quant) = "";
  /// SPEC of the output quantizer (role activation).
  TORCH_ARG(std::string, output_quant) = "";
  /// Kernel initialiser by name (nn/initializers.h); torch_default is torch::nn::Linear's.
  TORCH_ARG(std::string, kernel_initializer) = "torch_default";
  /// Bias initialiser by name: torch_default (torch::nn::Linear's) or zeros (Keras's).
  TORCH_ARG(std::string, bias_initializer) = "torch_default";
  /// Redraw the kernel with QKeras's QInitializer (nn::fit_kernel_to_grid) when the first weight
  /// quantizer is set, as QDense does; a later warm start or checkpoint load overwrites it.
  TORCH_ARG(bool, fit_kernel_to_grid) = false;
};

/// y = output_q(linear(input_q(x), weight_q(weight), bias_q(bias))). Parameters `weight`
/// {out, in} and `bias` {out} are named, shaped and initialised as torch::nn::Linear's, so an FP
/// Linear's parameters load by name; quantizers are submodules `weight_quant`, `bias_quant`,
/// `input_quant` and `output_quant` when set.
class QLinearImpl : public torch::nn::Cloneable<QLinearImpl>, public QuantizedLayer {
 public:
  /// A layer from in to out features with default options.
  QLinearImpl(int64_t in_features, int64_t out_features)
      : QLinearImpl(QLinearOptions(in_features, out_features)) {}
  /// A layer from options.
  explicit QLinearImpl(const QLinearOptions& options);

  /// (Re)creates parameters and quantizers from the options.
  void reset() override;
  /// Initialises weight and bias with the options' initialisers (by default as
  /// torch::nn::Linear does).
  void reset_parameters();
  /// Prints the layer and its quantizer SPECs.
  void pretty_print(std::ostream& stream) const override;
  /// The layer's output for input {..., in_features}.
  torch::Tensor forward(const torch::Tensor& input);

  /// Gives a layer built without bias the learned bias `initial` {out} (batch-norm folding);
  /// throws std::logic_error when it already has one. Optimizers must be rebuilt afterwards.
  void add_bias(const torch::Tensor& initial) override;

  /// "QLinear".
  const char* kind() const override { return "QLinear"; }
  /// Weights, biases, inputs and outputs.
  std::vector<SlotRole> slot_roles() const override;
  /// The learned weight.
  torch::Tensor weight_tensor() const override { return weight; }
  /// The learned bias (undefined without one).
  torch::Tensor bias_tensor() const override { return bias; }

  /// The options the layer was built with, quantizer SPECs as last set.
  QLinearOptions options;
  /// The learned weight {out_features, in_features}.
  torch::Tensor weight;
  /// The learned bias {out_features}; undefined when options.bias() is false.
  torch::Tensor bias;

 protected:
  void record_spec(QuantSlot slot, const std::string& spec) override;

 private:
  // Set once fit_kernel_to_grid has redrawn the kernel, so later quantizer switches keep it.
  bool kernel_fitted_ = false;
};

/// Holder of QLinearImpl (the module form layers are used in).
TORCH_MODULE(QLinear);

}  // namespace lowbit::nn
