#include "lowbit/train/report/quant_info.h"

#include <torch/autograd.h>

#include <cmath>
#include <optional>
#include <string>

#include "lowbit/nn/leaky.h"
#include "lowbit/nn/quantized_layer.h"
#include "lowbit/quant/affine/range_estimator.h"
#include "lowbit/quant/affine/uniform.h"

namespace lowbit::train {
namespace {

nlohmann::json number_json(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

// Nested lists as NumPy's tolist(); integer tensors stay integers.
nlohmann::json tensor_json(const torch::Tensor& t) {
  if (!t.defined()) return nullptr;
  const torch::Tensor c = t.detach().cpu();
  const bool integral = !c.is_floating_point() && c.scalar_type() != torch::kBool;
  if (c.dim() == 0) {
    if (integral) return c.item<int64_t>();
    if (c.scalar_type() == torch::kBool) return c.item<bool>();
    return number_json(c.item<double>());
  }
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < c.size(0); ++i) out.push_back(tensor_json(c[i]));
  return out;
}

// The scale of an activation quantizer when it is a property of the quantizer, not of its input:
// the integer forms of two different inputs agree. Null otherwise (or when the quantizer cannot
// take a plain per-tensor probe).
std::optional<quant::IntegerForm> static_form(quant::QuantizerImpl& quantizer) {
  try {
    const torch::Tensor x1 = torch::linspace(-1.0, 1.0, 64).reshape({1, 64});
    const torch::Tensor x2 = x1 * 3.0 + 0.5;
    quant::IntegerForm a = quantizer.integer_form(x1);
    const quant::IntegerForm b = quantizer.integer_form(x2);
    if (a.scale.sizes() == b.scale.sizes() && torch::equal(a.scale, b.scale) &&
        torch::equal(a.zero_point, b.zero_point)) {
      return a;
    }
  } catch (const std::exception&) {
    // A quantizer that needs a particular input shape: its scale is not reported.
  }
  return std::nullopt;
}

void add_form(nlohmann::json& entry, const quant::IntegerForm& form) {
  entry["scale"] = tensor_json(form.scale);
  entry["zero_point"] = tensor_json(form.zero_point);
  entry["axis"] = form.axis;
  entry["code_min"] = form.code_min;
  entry["code_max"] = form.code_max;
  entry["signed"] = form.is_signed;
  if (form.levels.defined()) entry["levels"] = tensor_json(form.levels);
  // The values the lowest and highest codes stand for.
  torch::Tensor lo, hi;
  if (form.levels.defined()) {
    lo = form.levels.min() * form.scale;
    hi = form.levels.max() * form.scale;
  } else {
    lo = (form.code_min - form.zero_point.to(torch::kFloat32)) * form.scale;
    hi = (form.code_max - form.zero_point.to(torch::kFloat32)) * form.scale;
  }
  entry["clip"] = {{"min", tensor_json(lo)}, {"max", tensor_json(hi)}};
}

nlohmann::json quantizer_json(const nn::SlotRole& role, quant::QuantizerImpl& quantizer,
                              const torch::Tensor& tensor, const QuantInfoOptions& options) {
  const quant::QuantSpec spec = quantizer.spec();
  nlohmann::json entry = {
      {"slot", role.role}, {"spec", spec.str()}, {"type", spec.type()}, {"bits", quantizer.bits()}};
  const bool has_tensor = tensor.defined() && (role.slot == nn::QuantSlot::kWeights ||
                                               role.slot == nn::QuantSlot::kBiases);
  if (has_tensor) {
    const quant::IntegerForm form = quantizer.integer_form(tensor.detach());
    add_form(entry, form);
    entry["range"] = {{"min", number_json(tensor.min().item<double>())},
                      {"max", number_json(tensor.max().item<double>())}};
    if (options.include_codes) entry["codes"] = tensor_json(form.codes);
  } else if (const auto form = static_form(quantizer)) {
    add_form(entry, *form);
    entry["dynamic_scale"] = false;
  } else {
    entry["scale"] = nullptr;
    entry["dynamic_scale"] = true;
  }
  if (const auto* uniform = dynamic_cast<const quant::UniformQuantizerImpl*>(&quantizer)) {
    const auto* ema = dynamic_cast<const quant::EmaEstimatorImpl*>(uniform->estimator().get());
    if (ema != nullptr && ema->initialized()) {
      entry["ema"] = {{"min", tensor_json(ema->running_min())},
                      {"max", tensor_json(ema->running_max())}};
    }
  }
  nlohmann::json state = nlohmann::json::object();
  for (const auto& item : quantizer.named_parameters(true)) {
    state[item.key()] = tensor_json(item.value());
  }
  for (const auto& item : quantizer.named_buffers(true))
    state[item.key()] = tensor_json(item.value());
  entry["state"] = state;
  return entry;
}

nlohmann::json leaky_json(const std::string& name, const nn::LeakyImpl& leaky) {
  const nn::LeakyOptions& o = leaky.options;
  nlohmann::json entry = {{"name", name},
                          {"kind", "Leaky"},
                          {"threshold", tensor_json(leaky.threshold)},
                          {"beta", tensor_json(leaky.effective_beta())},
                          {"reset_mechanism", o.reset_mechanism()},
                          {"state_quant_bits", o.state_quant_bits()},
                          {"integer_state", o.integer_state()},
                          {"leak_shift", o.leak_shift()},
                          {"membrane_bits", o.membrane_bits()}};
  if (o.state_quant_bits() > 0) {
    entry["state_quant_lower_limit"] = o.state_quant_lower_limit();
    entry["state_quant_upper_limit"] = o.state_quant_upper_limit();
    entry["state_levels"] = tensor_json(leaky.state_levels());
  }
  return entry;
}

}  // namespace

nlohmann::json quantization_info(torch::nn::Module& model, const QuantInfoOptions& options) {
  model.eval();
  torch::NoGradGuard no_grad;
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& item : model.named_modules("", /*include_self=*/true)) {
    const std::string& name = item.key();
    if (const auto* leaky = item.value()->as<nn::LeakyImpl>()) {
      layers.push_back(leaky_json(name, *leaky));
      continue;
    }
    auto* layer = item.value()->as<nn::QuantizedLayer>();
    if (layer == nullptr) continue;
    const torch::Tensor weight = layer->weight_tensor();
    const torch::Tensor bias = layer->bias_tensor();
    nlohmann::json quantizers = nlohmann::json::array();
    for (const nn::SlotRole& role : layer->slot_roles()) {
      const quant::Quantizer& quantizer = layer->quantizer(role.slot);
      if (!quantizer) continue;
      const torch::Tensor tensor = role.slot == nn::QuantSlot::kWeights  ? weight
                                   : role.slot == nn::QuantSlot::kBiases ? bias
                                                                         : torch::Tensor();
      nlohmann::json entry = quantizer_json(role, *quantizer, tensor, options);
      // The quantizer's module path: its "state" tensors are saved under "<module>.<key>".
      for (const auto& child : layer->named_children()) {
        if (child.value().get() == quantizer.get()) {
          entry["module"] = name.empty() ? child.key() : name + "." + child.key();
        }
      }
      quantizers.push_back(entry);
    }
    if (quantizers.empty() && !weight.defined()) continue;
    const int64_t parameters =
        (weight.defined() ? weight.numel() : 0) + (bias.defined() ? bias.numel() : 0);
    layers.push_back({{"name", name},
                      {"kind", layer->kind()},
                      {"parameters", parameters},
                      {"quantizers", quantizers}});
  }
  return {{"layers", layers}};
}

}  // namespace lowbit::train
