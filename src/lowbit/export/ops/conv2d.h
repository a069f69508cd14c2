// The grouped 2-D convolution op.
#pragma once

#include "lowbit/export/ops/op_base.h"

namespace lowbit::exporter {

struct Pool;

/// Grouped 2-D convolution, CHW, batch 1 (groups == in_channels is depthwise).
struct Conv2d {
  int64_t in_channels = 0;                    ///< Input channels.
  int64_t in_height = 0;                      ///< Input rows.
  int64_t in_width = 0;                       ///< Input columns.
  int64_t out_channels = 0;                   ///< Output channels.
  int64_t kernel_h = 1;                       ///< Kernel rows.
  int64_t kernel_w = 1;                       ///< Kernel columns.
  int64_t stride_h = 1;                       ///< Vertical stride.
  int64_t stride_w = 1;                       ///< Horizontal stride.
  int64_t pad_top = 0;                        ///< Rows of padding above.
  int64_t pad_bottom = 0;                     ///< Rows of padding below.
  int64_t pad_left = 0;                       ///< Columns of padding left.
  int64_t pad_right = 0;                      ///< Columns of padding right.
  int64_t groups = 1;                         ///< Channel groups.
  WeightFormat format = WeightFormat::kInt8;  ///< Storage format of the weights.
  std::vector<int8_t> weights;  ///< Codes [out_channels][in_channels/groups][kernel_h][kernel_w].
  std::vector<int32_t> bias;    ///< int32 [out_channels] (may be empty).
  Requant requant;              ///< Per-layer or per-channel requantization and clamp.
  Activation activation = Activation::kNone;  ///< The activation the clamp implements (record).
  /// Real weight scale(s), 1 or one per output channel; recorded in model.json only. May be empty.
  std::vector<double> weight_scales;

  /// Output rows: (in + pads - kernel) / stride + 1.
  int64_t out_height() const {
    return (in_height + pad_top + pad_bottom - kernel_h) / stride_h + 1;
  }
  /// Output columns.
  int64_t out_width() const { return (in_width + pad_left + pad_right - kernel_w) / stride_w + 1; }
  /// Weights per output channel: (in_channels / groups) * kernel_h * kernel_w.
  int64_t row_length() const { return in_channels / groups * kernel_h * kernel_w; }
};

/// Everything the passes know of a convolution (see OpTraits). A conv2d whose only reader is a
/// max pool runs fused with it (memory_plan's fuses_with_next).
template <>
struct OpTraits<Conv2d> : OpTraitsDefaults {
  static constexpr const char* kName = "conv2d";  ///< Table name.
  static constexpr bool kOnnx = true;             ///< Conv in ONNX.
  /// "conv2d".
  static const char* c_name(const Conv2d&) { return "conv2d"; }
  /// Checks the op; its output shape.
  static Shape output_shape(const ValidateContext& c, const Conv2d& conv);
  /// The reference arithmetic.
  static void run(const RunContext& c, const Conv2d& conv);
  /// The requantization's lower clamp.
  static std::optional<int32_t> value_floor(const Conv2d& conv) { return conv.requant.act_min; }
  /// Bytes and MACs (a fused conv2d stores no output).
  static void cost(const CostContext& c, const Conv2d& conv, LayerCost& cost);
  /// lowbit_conv2d_scratch_size, or lowbit_conv2d_max_pool_scratch_size fused with a max pool.
  static int64_t scratch_bytes(const Conv2d& conv, const Pool* fused_pool);
  /// Weights, parameters and the conv2d (or fused conv2d + max pool) call.
  static bool emit_c(const CEmitContext& c, const Conv2d& conv);
  /// Geometry, weights and requantization.
  static void describe(const JsonContext& c, const Conv2d& conv, nlohmann::json& j);
  /// Its weights and biases.
  static std::optional<WeightsView> weights(const Conv2d& conv) {
    return WeightsView{conv.format, &conv.weights, &conv.bias};
  }
  /// Its requantization multipliers.
  static std::vector<int32_t*> multipliers(Conv2d& conv);
};

}  // namespace lowbit::exporter
