#include "lowbit/models/quantize_layers.h"

#include "lowbit/nn/qactivation.h"
#include "lowbit/nn/qconv2d.h"
#include "lowbit/nn/qlinear.h"

namespace lowbit::models {

std::vector<std::string> set_weight_quant(torch::nn::Module& model, const std::string& spec) {
  std::vector<std::string> changed;
  for (const auto& item : model.named_modules()) {
    if (auto* linear = dynamic_cast<nn::QLinearImpl*>(item.value().get())) {
      linear->set_weight_quant(spec);
      changed.push_back(item.key());
    } else if (auto* conv = dynamic_cast<nn::QConv2dImpl*>(item.value().get())) {
      conv->set_weight_quant(spec);
      changed.push_back(item.key());
    }
  }
  return changed;
}

std::vector<std::string> set_bias_quant(torch::nn::Module& model, const std::string& spec) {
  std::vector<std::string> changed;
  for (const auto& item : model.named_modules()) {
    if (auto* linear = dynamic_cast<nn::QLinearImpl*>(item.value().get())) {
      if (!linear->options.bias()) continue;
      linear->set_bias_quant(spec);
      changed.push_back(item.key());
    } else if (auto* conv = dynamic_cast<nn::QConv2dImpl*>(item.value().get())) {
      if (!conv->options.bias()) continue;
      conv->set_bias_quant(spec);
      changed.push_back(item.key());
    }
  }
  return changed;
}

std::vector<std::string> set_activation_quant(torch::nn::Module& model, const std::string& spec) {
  std::vector<std::string> changed;
  for (const auto& item : model.named_modules()) {
    if (auto* activation = dynamic_cast<nn::QActivationImpl*>(item.value().get())) {
      activation->set_output_quant(spec);
      changed.push_back(item.key());
    }
  }
  return changed;
}

}  // namespace lowbit::models
