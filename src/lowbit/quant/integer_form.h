// The integer form of a quantized tensor: what export writes and the integer runtime computes with.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace lowbit::quant {

/// Integer codes with their scale(s) and zero point(s).
///
/// For every grid but a codebook one, the value a code stands for is
///   value = (codes - zero_point) * scale
/// with scale and zero_point broadcast along `axis` (per channel) or scalars (per tensor).
/// Codes are integers but need not be contiguous: a half-integer grid {-1.5,-0.5,0.5,1.5}
/// is codes {-3,-1,1,3} with half the scale, a binary grid is codes {-1,+1}.
/// A codebook grid (NF4) sets `levels`: value = levels[codes] * scale.
struct IntegerForm {
  torch::Tensor codes;       ///< int32, the input's shape.
  torch::Tensor scale;       ///< float32, shape {} per tensor or {C} per channel.
  torch::Tensor zero_point;  ///< int32, the shape of `scale`.
  torch::Tensor levels;      ///< float32 codebook indexed by code; undefined for integer grids.
  int bits = 8;              ///< Bits one code needs in storage.
  bool is_signed = true;     ///< Whether codes can be negative (before the zero point).
  int64_t axis = -1;         ///< Channel axis of `scale` for per-channel forms; -1 per tensor.
  int64_t code_min = 0;      ///< Smallest code the grid allows.
  int64_t code_max = 0;      ///< Largest code the grid allows.

  /// The float values the codes stand for, computed in float32 exactly as the quantizer's
  /// forward() computes them, so the two agree bit for bit.
  torch::Tensor dequantize() const;
};

/// Reshapes a per-channel tensor of shape {C} so that it broadcasts along `axis` of a tensor of
/// rank `rank`; returns it unchanged for per-tensor (axis -1) forms.
torch::Tensor broadcast_along(const torch::Tensor& per_channel, int64_t axis, int64_t rank);

}  // namespace lowbit::quant
