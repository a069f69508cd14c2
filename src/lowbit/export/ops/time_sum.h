// The time sum op: spike counts over a sequence, the bridge to the layers run once per sequence.
#pragma once

#include "lowbit/export/ops/op_base.h"

namespace lowbit::exporter {

/// The sum over the time steps of a sequence of its input's codes minus their zero point,
/// saturated to int8 and kept in the model's state (zeroed by reset_state): the spike count
/// that, with output_scale = input_scale / time_steps, is the rate a decoder reads once the
/// sequence is over.
struct TimeSum {};

/// Everything the passes know of a time sum (see OpTraits).
template <>
struct OpTraits<TimeSum> : OpTraitsDefaults {
  static constexpr const char* kName = "time_sum";  ///< Table name.
  static constexpr bool kStateful = true;           ///< The running sum.
  static constexpr bool kEndsSequence = true;       ///< Read after the last step.
  /// "time_sum".
  static const char* c_name(const TimeSum&) { return "time_sum"; }
  /// Checks scale input_scale / time_steps and zero point 0; the input's shape.
  static Shape output_shape(const ValidateContext& c, const TimeSum&);
  /// Adds the step's codes to the running sum (the output), saturating.
  static void run(const RunContext& c, const TimeSum&);
  /// Any int8 code.
  static std::optional<int32_t> value_floor(const TimeSum&) { return -128; }
  /// The sum lives in the state, not in the arena.
  static void cost(const CostContext& c, const TimeSum&, LayerCost& cost);
  /// The call.
  static bool emit_c(const CEmitContext& c, const TimeSum&);
  /// The running sum (int8, l<index>_sum: the C backend's kState buffer of the layer).
  static void c_state_members(const CStateContext& c, const TimeSum&);
  /// The time steps.
  static void describe(const JsonContext& c, const TimeSum&, nlohmann::json& j);
};

}  // namespace lowbit::exporter
