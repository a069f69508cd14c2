// The view ops: flatten and slice, which name part of their producer's buffer and compute nothing.
#pragma once

#include "lowbit/export/ops/op_base.h"

namespace lowbit::exporter {

/// Flatten: CHW -> {C*H*W, 1, 1}; the same buffer, no code.
struct Flatten {};

/// A contiguous feature range [offset, offset + length) of the producer's flattened buffer, as a
/// vector {length, 1, 1}; the same memory, no copy (the two input slices of the smart-pixel model).
struct Slice {
  int64_t offset = 0;  ///< First element.
  int64_t length = 0;  ///< Element count.
};

/// What both views share.
struct ViewTraits : OpTraitsDefaults {
  static constexpr bool kView = true;               ///< No code, no memory.
  static constexpr bool kKeepsQuantization = true;  ///< Same scale and zero point.
  static constexpr bool kOnnx = true;               ///< Reshape / Slice in ONNX.
  /// The producer's values pass.
  template <class View>
  static std::optional<int32_t> value_floor(const View&) {
    return std::nullopt;
  }
  /// No constants, no MACs, no output buffer.
  template <class View>
  static void cost(const CostContext& c, const View&, LayerCost& cost) {
    no_output(c, cost);
  }
  /// Sets the output bytes of a view to 0.
  static void no_output(const CostContext& c, LayerCost& cost);
  /// "A view of its input: no code."; false.
  template <class View>
  static bool emit_c(const CEmitContext& c, const View&) {
    return emit_view(c);
  }
  /// Writes the comment of a view.
  static bool emit_view(const CEmitContext& c);
};

/// Everything the passes know of a flatten (see OpTraits).
template <>
struct OpTraits<Flatten> : ViewTraits {
  static constexpr const char* kName = "flatten";  ///< Table name.
  /// "flatten".
  static const char* c_name(const Flatten&) { return "flatten"; }
  /// {C*H*W, 1, 1}.
  static Shape output_shape(const ValidateContext& c, const Flatten&);
  /// A copy of the input.
  static void run(const RunContext& c, const Flatten&);
  /// Nothing beyond the common fields.
  static void describe(const JsonContext&, const Flatten&, nlohmann::json&) {}
};

/// Everything the passes know of a slice (see OpTraits).
template <>
struct OpTraits<Slice> : ViewTraits {
  static constexpr const char* kName = "slice";  ///< Table name.
  /// "slice".
  static const char* c_name(const Slice&) { return "slice"; }
  /// Checks the range; {length, 1, 1}.
  static Shape output_shape(const ValidateContext& c, const Slice& slice);
  /// The range of the input.
  static void run(const RunContext& c, const Slice& slice);
  /// Offset and length.
  static void describe(const JsonContext&, const Slice& slice, nlohmann::json& j);
};

}  // namespace lowbit::exporter
