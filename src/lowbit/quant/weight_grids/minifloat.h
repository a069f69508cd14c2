// Minifloat grids: sign, E exponent bits and M mantissa bits (FP4 E2M1, FP6, FP8 E4M3, ...).
#pragma once

#include "lowbit/quant/weight_grids/grid_base.h"

namespace lowbit::quant {

/// Which codes of a minifloat format are reserved for non-finite values.
enum class FpSpecial {
  kNone,  ///< Every code is finite (OCP MX FP4 E2M1, FP6 E2M3/E3M2).
  kNan,   ///< Only exponent and mantissa all ones is NaN (OCP FP8 E4M3, max 448).
  kIeee,  ///< The whole all-ones exponent is inf/NaN, as in IEEE 754.
};

/// A sign + E exponent + M mantissa minifloat with subnormals, bias 2^(E-1) - 1, saturating at
/// its largest finite value, with an absmax scale (per tensor or channel) mapping max|w| to it.
///
/// Integer form: every finite value is a multiple of the smallest subnormal 2^(1 - bias - M), so
/// code = value / 2^(1 - bias - M) is an integer: subnormals are codes 0 .. 2^M - 1 and binade
/// k >= 1 holds codes (2^M + j) * 2^(k-1). E2M1 levels {0,0.5,1,1.5,2,3,4,6} are codes
/// {0,1,2,3,4,6,8,12}. The IntegerForm scale is max|w| / code_max, so value = code * scale.
/// Rounding is to the nearest value, ties to even mantissa (IEEE round-to-nearest-even).
/// Codes must stay below 2^24 to be exact in float32, which limits E to 4 (E5M2 does not fit).
class MinifloatQuantizerImpl : public GridQuantizerImpl {
 public:
  /// A format with `exponent_bits` and `mantissa_bits`; throws SpecError naming e, m or special
  /// when the format is empty or its codes do not fit.
  MinifloatQuantizerImpl(int exponent_bits, int mantissa_bits, FpSpecial special, bool per_channel,
                         SteMode ste);

  /// 1 + E + M.
  int bits() const override { return 1 + exponent_bits_ + mantissa_bits_; }
  /// `fp:e=..,m=..,special=..,per_channel=..,ste=..`.
  QuantSpec spec() const override;

  /// Exponent bits E.
  int exponent_bits() const { return exponent_bits_; }
  /// Mantissa bits M.
  int mantissa_bits() const { return mantissa_bits_; }
  /// Reserved codes.
  FpSpecial special() const { return special_; }
  /// The exponent bias 2^(E-1) - 1.
  int bias() const { return (1 << (exponent_bits_ - 1)) - 1; }
  /// The largest code (largest finite value over the smallest subnormal).
  int64_t code_max() const { return code_max_; }
  /// The format's non-negative finite values (unscaled), ascending, as float64.
  torch::Tensor unit_values() const;

  /// The OCP default for a format: kNan for E4M3, kNone otherwise.
  static FpSpecial default_special(int exponent_bits, int mantissa_bits);
  /// "none", "nan" or "ieee".
  static std::string special_name(FpSpecial special);

 protected:
  torch::Tensor compute_stat(const torch::Tensor& x) const override;
  torch::Tensor scale_from_stat(const torch::Tensor& stat) const override;
  torch::Tensor encode(const torch::Tensor& x, const torch::Tensor& scale) const override;
  void describe(IntegerForm& form) const override;
  torch::Tensor all_codes() const override;

 private:
  int exponent_bits_;
  int mantissa_bits_;
  FpSpecial special_;
  int64_t code_max_ = 0;
  torch::Tensor positive_codes_;  // int64, ascending, 0 first.
};

}  // namespace lowbit::quant
