// SpikingConv2d: a QConv2d, an optional foldable batch norm and Leaky neurons, run over the time
// steps of a sequence [T, B, C, H, W] (the block of spiking convolutional encoders).
#pragma once

#include <torch/arg.h>
#include <torch/expanding_array.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <ostream>

#include "lowbit/nn/foldable_batch_norm.h"
#include "lowbit/nn/leaky.h"
#include "lowbit/nn/qconv2d.h"

namespace lowbit::nn {

/// Options of SpikingConv2d: the convolution's, whether a batch norm follows it, the neurons'.
struct SpikingConv2dOptions {
  /// Channel counts and kernel size of the convolution; other options at their defaults.
  SpikingConv2dOptions(int64_t in_channels, int64_t out_channels,
                       torch::ExpandingArray<2> kernel_size);
  /// The convolution (stride, padding, bias, quantizer SPECs, ...).
  TORCH_ARG(QConv2dOptions, conv);
  /// Whether a FoldableBatchNorm (LibTorch's defaults) follows the convolution.
  TORCH_ARG(bool, batch_norm) = false;
  /// The neurons; channels 0 or the convolution's out_channels.
  TORCH_ARG(LeakyOptions, lif) = {};
};

/// Spikes [T, B, out, H', W'] = lif(norm(conv(x_t))) for inputs [T, B, in, H, W]. The
/// convolution and the batch norm hold no state across steps, so they run once on the T * B
/// frames (a batch norm in training mode takes its statistics over all T * B frames and updates
/// its running statistics once per call); the neurons then run step by step, from rest at every
/// call. Submodules `conv` (QConv2d), `norm` (FoldableBatchNorm, when batch_norm) and `lif`
/// (Leaky), registered in that order, so batch-norm folding finds `norm` right after `conv` and
/// quantizer overrides address `<block>.conv`.
///
/// Integer mode (lif.integer_state with an output quantizer on `conv` whose integer form has one
/// scale): the neurons run step_integer on the output quantizer's codes, so spikes and membrane
/// are exactly the integer runtime's; a batch norm must then be folded. Without an output
/// quantizer (a float stage) the float LIF runs.
class SpikingConv2dImpl : public torch::nn::Cloneable<SpikingConv2dImpl> {
 public:
  /// A block with default options.
  SpikingConv2dImpl(int64_t in_channels, int64_t out_channels, torch::ExpandingArray<2> kernel_size)
      : SpikingConv2dImpl(SpikingConv2dOptions(in_channels, out_channels, kernel_size)) {}
  /// A block from options; lif.channels other than 0 and out_channels is std::invalid_argument.
  explicit SpikingConv2dImpl(const SpikingConv2dOptions& options);

  /// (Re)creates the submodules from the options.
  void reset() override;
  /// Prints the block (its submodules print themselves).
  void pretty_print(std::ostream& stream) const override;
  /// Spikes [T, B, out, H', W'] for inputs [T, B, in, H, W].
  torch::Tensor forward(const torch::Tensor& x);
  /// Spikes and membrane [T, B, out, H', W'] as forward computes them (integer mode or float).
  LeakyTrace run(const torch::Tensor& x);
  /// Whether forward runs the integer LIF: lif.integer_state and an output quantizer on `conv`.
  bool integer_mode() const;
  /// The neurons' input currents norm(conv(x_t)) [T, B, out, H', W'].
  torch::Tensor currents(const torch::Tensor& x);

  /// The options the block was built with.
  SpikingConv2dOptions options;
  /// The convolution.
  QConv2d conv{nullptr};
  /// The batch norm; empty when options.batch_norm() is false.
  FoldableBatchNorm norm{nullptr};
  /// The neurons.
  Leaky lif{nullptr};

 private:
  // The currents [T, B, out, H', W'] fake-quantized (with gradient), their codes minus the zero
  // point (int64) and the grid step, from the output quantizer's integer form.
  struct IntegerCurrents {
    torch::Tensor values;
    torch::Tensor codes;
    double step = 0.0;
  };
  IntegerCurrents integer_currents(const torch::Tensor& x);
  void check_input(const torch::Tensor& x) const;
};

/// Holder of SpikingConv2dImpl (the module form layers are used in).
TORCH_MODULE(SpikingConv2d);

}  // namespace lowbit::nn
