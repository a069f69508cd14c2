#include "lowbit/nn/spiking_conv2d.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/nn/quant_slot.h"
#include "lowbit/quant/ste.h"
#include "lowbit/util/shape_text.h"

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

void SpikingConv2dImpl::check_input(const torch::Tensor& x) const {
  if (x.dim() != 5) {
    throw std::invalid_argument("SpikingConv2d: expected input [T, B, C, H, W], got " +
                                util::shape_text(x.sizes()));
  }
}

torch::Tensor SpikingConv2dImpl::currents(const torch::Tensor& x) {
  check_input(x);
  const int64_t steps = x.size(0);
  const int64_t batch = x.size(1);
  torch::Tensor y = conv->forward(x.flatten(0, 1));
  if (norm) y = norm->forward(y);
  return y.reshape({steps, batch, y.size(1), y.size(2), y.size(3)});
}

bool SpikingConv2dImpl::integer_mode() const {
  return lif->options.integer_state() && conv->output_quant() != nullptr;
}

SpikingConv2dImpl::IntegerCurrents SpikingConv2dImpl::integer_currents(const torch::Tensor& x) {
  check_input(x);
  const std::string block = "SpikingConv2d (" + std::to_string(options.conv().in_channels()) +
                            " -> " + std::to_string(options.conv().out_channels()) + " channels)";
  // The output quantizer sits inside `conv`, before `norm`: only a folded norm leaves the
  // neurons' input on its grid.
  if (norm && !norm->folded()) {
    throw std::invalid_argument(
        block +
        ": lif.integer_state needs the batch norm `norm` folded into `conv` (event "
        "fold_batchnorm before integer training, or batch_norm false)");
  }
  const int64_t steps = x.size(0);
  const int64_t batch = x.size(1);
  // QConv2d::forward up to its output quantizer, which runs here so that its integer form is
  // taken from the same input, in the same mode, right after forward updated its observers.
  const torch::Tensor input = apply_quantizer(conv->input_quant(), x.flatten(0, 1));
  const auto& o = conv->options;
  const torch::Tensor y = torch::conv2d(input, conv->quantized_weight(), conv->quantized_bias(),
                                        o.stride(), o.padding(), o.dilation(), o.groups());
  const quant::Quantizer& quantizer = conv->output_quant();
  const torch::Tensor fake = quantizer->forward(y);
  const quant::IntegerForm form = quantizer->integer_form(y.detach());
  if (form.levels.defined() || form.scale.numel() != 1) {
    throw std::invalid_argument(block +
                                ": lif.integer_state needs an output quantizer with one scale "
                                "and integer codes (per tensor, no codebook); got " +
                                quantizer->spec().str());
  }
  IntegerCurrents currents;
  currents.step = form.scale.item<double>();
  // The codes decide the values (they equal `fake` bit for bit); `fake` carries the gradient.
  const std::vector<int64_t> shape = {steps, batch, y.size(1), y.size(2), y.size(3)};
  currents.values = quant::straight_through(fake, form.dequantize()).reshape(shape);
  currents.codes =
      (form.codes.to(torch::kInt64) - form.zero_point.to(torch::kInt64)).reshape(shape);
  return currents;
}

torch::Tensor SpikingConv2dImpl::forward(const torch::Tensor& x) {
  if (!integer_mode()) return lif->forward_sequence(currents(x));
  return run(x).spikes;
}

LeakyTrace SpikingConv2dImpl::run(const torch::Tensor& x) {
  if (!integer_mode()) return lif->run(currents(x));
  const IntegerCurrents c = integer_currents(x);
  return lif->run_integer(c.values, c.codes, c.step);
}

}  // namespace lowbit::nn
