// The shared frame of the fixed weight grids (binary, ternary, sym, nf4, fp, fp130): a scale
// statistic per tensor or per channel, an encoder that turns x into integer codes, and one
// dequantization path for both training and export.
#pragma once

#include <torch/types.h>

#include <string>

#include "lowbit/quant/quantizer.h"

namespace lowbit::quant {

/// How a grid passes gradients through its rounding.
enum class SteMode {
  kClip,   ///< Incoming gradient where x lies within [lowest level, highest level], zero outside.
  kPlain,  ///< Incoming gradient everywhere (the `x + (q - x).detach()` estimator of BitNet).
};

/// Parses "clip" or "plain"; throws SpecError naming key `ste` otherwise.
SteMode parse_ste_mode(const QuantSpec& spec, SteMode fallback);

/// The text form of an SteMode ("clip", "plain").
std::string ste_mode_name(SteMode mode);

/// The shortest decimal text of v that reads back to the same double (for spec()).
std::string format_real(double v);

/// Smallest scale statistic, so an all-zero tensor or channel still gets a finite scale
/// (BitNetMCU and BitNet clamp mean|w| at the same 1e-5).
inline constexpr float kScaleStatEps = 1e-5f;

/// mean|x| per tensor (shape {}) or per slice along axis 0 (shape {C}), at least kScaleStatEps.
torch::Tensor absmean_stat(const torch::Tensor& x, bool per_channel);

/// max|x| per tensor (shape {}) or per slice along axis 0 (shape {C}), at least kScaleStatEps.
torch::Tensor absmax_stat(const torch::Tensor& x, bool per_channel);

/// Base of the fixed grids. forward() is the dequantized integer form plus a straight-through
/// gradient, so training and export compute the same floats by construction.
///
/// The scale comes from a statistic of x (mean|x| or max|x|, see each grid). In training mode
/// and unfrozen, forward() records it in the buffer `stat`; once frozen, the recorded statistic
/// is used instead of x's own (x's is used while none is recorded). Channels are along axis 0.
class GridQuantizerImpl : public QuantizerImpl {
 public:
  /// A grid applied per tensor or per output channel (axis 0), with a gradient mode.
  GridQuantizerImpl(bool per_channel, SteMode ste);

  /// Dequantized codes of x with the straight-through gradient of the grid's SteMode.
  torch::Tensor forward(const torch::Tensor& x) override;

  /// Codes, scale and grid description of x; never records the statistic.
  IntegerForm integer_form(const torch::Tensor& x) override;

  /// Every value the grid can produce for x's scale: {L} per tensor, {C, L} per channel.
  torch::Tensor levels(const torch::Tensor& x) override;

  /// Whether the scale is per output channel (axis 0).
  bool per_channel() const { return per_channel_; }

  /// The gradient mode.
  SteMode ste() const { return ste_; }

  /// The recorded statistic (empty until a training-mode forward records one).
  const torch::Tensor& recorded_stat() const { return stat_; }

  /// Static once frozen with a recorded statistic; before, the scale follows x.
  bool scale_is_static() const override { return frozen() && stat_.numel() > 0; }

 protected:
  /// The scale statistic of x (detached float32): {} per tensor, {C} per channel.
  virtual torch::Tensor compute_stat(const torch::Tensor& x) const = 0;

  /// The IntegerForm scale for a statistic (same shape as the statistic).
  virtual torch::Tensor scale_from_stat(const torch::Tensor& stat) const = 0;

  /// Integer codes of x (detached float32) for the scale broadcast against x, as int32.
  virtual torch::Tensor encode(const torch::Tensor& x, const torch::Tensor& scale) const = 0;

  /// Fills bits, is_signed, code_min, code_max and levels (codebook grids) of a form.
  virtual void describe(IntegerForm& form) const = 0;

  /// Every code the grid can produce, ascending, as int64 (codebook grids: every index).
  virtual torch::Tensor all_codes() const = 0;

  /// Adds the keys every grid shares (per_channel, ste) to a spec.
  void add_common_params(QuantSpec& spec) const;

 private:
  torch::Tensor current_stat(const torch::Tensor& x) const;
  IntegerForm form_for(const torch::Tensor& x, const torch::Tensor& stat) const;

  bool per_channel_;
  SteMode ste_;
  torch::Tensor stat_;
};

}  // namespace lowbit::quant
