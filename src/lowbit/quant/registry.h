// The table of every quantizer type: name, description, parameters and factory.
// `lowbit quantizers`, the SPEC parser and the YAML configs all read this one table.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/quant/quantizer.h"
#include "lowbit/quant/spec.h"

namespace lowbit::quant {

/// One parameter a quantizer type accepts in its SPEC.
struct ParamInfo {
  std::string name;           ///< Key in the SPEC.
  std::string default_value;  ///< Value used when the key is absent ("" when required).
  std::string description;    ///< One line: meaning and allowed values.
};

/// A quantizer type as the registry lists it.
struct QuantizerType {
  std::string name;               ///< Type name, the SPEC's first word.
  std::string description;        ///< One line: what the grid is and where it comes from.
  std::vector<ParamInfo> params;  ///< Every accepted key; any other key is an error.
  std::vector<Role> roles;        ///< Roles the type may be used for.
  /// Builds a quantizer from a spec whose keys were already checked against `params`.
  std::function<Quantizer(const QuantSpec&, Role)> make;
};

/// Appends the learned-step types (lsq, pact) to `types`.
void add_learned_types(std::vector<QuantizerType>& types);

/// Every quantizer type lowbit knows, in the order `lowbit quantizers` lists them.
const std::vector<QuantizerType>& quantizer_types();

/// The type of that name; throws SpecError listing the known names when there is none.
const QuantizerType& quantizer_type(std::string_view name);

/// Builds the quantizer a SPEC names for a role. Throws SpecError naming the type or key and the
/// choices for an unknown type, an unknown key, a bad value or a role the type does not serve.
Quantizer make_quantizer(const QuantSpec& spec, Role role = Role::kWeight);

/// Parses `spec_text` and builds the quantizer it names.
Quantizer make_quantizer(std::string_view spec_text, Role role = Role::kWeight);

/// Appends the `uniform` quantizer type (uniform.cpp).
void add_uniform_types(std::vector<QuantizerType>& types);

/// Appends quantized_relu, clip, hard_sigmoid and hard_tanh (activation_quantizers.cpp).
void add_activation_types(std::vector<QuantizerType>& types);

/// Appends the fixed weight grids: binary, ternary, sym, nf4, fp, fp130 (grid_types.cpp).
void add_grid_types(std::vector<QuantizerType>& types);

/// Appends the `dynshift` per-sample power-of-two activation type (dynamic_shift.cpp).
void add_dynamic_shift_types(std::vector<QuantizerType>& types);

/// Appends the `selfcompress` learned-bit-depth type (self_compress.cpp).
void add_self_compress_types(std::vector<QuantizerType>& types);

/// Lower-case name of a role ("weight", "bias", "activation").
std::string role_name(Role role);

}  // namespace lowbit::quant
