// What every op of the integer model shares: the value types (shapes, requantization, merged
// activations) and OpTraits, the one place per op type that knows everything about it.
//
// Each op is one header and one source file in this folder: its struct and the specialisation
// OpTraits<TheOp> with its validation, reference arithmetic, cost, scratch, state, C emission and
// model.json description. The passes over an integer model (validate, the reference executor,
// the memory plan, the cost, the C backend, model.json) visit the op variant and call the traits,
// so an op type whose traits lack a member the passes call does not compile.
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "lowbit/export/weight_format.h"

namespace lowbit::exporter {

struct IntegerModel;
struct Layer;
struct LayerCost;
struct MemoryPlan;
struct McuFcLayer;
struct Target;

/// Output activation merged into requantization; values equal the runtime's lowbit_activation_t.
enum class Activation { kNone = 0, kRelu = 1, kRelu6 = 2, kHardSigmoid = 3 };

/// Stable lower-case name of an activation ("none", "relu", "relu6", "hard_sigmoid").
const char* activation_name(Activation activation);

/// A batch-1 CHW activation shape; vectors are {features, 1, 1}.
struct Shape {
  int64_t channels = 1;  ///< C (or the feature count of a vector).
  int64_t height = 1;    ///< H.
  int64_t width = 1;     ///< W.

  /// Number of int8 elements, C * H * W.
  int64_t size() const { return channels * height * width; }
  /// Equality of all three extents.
  bool operator==(const Shape& other) const {
    return channels == other.channels && height == other.height && width == other.width;
  }
  /// Inequality of any extent.
  bool operator!=(const Shape& other) const { return !(*this == other); }
};

/// "CxHxW" text of a shape, for messages and model.json.
std::string shape_text(const Shape& shape);

/// Requantization of one layer output (docs/runtime.md, "Requantization").
struct Requant {
  std::vector<int32_t> multiplier;  ///< 1 (per layer) or out-channel count Q31 multipliers.
  std::vector<int32_t> shift;       ///< Shifts in [-31, 30], same count as multiplier.
  int32_t act_min = -128;           ///< Lower output clamp (activation), in [-128, 127].
  int32_t act_max = 127;            ///< Upper output clamp, in [act_min, 127].
};

/// Requantizes an accumulator: clamp(round_half_away(acc * multiplier / 2^(31 - shift)) + zp,
/// act_min, act_max), exact in 64 bits (the reference arithmetic of every requantizing op).
int8_t reference_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point,
                            int32_t act_min, int32_t act_max);

/// The stored weights of an op that has them (see OpTraits::weights).
struct WeightsView {
  WeightFormat format = WeightFormat::kInt8;   ///< Storage format.
  const std::vector<int8_t>* codes = nullptr;  ///< The weight codes.
  const std::vector<int32_t>* bias = nullptr;  ///< int32 biases (may be empty).
};

/// What an op's validation sees: the model, the layer, the shapes of its inputs and its first
/// producer.
struct ValidateContext {
  const IntegerModel& model;     ///< The model being validated (earlier layers checked).
  const Layer& layer;            ///< The layer of the op.
  const std::vector<Shape>& in;  ///< Output shapes of the layer's producers, in input order.
  int producer;                  ///< The first producer (kModelInput or a layer index).
};

/// What one reference run of an op sees.
struct RunContext {
  const IntegerModel& model;                       ///< The model.
  const Layer& layer;                              ///< The layer of the op.
  std::vector<const std::vector<int8_t>*> inputs;  ///< The producers' values, in input order.
  std::vector<int32_t> input_zero_points;          ///< Their zero points.
  std::vector<int8_t>& out;     ///< The layer's output (kept between the steps of a sequence).
  std::vector<int64_t>& state;  ///< The op's state (OpTraits::reference_state_size values).

  /// The first input's values.
  const std::vector<int8_t>& x() const { return *inputs[0]; }
  /// The first input's zero point.
  int32_t input_zp() const { return input_zero_points[0]; }
};

/// What the cost of an op sees.
struct CostContext {
  const IntegerModel& model;         ///< The model.
  size_t index;                      ///< The layer's index.
  const std::vector<Shape>& shapes;  ///< validate()'s output shapes.
  const Target& target;              ///< The target the code is for.
  const MemoryPlan& plan;            ///< The model's memory plan on that target.
};

