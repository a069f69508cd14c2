// Symmetric grids without a zero level: BitNetMCU's `2bitsym`, `4bitsym` and `5bitsym`.
#pragma once

#include "lowbit/quant/weight_grids/grid_base.h"

namespace lowbit::quant {

/// Half-integer grid {±0.5, ±1.5, ..., ±(2^(b-1) - 0.5)} times a step, with no zero level.
///
/// BitNetMCU (BitNetMCU.py, BitQuant.weight_quant and update_clipping_scalar 'prop'):
///   s     = mean|w| / quantscale                          (clipping scalar, quantscale 0.25)
///   scale = 2^(bpw-1) / s
///   u     = clamp(round(w * scale - 0.5), -2^(bpw-1), 2^(bpw-1) - 1) + 0.5,  value = u / scale
/// (quantscale 0.25 gives 2/mean|w| for 4bitsym, BitNetMCU's original factor; its very first
/// 2bitsym used 1/mean|w|, which is quantscale 0.5.) Here the step is 1 / scale and the codes
/// are the odd integers 2u in [-(2^b - 1), 2^b - 1] with IntegerForm scale step / 2.
/// With clip kOctav the clipping scalar s is instead OCTAV's MSE-optimal level of |w| for a b-bit
/// grid (octav_clip; BitNetMCU's 'octav' update_clipping_scalar), quantscale unused.
class SymQuantizerImpl : public GridQuantizerImpl {
 public:
  /// How the clipping scalar s is found.
  enum class Clip { kMean, kOctav };

  /// A b-bit half-integer grid with the given quantscale (mean|w| / quantscale = clip level), or
  /// OCTAV's clip level.
  SymQuantizerImpl(int bits, double quantscale, bool per_channel, SteMode ste,
                   Clip clip = Clip::kMean);

  /// Bits per code.
  int bits() const override { return bits_; }
  /// Changes the width; throws SpecError naming `bits` outside [kMinBits, kMaxBits].
  void set_bits(int bits) override;
  /// `sym:bits=..,quantscale=..,per_channel=..,ste=..`.
  QuantSpec spec() const override;
  /// The quantscale factor.
  double quantscale() const { return quantscale_; }
  /// How the clip level is found.
  Clip clip() const { return clip_; }

  /// Narrowest width.
  static constexpr int kMinBits = 1;
  /// Widest width (odd codes up to 2^16 - 1 stay exact in float32).
  static constexpr int kMaxBits = 16;

 protected:
  torch::Tensor compute_stat(const torch::Tensor& x) const override;
  torch::Tensor scale_from_stat(const torch::Tensor& stat) const override;
  torch::Tensor encode(const torch::Tensor& x, const torch::Tensor& scale) const override;
  void describe(IntegerForm& form) const override;
  torch::Tensor all_codes() const override;

 private:
  int bits_;
  double quantscale_;
  Clip clip_;
};

}  // namespace lowbit::quant
