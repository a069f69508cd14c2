// The uniform quantizer: a signed or unsigned B-bit affine grid whose scale comes either from a
// range estimator or from QKeras quantized_bits fixed-point semantics.
//
// Choices, and where they differ from QKeras quantized_bits:
// - integer=N, alpha=1: exactly QKeras's grid, step 2^(N - bits + signed), codes
//   [-2^(bits-1) (+1 if narrow), 2^(bits-1) - 1] or [0, 2^bits - 1], round half to even (tf.round).
// - alpha=auto|auto_po2 follow QKeras 0.9's formula (per channel along axis 0, which is Keras's
//   last kernel axis in lowbit's [out, in] layout; always symmetric/narrow). QKeras picks the codes
//   with floor(|x|/s + 0.5) (ties away from zero); lowbit rounds with the fused op (ties to even),
//   so an input exactly halfway between two levels may land on the other one.
// - The gradient is the incoming one where the code is not clipped and zero where it is (the
//   fused ops' mask); QKeras's quantized_bits passes the gradient everywhere.
// - signed, bits=1 is binary {-s, +s} (codes -1, +1; x = 0 maps to +s), QKeras's 1-bit sign.
#pragma once

#include <torch/types.h>

#include <optional>
#include <vector>

#include "lowbit/quant/affine/affine_grid.h"
#include "lowbit/quant/affine/range_estimator.h"
#include "lowbit/quant/quantizer.h"

namespace lowbit::quant {

/// QKeras `alpha`: the extra scale a fixed-point grid gets.
enum class Alpha {
  kOne,      ///< No extra scale (QKeras alpha=None or 1).
  kAuto,     ///< Per-channel float scale max|x| / (2^(B-1) - 1).
  kAutoPo2,  ///< Per-channel power-of-two scale refined by QKeras's 5 least-squares steps.
};

/// Settings of a uniform quantizer.
struct UniformOptions {
  int bits = 8;                ///< 1..8.
  bool is_signed = true;       ///< Signed codes (QKeras keep_negative).
  bool narrow = false;         ///< Drop the most negative code (QKeras symmetric).
  bool per_channel = false;    ///< One scale per slice along axis 0.
  std::optional<int> integer;  ///< QKeras integer bits; set = fixed-point grid.
  Alpha alpha = Alpha::kOne;   ///< QKeras alpha (fixed-point grids only).
};

/// Uniform affine fake quantization with LibTorch's fused ops and the straight-through gradient
/// (incoming gradient where the code is not clipped, zero where it is). Signed 1-bit grids are
/// binary {-s, +s} (codes -1, +1), QKeras's 1-bit quantized_bits.
class UniformQuantizerImpl : public QuantizerImpl {
 public:
  /// A uniform quantizer; `estimator` sets the scale unless options.integer is set.
  UniformQuantizerImpl(const UniformOptions& options, RangeEstimator estimator, QuantSpec spec);

  /// See QuantizerImpl::forward.
  torch::Tensor forward(const torch::Tensor& x) override;
  /// See QuantizerImpl::integer_form.
  IntegerForm integer_form(const torch::Tensor& x) override;
  /// See QuantizerImpl::bits.
  int bits() const override { return options_.bits; }
  /// Changes the bit width (1..8; 2..8 with alpha=auto*).
  void set_bits(int bits) override;
  /// Freezes or releases the estimator's running statistics.
  void set_frozen(bool frozen) override;
  /// See QuantizerImpl::spec.
  QuantSpec spec() const override;
  /// Fixed for QKeras-style integer grids with alpha 1, automatic alphas follow x; otherwise as
  /// the range estimator (EMA min/max once observed).
  bool scale_is_static() const override;
  /// See QuantizerImpl::levels.
  torch::Tensor levels(const torch::Tensor& x) override;

  /// The affine grid x is quantized on with the current state (not for signed 1-bit grids).
  AffineGrid grid(const torch::Tensor& x);
  /// The settings.
  const UniformOptions& options() const { return options_; }
  /// The range estimator (null for fixed-point grids).
  const RangeEstimator& estimator() const { return estimator_; }

 private:
  int64_t axis_for(const torch::Tensor& x) const;
  bool binary() const { return options_.is_signed && options_.bits == 1; }
  torch::Tensor binary_scale(const torch::Tensor& x);
  torch::Tensor qkeras_auto_scale(const torch::Tensor& x, int64_t axis) const;

  UniformOptions options_;
  RangeEstimator estimator_;
  QuantSpec spec_;
};

/// Shared handle to a uniform quantizer.
using UniformQuantizer = std::shared_ptr<UniformQuantizerImpl>;

/// The code range of a B-bit grid: signed [-2^(B-1) (+1 if narrow), 2^(B-1) - 1], else [0, 2^B-1].
std::pair<int64_t, int64_t> code_range(int bits, bool is_signed, bool narrow);

}  // namespace lowbit::quant
