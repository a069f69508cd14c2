// The max and average pooling op.
#pragma once

#include "lowbit/export/ops/op_base.h"

namespace lowbit::exporter {

/// Max or average pooling (input and output share scale and zero point; padding excluded).
struct Pool {
  bool average = false;    ///< Average pooling when true, max pooling otherwise.
  int64_t channels = 0;    ///< Channels.
  int64_t in_height = 0;   ///< Input rows.
  int64_t in_width = 0;    ///< Input columns.
  int64_t kernel_h = 1;    ///< Window rows.
  int64_t kernel_w = 1;    ///< Window columns.
  int64_t stride_h = 1;    ///< Vertical stride.
  int64_t stride_w = 1;    ///< Horizontal stride.
  int64_t pad_top = 0;     ///< Padding above (< kernel_h).
  int64_t pad_bottom = 0;  ///< Padding below (< kernel_h).
  int64_t pad_left = 0;    ///< Padding left (< kernel_w).
  int64_t pad_right = 0;   ///< Padding right (< kernel_w).

  /// Output rows.
  int64_t out_height() const {
    return (in_height + pad_top + pad_bottom - kernel_h) / stride_h + 1;
  }
  /// Output columns.
  int64_t out_width() const { return (in_width + pad_left + pad_right - kernel_w) / stride_w + 1; }
};

/// Everything the passes know of a pool (see OpTraits).
template <>
struct OpTraits<Pool> : OpTraitsDefaults {
  static constexpr const char* kName = "pool";      ///< Table name.
  static constexpr bool kKeepsQuantization = true;  ///< Same scale and zero point.
  static constexpr bool kOnnx = true;               ///< MaxPool / AveragePool in ONNX.
  /// "avg_pool" or "max_pool".
  static const char* c_name(const Pool& pool) { return pool.average ? "avg_pool" : "max_pool"; }
  /// Checks the op; its output shape.
  static Shape output_shape(const ValidateContext& c, const Pool& pool);
  /// The reference arithmetic (average: round half away from zero).
  static void run(const RunContext& c, const Pool& pool);
  /// Max and average stay within their input's values.
  static std::optional<int32_t> value_floor(const Pool&) { return std::nullopt; }
  /// No constants, no MACs.
  static void cost(const CostContext& c, const Pool& pool, LayerCost& cost);
  /// Parameters and the pool call (none when fused into the conv2d before it).
  static bool emit_c(const CEmitContext& c, const Pool& pool);
  /// Geometry.
  static void describe(const JsonContext& c, const Pool& pool, nlohmann::json& j);
};

}  // namespace lowbit::exporter
