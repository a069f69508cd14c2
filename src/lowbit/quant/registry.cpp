#include "lowbit/quant/registry.h"

#include <algorithm>

namespace lowbit::quant {

const std::vector<QuantizerType>& quantizer_types() {
  static const std::vector<QuantizerType> types = [] {
    std::vector<QuantizerType> all;
    // Each family appends its types here, in the order `lowbit quantizers` lists them.
    add_uniform_types(all);
    add_grid_types(all);
    add_activation_types(all);
    add_dynamic_shift_types(all);
    add_learned_types(all);
    add_self_compress_types(all);
    return all;
  }();
  return types;
}

const QuantizerType& quantizer_type(std::string_view name) {
  const auto& types = quantizer_types();
  for (const auto& t : types) {
    if (t.name == name) return t;
  }
  std::string names;
  for (const auto& t : types) names += (names.empty() ? "" : ", ") + t.name;
  throw SpecError("unknown quantizer type '" + std::string(name) + "'; known types: " + names);
}

std::string role_name(Role role) {
  switch (role) {
    case Role::kWeight:
      return "weight";
    case Role::kBias:
      return "bias";
    case Role::kActivation:
      return "activation";
  }
  return "unknown";
}

Quantizer make_quantizer(const QuantSpec& spec, Role role) {
  const QuantizerType& type = quantizer_type(spec.type());
  for (const auto& [key, value] : spec.params()) {
    const bool known = std::any_of(type.params.begin(), type.params.end(),
                                   [&](const ParamInfo& p) { return p.name == key; });
    if (!known) {
      std::string keys;
      for (const auto& p : type.params) keys += (keys.empty() ? "" : ", ") + p.name;
      throw SpecError("quantizer spec '" + spec.str() + "': unknown parameter '" + key +
                      "' for type '" + type.name +
                      "'; accepted: " + (keys.empty() ? std::string("none") : keys));
    }
  }
  if (std::find(type.roles.begin(), type.roles.end(), role) == type.roles.end()) {
    throw SpecError("quantizer spec '" + spec.str() + "': type '" + type.name +
                    "' cannot quantize a " + role_name(role));
  }
  return type.make(spec, role);
}

Quantizer make_quantizer(std::string_view spec_text, Role role) {
  return make_quantizer(QuantSpec::parse(spec_text), role);
}

}  // namespace lowbit::quant
