#include "lowbit/nn/quantized_layer.h"

#include <stdexcept>

#include "lowbit/nn/quant_slot.h"

namespace lowbit::nn {
namespace {

const char* const kSlotModules[] = {"weight_quant", "bias_quant", "input_quant", "output_quant"};

quant::Role slot_quant_role(QuantSlot slot) {
  switch (slot) {
    case QuantSlot::kWeights:
      return quant::Role::kWeight;
    case QuantSlot::kBiases:
      return quant::Role::kBias;
    case QuantSlot::kInputs:
    case QuantSlot::kOutputs:
      return quant::Role::kActivation;
  }
  return quant::Role::kActivation;
}

}  // namespace

std::vector<SlotRole> four_slot_roles() {
  return {{QuantSlot::kWeights, "weights"},
          {QuantSlot::kBiases, "biases"},
          {QuantSlot::kInputs, "inputs"},
          {QuantSlot::kOutputs, "outputs"}};
}

void QuantizedLayer::add_bias(const torch::Tensor&) {
  throw std::logic_error(std::string(kind()) + "::add_bias: the layer has no weights");
}

torch::Tensor QuantizedLayer::register_optional_bias(bool with_bias, int64_t size) {
  if (with_bias) return register_parameter("bias", torch::empty(size));
  return register_parameter("bias", {}, /*requires_grad=*/false);
}

torch::Tensor QuantizedLayer::adopt_bias(const torch::Tensor& current,
                                         const torch::Tensor& initial) {
  if (current.defined()) {
    throw std::logic_error(std::string(kind()) + "::add_bias: the layer already has a bias");
  }
  // register_parameter refuses a name twice; the slot made for the undefined bias is reused.
  parameters_["bias"] = initial.detach().clone().set_requires_grad(true);
  return parameters_["bias"];
}

void QuantizedLayer::set_quantizer(QuantSlot slot, const std::string& spec) {
  const size_t index = static_cast<size_t>(slot);
  bool has_slot = false;
  for (const SlotRole& s : slot_roles()) has_slot = has_slot || s.slot == slot;
  if (!has_slot) {
    if (spec.empty()) return;
    throw std::invalid_argument(std::string(kind()) + " has no " + kSlotModules[index] +
                                " slot for '" + spec + "'");
  }
  if (slot == QuantSlot::kBiases && !spec.empty() && !bias_tensor().defined()) {
    throw std::invalid_argument(std::string(kind()) + ": bias_quant '" + spec +
                                "' given to a layer without bias");
  }
  // The new quantizer lives where the layer does: with its weight, else with the quantizer it
  // replaces, else on the CPU.
  torch::Device device(torch::kCPU);
  const torch::Tensor weight = weight_tensor();
  if (weight.defined()) {
    device = weight.device();
  } else if (quantizers_[index]) {
    const auto tensors = quantizers_[index]->parameters();
    if (!tensors.empty()) device = tensors.front().device();
  }
  quantizers_[index] =
      install_quantizer(*this, kSlotModules[index], spec, slot_quant_role(slot), device);
  record_spec(slot, spec);
}

torch::Tensor QuantizedLayer::quantized_weight() const {
  return apply_quantizer(weight_quant(), weight_tensor());
}

torch::Tensor QuantizedLayer::quantized_bias() const {
  const torch::Tensor bias = bias_tensor();
  return bias.defined() ? apply_quantizer(bias_quant(), bias) : bias;
}

}  // namespace lowbit::nn
