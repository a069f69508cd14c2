// Per-sample power-of-two activation scaling: BitNetMCU's "ReLUNorm" of its MCU inference.
//
// BitNetMCU's C code normalises each hidden layer per sample with a shift found at run time: with
// m the largest int32 accumulator of the layer's outputs, shift = bit length of (m >> 7) and
// out = clamp((acc + ((1 << shift) >> 1)) >> shift, 0, 127). The network is bias-free, so each
// layer is scale-invariant per sample and needs no requantization constants.
//
// In float: per sample n (axis 0), m_n = max of the sample (unsigned) or of |x| (signed); the
// scale is the smallest power of two 2^k with m_n / 2^k < qmax + 1, qmax = 2^(bits-1) - 1; codes
// are round-half-up(x / 2^k) clamped to [0, qmax] (unsigned: negatives become 0, a ReLU) or
// [-qmax, qmax] (signed). This is the C rule exactly (m < 128 * 2^shift, ties up by the added
// half) when x is an accumulator times a power of two. The largest code of a non-zero sample
// lies in [qmax/2 + 1, qmax]; scaling x by 2^j scales every scale by 2^j and keeps the codes.
// The scale gets no gradient; x gets the incoming gradient where the codes are not clipped below
// (straight through, as BitNetMCU's absmax activation quantizer).
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "lowbit/quant/quantizer.h"

namespace lowbit::quant {

/// Settings of a dynshift quantizer, as its SPEC keys give them.
struct DynamicShiftOptions {
  int bits = 8;            ///< Code width, 2..16; codes up to qmax = 2^(bits-1) - 1.
  bool is_signed = false;  ///< true: codes -qmax..qmax from max|x|; false: 0..qmax from max x.
};

/// The dynshift activation quantizer: one power-of-two scale per sample, from the sample's max.
class DynamicShiftImpl : public QuantizerImpl {
 public:
  /// Builds a quantizer; throws SpecError for bits out of 2..16.
  explicit DynamicShiftImpl(const DynamicShiftOptions& options);

  /// Codes times each sample's power-of-two scale, with the straight-through gradient.
  torch::Tensor forward(const torch::Tensor& x) override;
  /// Codes with one scale per sample: scale {N} along axis 0, zero points 0. Export cannot fix
  /// such a scale (scale_is_static() is false): the lowering turns the QLinear before it into a
  /// DynamicShiftDense, which finds the shift at run time.
  IntegerForm integer_form(const torch::Tensor& x) override;
  /// Code width.
  int bits() const override { return options_.bits; }
  /// Changes the width; throws SpecError outside 2..16.
  void set_bits(int bits) override;
  /// "dynshift:bits=B,signed=S".
  QuantSpec spec() const override;
  /// Never: each sample's scale follows its own maximum.
  bool scale_is_static() const override { return false; }
  /// Grid values of each sample, {N, L} with L = qmax + 1 (unsigned) or 2 qmax + 1 (signed).
  torch::Tensor levels(const torch::Tensor& x) override;

  /// Largest code, 2^(bits-1) - 1.
  int64_t code_max() const { return (int64_t{1} << (options_.bits - 1)) - 1; }
  /// Smallest code: -code_max() signed, 0 unsigned.
  int64_t code_min() const { return options_.is_signed ? -code_max() : 0; }
  /// Each sample's power-of-two scale, float32 {N}; 1 for a sample whose max is not positive.
  torch::Tensor sample_scales(const torch::Tensor& x) const;

 private:
  void check_input(const torch::Tensor& x) const;
  // Codes as float32 in x's shape, for scales broadcast along axis 0.
  torch::Tensor float_codes(const torch::Tensor& x, const torch::Tensor& scale) const;

  DynamicShiftOptions options_;
};

}  // namespace lowbit::quant
