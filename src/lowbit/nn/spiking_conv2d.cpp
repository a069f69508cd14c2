#include "lowbit/nn/spiking_conv2d.h"

#include <sstream>
#include <stdexcept>

namespace lowbit::nn {

SpikingConv2dOptions::SpikingConv2dOptions(int64_t in_channels, int64_t out_channels,
                                           torch::ExpandingArray<2> kernel_size)
    : conv_(in_channels, out_channels, kernel_size) {}

SpikingConv2dImpl::SpikingConv2dImpl(const SpikingConv2dOptions& options_) : options(options_) {
  reset();
}

void SpikingConv2dImpl::reset() {
  const int64_t out = options.conv().out_channels();
  const int64_t channels = options.lif().channels();
  if (channels != 0 && channels != out) {
    throw std::invalid_argument("SpikingConv2d: lif.channels (" + std::to_string(channels) +
                                ") must be 0 or the convolution's out_channels (" +
                                std::to_string(out) + ")");
  }
  conv = register_module("conv", QConv2d(options.conv()));
  if (options.batch_norm()) {
    norm = register_module("norm", FoldableBatchNorm(torch::nn::BatchNormOptions(out)));
  } else {
    norm = nullptr;
  }
  lif = register_module("lif", Leaky(options.lif()));
}

void SpikingConv2dImpl::pretty_print(std::ostream& stream) const {
  stream << "lowbit::nn::SpikingConv2d";
}

torch::Tensor SpikingConv2dImpl::currents(const torch::Tensor& x) {
  if (x.dim() != 5) {
    std::ostringstream shape;
    shape << x.sizes();
    throw std::invalid_argument("SpikingConv2d: expected input [T, B, C, H, W], got " +
                                shape.str());
  }
  const int64_t steps = x.size(0);
  const int64_t batch = x.size(1);
  torch::Tensor y = conv->forward(x.flatten(0, 1));
  if (norm) y = norm->forward(y);
  return y.reshape({steps, batch, y.size(1), y.size(2), y.size(3)});
}

torch::Tensor SpikingConv2dImpl::forward(const torch::Tensor& x) {
  return lif->forward_sequence(currents(x));
}

}  // namespace lowbit::nn
