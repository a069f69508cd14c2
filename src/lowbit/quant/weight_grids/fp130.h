// BitNetMCU's FP1.3.0: sign and a 3-bit exponent, no mantissa and no zero (shift-only weights).
#pragma once

#include "lowbit/quant/weight_grids/grid_base.h"

namespace lowbit::quant {

/// Grid {±1, ±2, ±4, ..., ±128} times a step: the weight is sign * 2^e with e in [0, 7].
///
/// BitNetMCU (BitNetMCU.py, BitQuant.weight_quant, FP130; docs "FP1.3.0 Quantization"):
///   s = mean|w| / quantscale,  scale = 128 / s
///   e = clamp(floor(log2(|w * scale|)), 0, 7),  u = sign(w) * 2^e,  value = u / scale
/// The exponent is truncated (floor), not rounded, exactly as there; |w| below one step maps to
/// ±1 since there is no zero, and w = 0 gets +1 (torch.sign gives 0, which is off the grid).
/// Codes are the integers ±2^e, IntegerForm scale = 1 / scale = mean|w| / (128 * quantscale).
class Fp130QuantizerImpl : public GridQuantizerImpl {
 public:
  /// An FP1.3.0 grid with the given quantscale.
  Fp130QuantizerImpl(double quantscale, bool per_channel, SteMode ste);

  /// Always 4 (sign + 3 exponent bits).
  int bits() const override { return 4; }
  /// `fp130:quantscale=..,per_channel=..,ste=..`.
  QuantSpec spec() const override;
  /// The quantscale factor.
  double quantscale() const { return quantscale_; }

 protected:
  torch::Tensor compute_stat(const torch::Tensor& x) const override;
  torch::Tensor scale_from_stat(const torch::Tensor& stat) const override;
  torch::Tensor encode(const torch::Tensor& x, const torch::Tensor& scale) const override;
  void describe(IntegerForm& form) const override;
  torch::Tensor all_codes() const override;

 private:
  double quantscale_;
};

}  // namespace lowbit::quant
