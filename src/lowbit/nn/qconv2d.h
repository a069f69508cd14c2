// QConv2d: torch::nn::Conv2d with optional quantizers on its input, weight, bias and output.
#pragma once

#include <torch/arg.h>
#include <torch/expanding_array.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "lowbit/nn/quantized_layer.h"

namespace lowbit::nn {

/// Options of QConv2d (zero padding, no transposition); quantizer SPECs are empty for none.
struct QConv2dOptions {
  /// Channel counts and kernel size.
  QConv2dOptions(int64_t in_channels, int64_t out_channels, torch::ExpandingArray<2> kernel_size);
  /// Input channels.
  TORCH_ARG(int64_t, in_channels);
  /// Output channels.
  TORCH_ARG(int64_t, out_channels);
  /// Kernel height and width.
  TORCH_ARG(torch::ExpandingArray<2>, kernel_size);
  /// Stride along height and width.
  TORCH_ARG(torch::ExpandingArray<2>, stride) = 1;
  /// Zero padding along height and width.
  TORCH_ARG(torch::ExpandingArray<2>, padding) = 0;
  /// Kernel dilation along height and width.
  TORCH_ARG(torch::ExpandingArray<2>, dilation) = 1;
  /// Channel groups; groups == in_channels == out_channels is a depthwise convolution.
  TORCH_ARG(int64_t, groups) = 1;
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
};

/// y = output_q(conv2d(input_q(x), weight_q(weight), bias_q(bias))). Parameters `weight`
/// {out, in / groups, kh, kw} and `bias` {out} are named, shaped and initialised as
/// torch::nn::Conv2d's; quantizers are submodules `weight_quant`, `bias_quant`, `input_quant`
/// and `output_quant` when set.
class QConv2dImpl : public torch::nn::Cloneable<QConv2dImpl>, public QuantizedLayer {
 public:
  /// A layer with default stride, padding, groups and bias.
  QConv2dImpl(int64_t in_channels, int64_t out_channels, torch::ExpandingArray<2> kernel_size)
      : QConv2dImpl(QConv2dOptions(in_channels, out_channels, kernel_size)) {}
  /// A layer from options.
  explicit QConv2dImpl(const QConv2dOptions& options);

  /// (Re)creates parameters and quantizers from the options; throws std::invalid_argument
  /// when the channel counts are not multiples of groups.
  void reset() override;
  /// Initialises weight and bias as torch::nn::Conv2d does.
  void reset_parameters();
  /// Prints the layer and its quantizer SPECs.
  void pretty_print(std::ostream& stream) const override;
  /// The layer's output for input {N, in_channels, H, W}.
  torch::Tensor forward(const torch::Tensor& input);

  /// Gives a layer built without bias the learned bias `initial` {out} (batch-norm folding);
  /// throws std::logic_error when it already has one. Optimizers must be rebuilt afterwards.
  void add_bias(const torch::Tensor& initial) override;

  /// "QConv2d".
  const char* kind() const override { return "QConv2d"; }
  /// Weights, biases, inputs and outputs.
  std::vector<SlotRole> slot_roles() const override;
  /// The learned weight.
  torch::Tensor weight_tensor() const override { return weight; }
  /// The learned bias (undefined without one).
  torch::Tensor bias_tensor() const override { return bias; }

  /// The options the layer was built with, quantizer SPECs as last set.
  QConv2dOptions options;
  /// The learned weight {out_channels, in_channels / groups, kh, kw}.
  torch::Tensor weight;
  /// The learned bias {out_channels}; undefined when options.bias() is false.
  torch::Tensor bias;

 protected:
  void record_spec(QuantSlot slot, const std::string& spec) override;
};

/// Holder of QConv2dImpl (the module form layers are used in).
TORCH_MODULE(QConv2d);

}  // namespace lowbit::nn
