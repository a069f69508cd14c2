// Real scales to the runtime's fixed-point (multiplier, shift) pairs, and the requantization of a
// layer from its input, weight and output scales (docs/runtime.md, "Requantization").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter {

/// A Q31 multiplier and shift: real factor = multiplier * 2^(shift - 31).
struct FixedPointMultiplier {
  int32_t multiplier = 0;  ///< In [2^30, 2^31 - 1] in the normal range, smaller below 2^-32.
  int32_t shift = 0;       ///< In [-31, 30].
};

/// The exporter's recipe of docs/runtime.md: frexp, round half up of m * 2^31, renormalize 2^31,
/// denormal range below shift -31. Throws std::invalid_argument naming `what` (e.g. the layer)
/// when real_scale is not finite and > 0, or >= 2^30 (shift would exceed 30).
FixedPointMultiplier quantize_multiplier(double real_scale, const std::string& what = "scale");

/// The real factor a (multiplier, shift) pair applies: multiplier * 2^(shift - 31).
double multiplier_value(const FixedPointMultiplier& fixed);

/// Requantization of a fully connected or conv2d layer and the bias adjustment it needs.
///
/// S[c] = input_scale * weight_scales[c] / output_scale (one weight scale = per layer).
/// The clamp implements `activation` with lowbit_activation_range's bounds: relu6 and
/// hard-sigmoid use upper_q = round(6 / output_scale) and round(1 / output_scale). For
/// hard-sigmoid the multiplier is that of S[c] / 6 and round(3 / (input_scale * weight_scale[c]))
/// is added to bias[c] (saturating), as docs/runtime.md prescribes; `bias` must then have one
/// entry per output channel (it is resized from empty to zeros). Errors name `layer_name`.
Requant build_requant(const std::string& layer_name, double input_scale,
                      const std::vector<double>& weight_scales, double output_scale,
                      int32_t output_zero_point, Activation activation, int64_t channels,
                      std::vector<int32_t>& bias);

/// A residual add of inputs in scales scale_a and scale_b into output_scale: the larger ratio's Q31
/// multiplier fixes the shared shift, the other is rounded in that shift; the clamp implements
/// `activation` as build_requant's does (hard-sigmoid is refused). Errors name `layer_name`.
Add build_add(const std::string& layer_name, double scale_a, double scale_b, double output_scale,
              int32_t output_zero_point, Activation activation);

/// Rescale of one concat input: the multiplier of input_scale / output_scale.
ConcatInput build_concat_input(const std::string& layer_name, double input_scale,
                               double output_scale);

/// The int32 bias of a real bias: round(bias_real / (input_scale * weight_scale)), saturated.
int32_t quantize_bias(double bias_real, double input_scale, double weight_scale);

}  // namespace lowbit::exporter