/// What an op's C emission sees and writes (the C backend, export/c/codegen).
struct CEmitContext {
  const IntegerModel& model;         ///< The model.
  size_t index;                      ///< The layer's index.
  const std::vector<Shape>& shapes;  ///< validate()'s output shapes.
  const MemoryPlan& plan;            ///< Where every output lives.
  const std::string& prefix;         ///< The C identifier prefix.
  const std::string& symbol;         ///< "<prefix>_l<index>": the layer's identifiers.
  const std::string& input;          ///< C expression of the first input buffer.
  const std::string& output;         ///< C expression of the output buffer.
  int32_t input_zero_point;          ///< Zero point of the first input.
  /// The MCU column layers of the model and this layer's index among them (SIZE_MAX: none).
  const std::vector<McuFcLayer>& mcu_layers;
  size_t mcu_index;          ///< See mcu_layers.
  std::ostringstream& data;  ///< Static const data of model.c.
  std::ostringstream& body;  ///< The statements of the function that runs the layer.
  const Target& target;      ///< The target the code is for.
};

/// Where a stateful op declares its members of the generated <prefix>_state_t, widest first so
/// that no padding falls between them (model_cost's state_struct_bytes assumes this order).
struct CStateContext {
  const IntegerModel& model;         ///< The model.
  size_t index;                      ///< The layer's index: members are named l<index>_...
  const std::vector<Shape>& shapes;  ///< validate()'s output shapes.
  std::ostringstream& wide;          ///< int32 members.
  std::ostringstream& narrow;        ///< int16 members.
  std::ostringstream& bytes;         ///< int8 / uint8 members.
};

/// What an op's model.json description sees.
struct JsonContext {
  const IntegerModel& model;  ///< The model.
  size_t index;               ///< The layer's index.
  const Target& target;       ///< The target of the export.
};

/// Everything the passes know of op type `Op`; specialised in each op's header. The passes call:
///   kName                    short name tables show ("dense", "conv2d", ...)
///   c_name(op)               name in generated comments and model.json ("fully_connected", ...)
///   output_shape(ctx, op)    checks the op against its inputs, returns its output shape
///   run(ctx, op)             the reference arithmetic (docs/runtime.md)
///   value_floor(op)          the lowest code it outputs (nullopt: its input's values pass)
///   cost(ctx, op, cost)      flash bytes, MACs, state bytes
///   emit_c(ctx, op)          its data and runtime call; false for a view with no call
///   describe(ctx, op, json)  its fields in model.json
///   c_state_members(ctx, op) (stateful ops only) its members of the C state struct
/// and, with the defaults of OpTraitsDefaults, the properties below.
template <class Op>
struct OpTraits;

/// Defaults of the properties most ops share; an op's traits derive from it and override.
struct OpTraitsDefaults {
  /// Inputs the op takes (kAnyInputs: one or more).
  static constexpr int kInputs = 1;
  /// A view of its first input (flatten, slice): no code, no memory.
  static constexpr bool kView = false;
  /// Output keeps the first input's scale and zero point (no rescale).
  static constexpr bool kKeepsQuantization = false;
  /// Keeps state between the time steps of a sequence model (runs only per step).
  static constexpr bool kStateful = false;
  /// Closes a sequence: layers after it run once per sequence (its output lives in the state).
  static constexpr bool kEndsSequence = false;
  /// Written by the ONNX backends (QDQ, QONNX); the others are refused naming the layer.
  static constexpr bool kOnnx = false;

  /// Why the ONNX backends refuse the op (nullptr: the generic reason).
  static const char* onnx_refusal() { return nullptr; }
  /// Runtime scratch bytes of the op (`fused_pool`: a max pool fused into a conv2d).
  template <class Op, class Pool>
  static int64_t scratch_bytes(const Op&, const Pool*) {
    return 0;
  }
  /// int64 values of reference state for an op with output shape `shape`.
  template <class Op>
  static int64_t reference_state_size(const Op&, const Shape&) {
    return 0;
  }
  /// The stored weights (none by default).
  template <class Op>
  static std::optional<WeightsView> weights(const Op&) {
    return std::nullopt;
  }
  /// Every requantization multiplier of the op, for tests that move them.
  template <class Op>
  static std::vector<int32_t*> multipliers(Op&) {
    return {};
  }
};

/// OpTraitsDefaults::kInputs of an op that takes one or more inputs.
inline constexpr int kAnyInputs = -1;

}  // namespace lowbit::exporter
