// Binary weights: sign(w) times mean|w| (BinaryConnect/XNOR scaling, BitNetMCU `BinarySym`), or
// the mean-centred sign of BitNetMCU's default `Binary` type.
#pragma once

#include "lowbit/quant/weight_grids/grid_base.h"

namespace lowbit::quant {

/// One-bit grid {-s, +s} with s = mean|w| (per tensor or per output channel).
///
/// BitNetMCU (BitNetMCU.py, BitQuant.weight_quant):
///   BinarySym: u = sign(w) * mean|w|
///   Binary:    u = sign(w - mean(w)) * mean|w|      (centered=1)
/// The scale stays mean|w| in both (not mean|w - mean(w)|), as there. A zero argument of sign()
/// gets code +1 here (torch.sign gives 0, which is off the grid). Codes are {-1, +1}.
class BinaryQuantizerImpl : public GridQuantizerImpl {
 public:
  /// A binary grid; `centered` subtracts the mean (per tensor or channel) before the sign.
  BinaryQuantizerImpl(bool centered, bool per_channel, SteMode ste);

  /// Always 1.
  int bits() const override { return 1; }
  /// `binary:centered=..,per_channel=..,ste=..`.
  QuantSpec spec() const override;
  /// Whether the sign is taken of w - mean(w).
  bool centered() const { return centered_; }

 protected:
  torch::Tensor compute_stat(const torch::Tensor& x) const override;
  torch::Tensor scale_from_stat(const torch::Tensor& stat) const override;
  torch::Tensor encode(const torch::Tensor& x, const torch::Tensor& scale) const override;
  void describe(IntegerForm& form) const override;
  torch::Tensor all_codes() const override;

 private:
  bool centered_;
};

}  // namespace lowbit::quant
