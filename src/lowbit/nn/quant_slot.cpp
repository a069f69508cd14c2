#include "lowbit/nn/quant_slot.h"

#include "lowbit/quant/registry.h"

namespace lowbit::nn {

quant::Quantizer install_quantizer(torch::nn::Module& owner, const std::string& name,
                                   const std::string& spec, quant::Role role,
                                   const torch::Device& device) {
  // Build first: a bad spec throws before the current quantizer is removed.
  quant::Quantizer quantizer =
      spec.empty() ? nullptr : quant::make_quantizer(std::string_view(spec), role);
  if (owner.named_children().contains(name)) owner.unregister_module(name);
  if (!quantizer) return nullptr;
  quantizer->to(device);
  owner.register_module(name, quantizer);
  return quantizer;
}

torch::Tensor apply_quantizer(const quant::Quantizer& quantizer, const torch::Tensor& x) {
  return quantizer ? quantizer->forward(x) : x;
}

}  // namespace lowbit::nn
