// The concatenation op.
#pragma once

#include "lowbit/export/ops/op_base.h"

namespace lowbit::exporter {

/// Rescale of one concat input to the common output scale.
struct ConcatInput {
  int32_t multiplier = 1 << 30;  ///< Q31 multiplier of input_scale / output_scale.
  int32_t shift = 1;             ///< Shift that goes with multiplier.
};

/// Concatenation along channels (CHW with equal H and W) or features; one entry per input.
struct Concat {
  std::vector<ConcatInput> inputs;  ///< Rescales, one per layer input, in input order.
};

/// Everything the passes know of a concat (see OpTraits).
template <>
struct OpTraits<Concat> : OpTraitsDefaults {
  static constexpr const char* kName = "concat";  ///< Table name.
  static constexpr int kInputs = kAnyInputs;      ///< One or more inputs.
  static constexpr bool kOnnx = true;             ///< Concat in ONNX.
  /// "concat".
  static const char* c_name(const Concat&) { return "concat"; }
  /// Checks the inputs and rescales; channels summed.
  static Shape output_shape(const ValidateContext& c, const Concat& cat);
  /// Each input rescaled to the output's grid, in order.
  static void run(const RunContext& c, const Concat& cat);
  /// Any int8 code.
  static std::optional<int32_t> value_floor(const Concat&) { return -128; }
  /// 8 bytes per input rescale.
  static void cost(const CostContext& c, const Concat& cat, LayerCost& cost);
  /// The parts table and the concat call.
  static bool emit_c(const CEmitContext& c, const Concat& cat);
  /// The rescales.
  static void describe(const JsonContext& c, const Concat& cat, nlohmann::json& j);
  /// The rescale multipliers.
  static std::vector<int32_t*> multipliers(Concat& cat);
};

}  // namespace lowbit::exporter
