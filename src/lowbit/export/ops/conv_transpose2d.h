// The transposed 2-D convolution op (decoders).
#pragma once

#include "lowbit/export/ops/op_base.h"

namespace lowbit::exporter {

/// Transposed 2-D convolution (groups 1), CHW, batch 1, cropped to the first out_height rows and
/// out_width columns of the full output ((in - 1) * stride - 2 * pad + kernel):
/// out[o][y][x] = requant(bias[o] + sum over i, ky, kx with y + pad_top - ky = iy * stride_h and
/// x + pad_left - kx = ix * stride_w inside the input of (in[i][iy][ix] - zp) * w[o][i][ky][kx]).
struct ConvTranspose2d {
  int64_t in_channels = 0;                    ///< Input channels.
  int64_t in_height = 0;                      ///< Input rows.
  int64_t in_width = 0;                       ///< Input columns.
  int64_t out_channels = 0;                   ///< Output channels.
  int64_t out_height = 0;                     ///< Output rows (the crop).
  int64_t out_width = 0;                      ///< Output columns (the crop).
  int64_t kernel_h = 1;                       ///< Kernel rows.
  int64_t kernel_w = 1;                       ///< Kernel columns.
  int64_t stride_h = 1;                       ///< Vertical stride.
  int64_t stride_w = 1;                       ///< Horizontal stride.
  int64_t pad_top = 0;                        ///< Rows cut from the top of the full output.
  int64_t pad_left = 0;                       ///< Columns cut from the left of the full output.
  WeightFormat format = WeightFormat::kInt8;  ///< Storage format of the weights.
  /// Codes [out_channels][in_channels][kernel_h][kernel_w] (LibTorch stores [in][out][kh][kw]).
  std::vector<int8_t> weights;
  std::vector<int32_t> bias;                  ///< int32 [out_channels] (may be empty).
  Requant requant;                            ///< Per-layer or per-channel requantization.
  Activation activation = Activation::kNone;  ///< The activation the clamp implements (record).
  std::vector<double> weight_scales;          ///< Real weight scale(s), for model.json only.

  /// Weights per output channel: in_channels * kernel_h * kernel_w.
  int64_t row_length() const { return in_channels * kernel_h * kernel_w; }
  /// Full (uncropped) output rows: (in_height - 1) * stride_h - 2 * pad_top + kernel_h.
  int64_t full_height() const { return (in_height - 1) * stride_h - 2 * pad_top + kernel_h; }
  /// Full (uncropped) output columns.
  int64_t full_width() const { return (in_width - 1) * stride_w - 2 * pad_left + kernel_w; }
};

struct Pool;

/// Everything the passes know of a transposed convolution (see OpTraits).
template <>
struct OpTraits<ConvTranspose2d> : OpTraitsDefaults {
  static constexpr const char* kName = "conv_transpose2d";  ///< Table name.
  /// "conv_transpose2d".
  static const char* c_name(const ConvTranspose2d&) { return "conv_transpose2d"; }
  /// Checks the op; {out_channels, out_height, out_width}.
  static Shape output_shape(const ValidateContext& c, const ConvTranspose2d& up);
  /// The reference arithmetic.
  static void run(const RunContext& c, const ConvTranspose2d& up);
  /// The requantization's lower clamp.
  static std::optional<int32_t> value_floor(const ConvTranspose2d& up) {
    return up.requant.act_min;
  }
  /// Bytes; MACs over the taps that land inside the input.
  static void cost(const CostContext& c, const ConvTranspose2d& up, LayerCost& cost);
  /// lowbit_conv_transpose2d_scratch_size.
  static int64_t scratch_bytes(const ConvTranspose2d& up, const Pool*);
  /// Weights, parameters and the call.
  static bool emit_c(const CEmitContext& c, const ConvTranspose2d& up);
  /// Geometry, weights and requantization.
  static void describe(const JsonContext& c, const ConvTranspose2d& up, nlohmann::json& j);
  /// Its weights and biases.
  static std::optional<WeightsView> weights(const ConvTranspose2d& up) {
    return WeightsView{up.format, &up.weights, &up.bias};
  }
  /// Its requantization multipliers.
  static std::vector<int32_t*> multipliers(ConvTranspose2d& up);
};

}  // namespace lowbit::exporter
