// QConvTranspose2d: torch::nn::ConvTranspose2d with optional quantizers on its input, weight,
// bias and output (the decoder's upsampling layer; usable in any model).
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

/// Options of QConvTranspose2d (zero padding); quantizer SPECs are empty for none.
struct QConvTranspose2dOptions {
  /// Channel counts and kernel size.
  QConvTranspose2dOptions(int64_t in_channels, int64_t out_channels,
                          torch::ExpandingArray<2> kernel_size);
  /// Input channels.
  TORCH_ARG(int64_t, in_channels);
  /// Output channels.
  TORCH_ARG(int64_t, out_channels);
  /// Kernel height and width.
  TORCH_ARG(torch::ExpandingArray<2>, kernel_size);
  /// Stride (the upsampling factor) along height and width.
  TORCH_ARG(torch::ExpandingArray<2>, stride) = 1;
  /// dilation * (kernel_size - 1) - padding zeros are added to both sides of the input.
  TORCH_ARG(torch::ExpandingArray<2>, padding) = 0;
  /// Extra rows and columns on one side of the output; each below max(stride, dilation).
  TORCH_ARG(torch::ExpandingArray<2>, output_padding) = 0;
  /// Kernel dilation along height and width.
  TORCH_ARG(torch::ExpandingArray<2>, dilation) = 1;
  /// Channel groups.
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

/// The weight `w` {out, in / groups, kh, kw} of a QConvTranspose2d in torch's ConvTranspose2d
/// layout {in, out / groups, kh, kw}.
torch::Tensor conv_transpose_weight_to_torch(const torch::Tensor& w, int64_t in_channels,
                                             int64_t groups);
/// A torch ConvTranspose2d weight {in, out / groups, kh, kw} in QConvTranspose2d's layout
/// {out, in / groups, kh, kw}.
torch::Tensor conv_transpose_weight_from_torch(const torch::Tensor& w, int64_t out_channels,
                                               int64_t groups);

/// y = output_q(conv_transpose2d(input_q(x), weight_q(weight), bias_q(bias))). The weight is
/// stored output channel first, {out, in / groups, kh, kw} (QConv2d's layout, not torch's
/// ConvTranspose2d {in, out / groups, kh, kw}), so that every pass that takes dimension 0 as the
/// output channel (per-channel weight quantizers, batch-norm folding, channel pruning) treats it
/// as a convolution; conv_transpose_weight_from_torch() converts a torch weight. Weight and bias
/// are initialised as torch::nn::ConvTranspose2d's (same seed, same values after conversion).
class QConvTranspose2dImpl : public torch::nn::Cloneable<QConvTranspose2dImpl>,
                             public QuantizedLayer {
 public:
  /// A layer with default stride, padding, groups and bias.
  QConvTranspose2dImpl(int64_t in_channels, int64_t out_channels,
                       torch::ExpandingArray<2> kernel_size)
      : QConvTranspose2dImpl(QConvTranspose2dOptions(in_channels, out_channels, kernel_size)) {}
  /// A layer from options.
  explicit QConvTranspose2dImpl(const QConvTranspose2dOptions& options);

  /// (Re)creates parameters and quantizers from the options; throws std::invalid_argument for
  /// channel counts that are not positive multiples of groups, or an output_padding not below
  /// max(stride, dilation).
  void reset() override;
  /// Initialises weight and bias as torch::nn::ConvTranspose2d does.
  void reset_parameters();
  /// Prints the layer and its quantizer SPECs.
  void pretty_print(std::ostream& stream) const override;
  /// The output {N, out, (H - 1) s - 2 p + d (k - 1) + op + 1, ...} for input {N, in, H, W}.
  torch::Tensor forward(const torch::Tensor& input);
  /// The output of spatial size `size` {H', W'} (torch's output_size argument: the output_padding
  /// is chosen for it); a size the layer cannot produce is std::invalid_argument. (Not a forward
  /// overload: torch::nn::Sequential needs forward to be unique.)
  torch::Tensor forward_to_size(const torch::Tensor& input, torch::IntArrayRef size);

  /// Gives a layer built without bias the learned bias `initial` {out} (batch-norm folding);
  /// throws std::logic_error when it already has one. Optimizers must be rebuilt afterwards.
  void add_bias(const torch::Tensor& initial) override;

  /// "QConvTranspose2d".
  const char* kind() const override { return "QConvTranspose2d"; }
  /// Weights, biases, inputs and outputs.
  std::vector<SlotRole> slot_roles() const override;
  /// The learned weight {out, in / groups, kh, kw}.
  torch::Tensor weight_tensor() const override { return weight; }
  /// The learned bias (undefined without one).
  torch::Tensor bias_tensor() const override { return bias; }

  /// The options the layer was built with, quantizer SPECs as last set.
  QConvTranspose2dOptions options;
  /// The learned weight {out_channels, in_channels / groups, kh, kw}.
  torch::Tensor weight;
  /// The learned bias {out_channels}; undefined when options.bias() is false.
  torch::Tensor bias;

 protected:
  void record_spec(QuantSlot slot, const std::string& spec) override;

 private:
  torch::Tensor run(const torch::Tensor& input, torch::IntArrayRef output_padding);
};

/// Holder of QConvTranspose2dImpl (the module form layers are used in).
TORCH_MODULE(QConvTranspose2d);

}  // namespace lowbit::nn
