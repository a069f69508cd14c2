#include "lowbit/nn/qconv2d.h"

#include <torch/nn/init.h>

#include <cmath>
#include <stdexcept>

#include "lowbit/nn/quant_slot.h"

namespace lowbit::nn {

QConv2dOptions::QConv2dOptions(int64_t in_channels, int64_t out_channels,
                               torch::ExpandingArray<2> kernel_size)
    : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}

QConv2dImpl::QConv2dImpl(const QConv2dOptions& options_) : options(options_) {
  reset();
}

void QConv2dImpl::reset() {
  const int64_t groups = options.groups();
  if (options.in_channels() <= 0 || options.out_channels() <= 0 || groups <= 0 ||
      options.in_channels() % groups != 0 || options.out_channels() % groups != 0) {
    throw std::invalid_argument("QConv2d: in_channels (" + std::to_string(options.in_channels()) +
                                ") and out_channels (" + std::to_string(options.out_channels()) +
                                ") must be positive multiples of groups (" +
                                std::to_string(groups) + ")");
  }
  const auto& k = *options.kernel_size();
  weight = register_parameter(
      "weight", torch::empty({options.out_channels(), options.in_channels() / groups, k[0], k[1]}));
  bias = register_optional_bias(options.bias(), options.out_channels());
  reset_parameters();
  set_four_quantizers(options);
}

void QConv2dImpl::reset_parameters() {
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const auto fans = torch::nn::init::_calculate_fan_in_and_fan_out(weight);
    const double bound = 1.0 / std::sqrt(static_cast<double>(std::get<0>(fans)));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

void QConv2dImpl::pretty_print(std::ostream& stream) const {
  stream << "lowbit::nn::QConv2d(" << options.in_channels() << ", " << options.out_channels()
         << ", kernel_size=" << options.kernel_size() << ", stride=" << options.stride()
         << ", padding=" << options.padding() << ", dilation=" << options.dilation()
         << ", groups=" << options.groups() << ", bias=" << std::boolalpha << options.bias()
         << ", weight_quant=\"" << options.weight_quant() << "\", bias_quant=\""
         << options.bias_quant() << "\", input_quant=\"" << options.input_quant()
         << "\", output_quant=\"" << options.output_quant() << "\")";
}

void QConv2dImpl::add_bias(const torch::Tensor& initial) {
  bias = adopt_bias(bias, initial);
  options.bias(true);
}

torch::Tensor QConv2dImpl::forward(const torch::Tensor& input) {
  const torch::Tensor x = apply_quantizer(input_quant(), input);
  const torch::Tensor y = torch::conv2d(x, quantized_weight(), quantized_bias(), options.stride(),
                                        options.padding(), options.dilation(), options.groups());
  return apply_quantizer(output_quant(), y);
}

std::vector<SlotRole> QConv2dImpl::slot_roles() const {
  return four_slot_roles();
}

void QConv2dImpl::record_spec(QuantSlot slot, const std::string& spec) {
  record_four_slot_spec(options, slot, spec);
}

}  // namespace lowbit::nn
