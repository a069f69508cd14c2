// The element-wise add op (residual connections).
#pragma once

#include "lowbit/export/ops/op_base.h"

namespace lowbit::exporter {

/// Element-wise sum of two inputs of one shape, each in its own scale (a residual add), requantized
/// once: out = clamp(round(((a - zp_a) * multiplier_a + (b - zp_b) * multiplier_b) *
/// 2^(shift - 31)) + output_zp, act_min, act_max), the sum exact in int64 (docs/runtime.md).
struct Add {
  int32_t multiplier_a = 1 << 30;             ///< input_scale_a / output_scale with `shift`, >= 0.
  int32_t multiplier_b = 1 << 30;             ///< input_scale_b / output_scale with `shift`, >= 0.
  int32_t shift = 1;                          ///< Shared shift in [-31, 30].
  int32_t act_min = -128;                     ///< Lower output clamp (the merged activation).
  int32_t act_max = 127;                      ///< Upper output clamp.
  Activation activation = Activation::kNone;  ///< The activation the clamp implements (record).
};

/// One element of an Add: clamp(round_half_away((a * multiplier_a + b * multiplier_b) *
/// 2^(shift - 31)) + zero_point, act_min, act_max) for zero-point-free inputs a and b, exact.
int8_t reference_add(int32_t a, int32_t b, const Add& add, int32_t zero_point);

/// Everything the passes know of an add (see OpTraits).
template <>
struct OpTraits<Add> : OpTraitsDefaults {
  static constexpr const char* kName = "add";  ///< Table name.
  static constexpr int kInputs = 2;            ///< a and b.
  /// QDQ and QONNX compute an Add in float and round half to even; the integer add rounds its
  /// exact int64 sum half away from zero, so the two are not bit-exact.
  static const char* onnx_refusal() {
    return "the residual add is not supported by the ONNX backends (a float Add between "
           "DequantizeLinear/QuantizeLinear is not bit-exact with the integer add)";
  }
  /// "add".
  static const char* c_name(const Add&) { return "add"; }
  /// Checks two inputs of one shape and the rescale; their shape.
  static Shape output_shape(const ValidateContext& c, const Add& add);
  /// reference_add per element.
  static void run(const RunContext& c, const Add& add);
  /// The lower clamp.
  static std::optional<int32_t> value_floor(const Add& add) { return add.act_min; }
  /// Two multipliers and a shift; a multiply-add per input element.
  static void cost(const CostContext& c, const Add& add, LayerCost& cost);
  /// Parameters and the add call.
  static bool emit_c(const CEmitContext& c, const Add& add);
  /// Rescales and clamp.
  static void describe(const JsonContext& c, const Add& add, nlohmann::json& j);
  /// Both multipliers.
  static std::vector<int32_t*> multipliers(Add& add) {
    return {&add.multiplier_a, &add.multiplier_b};
  }
};

}  // namespace lowbit::exporter
