// The leaky ReLU op on int8 codes.
#pragma once

#include "lowbit/export/ops/op_base.h"

namespace lowbit::exporter {

/// Leaky ReLU on int8 codes, same scale and zero point in and out: x if x >= zp, else
/// zp + round_half_away((x - zp) * slope_q15 / 2^15).
struct LeakyRelu {
  int32_t slope_q15 = 3277;  ///< Negative slope in Q15, in [0, 32767] (0.1 is 3277).
};

/// Leaky ReLU of one int8 code with zero point `zero_point` (see LeakyRelu).
int8_t reference_leaky_relu(int8_t x, int32_t zero_point, int32_t slope_q15);

/// Everything the passes know of a leaky ReLU (see OpTraits).
template <>
struct OpTraits<LeakyRelu> : OpTraitsDefaults {
  static constexpr const char* kName = "leaky_relu";  ///< Table name.
  static constexpr bool kKeepsQuantization = true;    ///< Same scale and zero point.
  /// "leaky_relu".
  static const char* c_name(const LeakyRelu&) { return "leaky_relu"; }
  /// Checks the slope; the input's shape.
  static Shape output_shape(const ValidateContext& c, const LeakyRelu& leaky);
  /// reference_leaky_relu per element.
  static void run(const RunContext& c, const LeakyRelu& leaky);
  /// A slope below 1 keeps values within the input's.
  static std::optional<int32_t> value_floor(const LeakyRelu&) { return std::nullopt; }
  /// The slope is a literal in the call: no constants.
  static void cost(const CostContext& c, const LeakyRelu& leaky, LayerCost& cost);
  /// The call.
  static bool emit_c(const CEmitContext& c, const LeakyRelu& leaky);
  /// The slope.
  static void describe(const JsonContext& c, const LeakyRelu& leaky, nlohmann::json& j);
};

}  // namespace lowbit::exporter
