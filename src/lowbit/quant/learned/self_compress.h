// Self-compressing bit widths (Csordás, Irie & Schmidhuber, "Self-Compressing Neural Networks",
// 2023; BitNetMCU notes, seed 002).
//
//   q(x) = 2^e * round_ste(clamp(x / 2^e, -2^(b-1), 2^(b-1) - 1))
//
// with a learned exponent e and a learned, continuous bit depth b (per tensor or per output
// channel). The rounding has a straight-through gradient; b gets its gradient through the clamp
// bounds and from the compression loss (lowbit::train::compression_bits), which pushes it down.
// The bit depth used is max(b, min_bits), so b stops at the floor.
//
// Integer form: the codes are round(clamp(x / 2^e, lo, hi)), which for a continuous b lie inside
// the signed grid of ceil(b) bits, so integer_form() reports ceil(max b) bits and is bit-exact
// with forward() at any time. set_frozen(true) rounds b to the nearest integer (at least the
// floor) and stops training b and e, so the frozen grid is an ordinary signed b-bit grid.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "lowbit/quant/quantizer.h"

namespace lowbit::quant {

/// Settings of a self-compressing quantizer, as its SPEC keys give them.
struct SelfCompressOptions {
  double bits = 8.0;         ///< Initial bit depth b, >= min_bits.
  double min_bits = 1.0;     ///< Floor of the bit depth, >= 0.
  bool per_channel = false;  ///< One b and e per output channel (axis 0).
};

/// The `selfcompress` weight quantizer. Parameters `bits` and `exponent` (shape {1}, or {C} per
/// channel once initialised), buffer `initialized`. The exponent is initialised lazily, on the
/// first forward, to log2(max|x| / 2^(b-1)) (per channel over each channel), so the clamp range
/// covers the tensor; 0 for an all-zero tensor.
class SelfCompressImpl : public QuantizerImpl {
 public:
  /// Builds the quantizer; throws SpecError for min_bits < 0 or bits < min_bits.
  SelfCompressImpl(const SelfCompressOptions& options, Role role);

  /// Fake-quantized x; initialises the exponent from x when not yet initialised.
  torch::Tensor forward(const torch::Tensor& x) override;
  /// Codes round(clamp(x / 2^e, lo, hi)) with scale 2^e, ceil(max b) bits.
  IntegerForm integer_form(const torch::Tensor& x) override;
  /// ceil of the largest effective bit depth (at least 1).
  int bits() const override;
  /// Sets every bit depth to `bits` (>= the floor, <= 16).
  void set_bits(int bits) override;
  /// Frozen: b is rounded to an integer (at least the floor) and b and e get no gradient.
  void set_frozen(bool frozen) override;
  /// "selfcompress:bits=B,min_bits=M,per_channel=P" with B = bits().
  QuantSpec spec() const override;
  /// The learned exponent, once initialized (until then the first input sets it).
  bool scale_is_static() const override { return initialized(); }
  /// Grid values 2^e * (round(lo)..round(hi)): {L} per tensor, {C, L} per channel, rows of
  /// narrower channels padded by repeating their largest level.
  torch::Tensor levels(const torch::Tensor& x) override;

  /// The learned bit depth parameter b (may lie below the floor; see effective_bits()).
  const torch::Tensor& bit_depth() const { return bits_; }
  /// max(b, min_bits), differentiable; the depth the grid uses.
  torch::Tensor effective_bits() const;
  /// The learned exponent parameter e.
  const torch::Tensor& exponent() const { return exponent_; }
  /// The settings.
  const SelfCompressOptions& options() const { return options_; }
  /// Whether the exponent has been initialised (from data or by cloning).
  bool initialized() const;

 private:
  void clone_(torch::nn::Module& other, const c10::optional<torch::Device>& device) override;
  void initialize(const torch::Tensor& x);
  torch::Tensor initial_exponent(const torch::Tensor& x) const;
  // Rounded, clamped x / 2^e (straight-through when `ste`) and the scale, shaped to broadcast.
  torch::Tensor scaled_codes(const torch::Tensor& x, const torch::Tensor& exponent, bool ste) const;
  torch::Tensor broadcast(const torch::Tensor& t, int64_t rank) const;
  void check_input(const torch::Tensor& x) const;

  SelfCompressOptions options_;
  Role role_;
  torch::Tensor bits_;
  torch::Tensor exponent_;
  torch::Tensor initialized_;
};

}  // namespace lowbit::quant
