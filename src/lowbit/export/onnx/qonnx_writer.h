// The QONNX backend: an IntegerModel as a float ONNX graph whose weights and activations pass
// through QONNX's `Quant` / `BipolarQuant` (domain qonnx.custom_op.general), the form hls4ml and
// FINN read (docs/export.md, "ONNX").
#pragma once

#include <string>

#include "lowbit/export/integer_model.h"
#include "lowbit/export/onnx/onnx_options.h"

namespace lowbit::exporter {

/// Domain of QONNX's custom operators.
inline constexpr const char* kQonnxDomain = "qonnx.custom_op.general";

/// How one QONNX `Quant` node quantizes: y = scale * (clamp(round(x / scale + zeropt), min, max)
/// - zeropt), with [min, max] = [-2^(bits-1) + narrow, 2^(bits-1) - 1] when signed, else
/// [0, 2^bits - 1 - narrow].
struct QonnxQuant {
  int bits = 8;           ///< Bit width.
  bool is_signed = true;  ///< Signed range.
  bool narrow = false;    ///< Range narrowed by one (symmetric signed, or 2^bits - 2 unsigned).
  int32_t zeropt = 0;     ///< Zero point (0 for every grid hls4ml reads).
  /// Codes relative to zeropt the integer model clamps to, when the Quant's own range is wider
  /// (a float Clip(clip_lo * scale, clip_hi * scale) goes before the Quant). Equal to the range
  /// when no Clip is needed.
  int32_t clip_lo = 0;
  int32_t clip_hi = 0;  ///< See clip_lo.
  bool clip = false;    ///< Whether the Clip is written.

  /// Smallest integer of the Quant's range.
  int32_t min() const;
  /// Largest integer of the Quant's range.
  int32_t max() const;
};

/// The Quant of an activation stored as int8 codes in [act_min, act_max] with zero point `zp`:
/// zeropt 0, unsigned when act_min == zp (after a ReLU), with the fewest bits whose range is
/// exactly [act_min - zp, act_max - zp]; else signed 8-bit at zeropt zp; else a Clip as well.
QonnxQuant qonnx_activation_quant(int32_t zero_point, int32_t act_min, int32_t act_max);

/// The Quant of weights of `format` with these codes: signed, zeropt 0, narrow when no code is
/// the format's most negative one (ternary int2 is 2-bit narrow); odd grids sym2 / sym4 as 3- /
/// 5-bit narrow (their odd codes at the halved scale). Binary is BipolarQuant (not this).
QonnxQuant qonnx_weight_quant(WeightFormat format, const std::vector<int8_t>& codes);

/// Serialized ModelProto of `model` in QONNX form (options.format is ignored): MatMul + Add for
/// fully connected layers, NCHW Conv (group for depthwise), MaxPool / AveragePool, Flatten,
/// Slice, Concat; opset 13..17. Throws std::invalid_argument naming the layer or option and
/// "qonnx".
std::string write_qonnx_model(const IntegerModel& model, const OnnxOptions& options);

}  // namespace lowbit::exporter
