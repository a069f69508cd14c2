// Ternary weights of BitNet b1.58 ("The Era of 1-bit LLMs", Ma et al. 2024).
#pragma once

#include "lowbit/quant/weight_grids/grid_base.h"

namespace lowbit::quant {

/// Grid {-s, 0, +s} with the absmean scale of BitNet b1.58 and BitNetMCU's `Ternary`:
///   s = max(mean|w|, 1e-5),  code = clamp(round(w / s), -1, 1),  value = code * s.
/// Codes {-1, 0, 1} take 2 bits of storage (log2(3) = 1.58 of information).
class TernaryQuantizerImpl : public GridQuantizerImpl {
 public:
  /// A ternary grid per tensor or per output channel.
  TernaryQuantizerImpl(bool per_channel, SteMode ste);

  /// Always 2 (three codes).
  int bits() const override { return 2; }
  /// `ternary:per_channel=..,ste=..`.
  QuantSpec spec() const override;

 protected:
  torch::Tensor compute_stat(const torch::Tensor& x) const override;
  torch::Tensor scale_from_stat(const torch::Tensor& stat) const override;
  torch::Tensor encode(const torch::Tensor& x, const torch::Tensor& scale) const override;
  void describe(IntegerForm& form) const override;
  torch::Tensor all_codes() const override;
};

}  // namespace lowbit::quant
