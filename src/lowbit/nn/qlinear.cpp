#include "lowbit/nn/qlinear.h"

#include <torch/nn/init.h>

#include <cmath>
#include <stdexcept>

#include "lowbit/nn/initializers.h"
#include "lowbit/nn/quant_slot.h"

namespace lowbit::nn {

QLinearOptions::QLinearOptions(int64_t in_features, int64_t out_features)
    : in_features_(in_features), out_features_(out_features) {}

QLinearImpl::QLinearImpl(const QLinearOptions& options_) : options(options_) {
  reset();
}

void QLinearImpl::reset() {
  if (options.in_features() <= 0 || options.out_features() <= 0) {
    throw std::invalid_argument("QLinear: in_features and out_features must be positive, got " +
                                std::to_string(options.in_features()) + " and " +
                                std::to_string(options.out_features()));
  }
  weight =
      register_parameter("weight", torch::empty({options.out_features(), options.in_features()}));
  bias = register_optional_bias(options.bias(), options.out_features());
  reset_parameters();
  set_four_quantizers(options);
}

void QLinearImpl::reset_parameters() {
  init_kernel(weight, options.kernel_initializer());
  if (bias.defined()) init_bias(bias, weight, options.bias_initializer());
  kernel_fitted_ = false;
}

void QLinearImpl::pretty_print(std::ostream& stream) const {
  stream << "lowbit::nn::QLinear(in_features=" << options.in_features()
         << ", out_features=" << options.out_features() << ", bias=" << std::boolalpha
         << options.bias() << ", weight_quant=\"" << options.weight_quant() << "\", bias_quant=\""
         << options.bias_quant() << "\", input_quant=\"" << options.input_quant()
         << "\", output_quant=\"" << options.output_quant() << "\")";
}

void QLinearImpl::add_bias(const torch::Tensor& initial) {
  bias = adopt_bias(bias, initial);
  options.bias(true);
}

torch::Tensor QLinearImpl::forward(const torch::Tensor& input) {
  const torch::Tensor x = apply_quantizer(input_quant(), input);
  return apply_quantizer(output_quant(), torch::linear(x, quantized_weight(), quantized_bias()));
}

std::vector<SlotRole> QLinearImpl::slot_roles() const {
  return four_slot_roles();
}

void QLinearImpl::record_spec(QuantSlot slot, const std::string& spec) {
  record_four_slot_spec(options, slot, spec);
  if (slot == QuantSlot::kWeights && options.fit_kernel_to_grid() && !kernel_fitted_ &&
      weight_quant()) {
    kernel_fitted_ = fit_kernel_to_grid(weight, options.kernel_initializer(), *weight_quant());
  }
}

}  // namespace lowbit::nn
