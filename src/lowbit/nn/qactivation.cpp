#include "lowbit/nn/qactivation.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "lowbit/nn/quant_slot.h"

namespace lowbit::nn {

QActivationOptions::QActivationOptions(std::string function) : function_(std::move(function)) {}

const std::vector<std::string>& activation_functions() {
  static const std::vector<std::string> names = {"none",    "relu",         "relu6",
                                                 "sigmoid", "hard_sigmoid", "tanh"};
  return names;
}

QActivationImpl::QActivationImpl(const QActivationOptions& options_) : options(options_) {
  reset();
}

void QActivationImpl::reset() {
  const auto& names = activation_functions();
  if (std::find(names.begin(), names.end(), options.function()) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw std::invalid_argument("QActivation: unknown function '" + options.function() +
                                "'; expected one of: " + list);
  }
  set_output_quant(options.output_quant());
}

void QActivationImpl::pretty_print(std::ostream& stream) const {
  stream << "lowbit::nn::QActivation(function=" << options.function() << ", output_quant=\""
         << options.output_quant() << "\")";
}

torch::Tensor QActivationImpl::forward(const torch::Tensor& input) {
  const std::string& f = options.function();
  torch::Tensor y;
  if (f == "relu") {
    y = torch::relu(input);
  } else if (f == "relu6") {
    y = torch::hardtanh(input, 0.0, 6.0);
  } else if (f == "sigmoid") {
    y = torch::sigmoid(input);
  } else if (f == "hard_sigmoid") {
    y = torch::hardsigmoid(input);
  } else if (f == "tanh") {
    y = torch::tanh(input);
  } else {
    y = input;
  }
  if (recording_) recorded_input_ = y;
  return apply_quantizer(output_quant(), y);
}

void QActivationImpl::record_spec(QuantSlot slot, const std::string& spec) {
  if (slot == QuantSlot::kOutputs) options.output_quant(spec);
}

}  // namespace lowbit::nn
