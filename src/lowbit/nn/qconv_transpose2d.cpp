#include "lowbit/nn/qconv_transpose2d.h"

#include <torch/autograd.h>
#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "lowbit/nn/quant_slot.h"

namespace lowbit::nn {

QConvTranspose2dOptions::QConvTranspose2dOptions(int64_t in_channels, int64_t out_channels,
                                                 torch::ExpandingArray<2> kernel_size)
    : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}

torch::Tensor conv_transpose_weight_to_torch(const torch::Tensor& w, int64_t in_channels,
                                             int64_t groups) {
  // {g, out/g, in/g, kh, kw} -> {g, in/g, out/g, kh, kw}.
  const int64_t out = w.size(0);
  return w.reshape({groups, out / groups, in_channels / groups, w.size(2), w.size(3)})
      .transpose(1, 2)
      .reshape({in_channels, out / groups, w.size(2), w.size(3)});
}

torch::Tensor conv_transpose_weight_from_torch(const torch::Tensor& w, int64_t out_channels,
                                               int64_t groups) {
  const int64_t in = w.size(0);
  return w.reshape({groups, in / groups, out_channels / groups, w.size(2), w.size(3)})
      .transpose(1, 2)
      .reshape({out_channels, in / groups, w.size(2), w.size(3)});
}

QConvTranspose2dImpl::QConvTranspose2dImpl(const QConvTranspose2dOptions& options_)
    : options(options_) {
  reset();
}

void QConvTranspose2dImpl::reset() {
  const int64_t groups = options.groups();
  if (options.in_channels() <= 0 || options.out_channels() <= 0 || groups <= 0 ||
      options.in_channels() % groups != 0 || options.out_channels() % groups != 0) {
    throw std::invalid_argument(
        "QConvTranspose2d: in_channels (" + std::to_string(options.in_channels()) +
        ") and out_channels (" + std::to_string(options.out_channels()) +
        ") must be positive multiples of groups (" + std::to_string(groups) + ")");
  }
  for (int d = 0; d < 2; ++d) {
    const int64_t op = (*options.output_padding())[d];
    const int64_t limit = std::max((*options.stride())[d], (*options.dilation())[d]);
    if (op < 0 || op >= limit) {
      throw std::invalid_argument(
          "QConvTranspose2d: output_padding " + std::to_string(op) +
          " must be >= 0 and below max(stride, dilation) = " + std::to_string(limit));
    }
  }
  const auto& k = *options.kernel_size();
  weight = register_parameter(
      "weight", torch::empty({options.out_channels(), options.in_channels() / groups, k[0], k[1]}));
  bias = register_optional_bias(options.bias(), options.out_channels());
  reset_parameters();
  set_four_quantizers(options);
}

void QConvTranspose2dImpl::reset_parameters() {
  // Drawn in torch's layout with its fan-in ((out / groups) * kh * kw), then transposed, so the
  // random stream matches torch::nn::ConvTranspose2d's.
  const auto& k = *options.kernel_size();
  torch::Tensor torch_weight =
      torch::empty({options.in_channels(), options.out_channels() / options.groups(), k[0], k[1]});
  torch::nn::init::kaiming_uniform_(torch_weight, std::sqrt(5.0));
  torch::NoGradGuard no_grad;
  weight.copy_(
      conv_transpose_weight_from_torch(torch_weight, options.out_channels(), options.groups()));
  if (bias.defined()) {
    const auto fans = torch::nn::init::_calculate_fan_in_and_fan_out(torch_weight);
    const double bound = 1.0 / std::sqrt(static_cast<double>(std::get<0>(fans)));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

void QConvTranspose2dImpl::pretty_print(std::ostream& stream) const {
  stream << "lowbit::nn::QConvTranspose2d(" << options.in_channels() << ", "
         << options.out_channels() << ", kernel_size=" << options.kernel_size()
         << ", stride=" << options.stride() << ", padding=" << options.padding()
         << ", output_padding=" << options.output_padding() << ", dilation=" << options.dilation()
         << ", groups=" << options.groups() << ", bias=" << std::boolalpha << options.bias()
         << ", weight_quant=\"" << options.weight_quant() << "\", bias_quant=\""
         << options.bias_quant() << "\", input_quant=\"" << options.input_quant()
         << "\", output_quant=\"" << options.output_quant() << "\")";
}

void QConvTranspose2dImpl::add_bias(const torch::Tensor& initial) {
  bias = adopt_bias(bias, initial);
  options.bias(true);
}

torch::Tensor QConvTranspose2dImpl::run(const torch::Tensor& input,
                                        torch::IntArrayRef output_padding) {
  const torch::Tensor x = apply_quantizer(input_quant(), input);
  const torch::Tensor w =
      conv_transpose_weight_to_torch(quantized_weight(), options.in_channels(), options.groups());
  const torch::Tensor y =
      torch::conv_transpose2d(x, w, quantized_bias(), options.stride(), options.padding(),
                              output_padding, options.groups(), options.dilation());
  return apply_quantizer(output_quant(), y);
}

torch::Tensor QConvTranspose2dImpl::forward(const torch::Tensor& input) {
  return run(input, options.output_padding());
}

torch::Tensor QConvTranspose2dImpl::forward_to_size(const torch::Tensor& input,
                                                    torch::IntArrayRef size) {
  if (input.dim() != 4 || size.size() != 2) {
    throw std::invalid_argument(
        "QConvTranspose2d::forward_to_size: expected an input {N, C, H, W} and a size {H, W}");
  }
  std::vector<int64_t> output_padding(2);
  for (size_t d = 0; d < 2; ++d) {
    const int64_t stride = (*options.stride())[d];
    const int64_t lowest = (input.size(static_cast<int64_t>(d) + 2) - 1) * stride -
                           2 * (*options.padding())[d] +
                           (*options.dilation())[d] * ((*options.kernel_size())[d] - 1) + 1;
    if (size[d] < lowest || size[d] > lowest + stride - 1) {
      throw std::invalid_argument("QConvTranspose2d::forward_to_size: output size " +
                                  std::to_string(size[d]) + " along dimension " +
                                  std::to_string(d + 2) + " is outside [" + std::to_string(lowest) +
                                  ", " + std::to_string(lowest + stride - 1) + "]");
    }
    output_padding[d] = size[d] - lowest;
  }
  return run(input, output_padding);
}

std::vector<SlotRole> QConvTranspose2dImpl::slot_roles() const {
  return four_slot_roles();
}

void QConvTranspose2dImpl::record_spec(QuantSlot slot, const std::string& spec) {
  record_four_slot_spec(options, slot, spec);
}

}  // namespace lowbit::nn
