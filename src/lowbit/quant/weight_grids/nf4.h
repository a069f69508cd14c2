// NormalFloat-4, the 4-bit codebook of QLoRA (Dettmers et al. 2023), as BitNetMCU's `NF4`.
#pragma once

#include <array>

#include "lowbit/quant/weight_grids/grid_base.h"

namespace lowbit::quant {

/// The 16 NF4 levels exactly as bitsandbytes publishes them (functional.py, get_4bit_type
/// "nf4"), ascending; index 7 is the zero level. BitNetMCU uses these rounded to 4 digits.
inline constexpr std::array<float, 16> kNf4Levels = {-1.0f,
                                                     -0.6961928009986877f,
                                                     -0.5250730514526367f,
                                                     -0.39491748809814453f,
                                                     -0.28444138169288635f,
                                                     -0.18477343022823334f,
                                                     -0.09105003625154495f,
                                                     0.0f,
                                                     0.07958029955625534f,
                                                     0.16093020141124725f,
                                                     0.24611230194568634f,
                                                     0.33791524171829224f,
                                                     0.44070982933044434f,
                                                     0.5626170039176941f,
                                                     0.7229568362236023f,
                                                     1.0f};

/// NF4 with an absmax scale per tensor or per output channel: s = max|w|, the code is the index
/// of the nearest level to w / s (ties go to the upper level, the midpoints being the decision
/// thresholds as in bitsandbytes), value = kNf4Levels[code] * s. IntegerForm sets `levels`.
/// (QLoRA's 64-element blocks along the flattened tensor are not offered: IntegerForm carries one
/// scale per tensor or per channel only.)
class Nf4QuantizerImpl : public GridQuantizerImpl {
 public:
  /// An NF4 grid per tensor or per output channel.
  Nf4QuantizerImpl(bool per_channel, SteMode ste);

  /// Always 4.
  int bits() const override { return 4; }
  /// `nf4:per_channel=..,ste=..`.
  QuantSpec spec() const override;

  /// The codebook as a float32 tensor of 16 entries.
  static torch::Tensor codebook();

 protected:
  torch::Tensor compute_stat(const torch::Tensor& x) const override;
  torch::Tensor scale_from_stat(const torch::Tensor& stat) const override;
  torch::Tensor encode(const torch::Tensor& x, const torch::Tensor& scale) const override;
  void describe(IntegerForm& form) const override;
  torch::Tensor all_codes() const override;
};

}  // namespace lowbit::quant
