// Activation quantizers with a fixed grid, after QKeras: quantized_relu, clip (ReLU6-like),
// hard_sigmoid and hard_tanh (quantized_sigmoid / quantized_tanh with use_real_*=False).
// Gradients are the fused ops' straight-through mask (zero where the code is clipped), times 0.5
// inside hard_sigmoid's slope; QKeras's quantized_relu is_quantized_clip=True is the code clamp.
// hard_tanh uses clip(x, -1, 1), which QKeras writes 2 * hard_sigmoid(x) - 1 (equal up to float
// rounding of 0.5x + 0.5).
#pragma once

#include <torch/types.h>

#include <optional>

#include "lowbit/quant/affine/affine_grid.h"
#include "lowbit/quant/quantizer.h"

namespace lowbit::quant {

/// Which activation grid.
enum class ActivationKind {
  kQuantizedRelu,  ///< relu, then codes [0, 2^B - 1] with step 2^(integer - B); optional max.
  kClip,           ///< clip to [-max, max] (signed, narrow codes) or [0, max] (unsigned).
  kHardSigmoid,    ///< clip(0.5 x + 0.5, 0, 1) on codes [1, 2^B - 1] with step 2^-B.
  kHardTanh,       ///< clip(x, -1, 1) on codes [-(2^(B-1) - 1), 2^(B-1) - 1] with step 2^(1-B).
};

/// Settings of an activation quantizer.
struct ActivationOptions {
  ActivationKind kind = ActivationKind::kQuantizedRelu;  ///< The grid.
  int bits = 8;                                          ///< Bits per code.
  int integer = 0;                                       ///< quantized_relu integer bits.
  bool is_signed = false;                                ///< clip: signed grid on [-max, max].
  std::optional<double> max;  ///< quantized_relu: upper bound before rounding; clip: the level.
};

/// A fixed-grid activation quantizer on LibTorch's fused fake quantization.
class ActivationQuantizerImpl : public QuantizerImpl {
 public:
  /// An activation quantizer with these settings and the spec that built it.
  ActivationQuantizerImpl(const ActivationOptions& options, QuantSpec spec);

  /// See QuantizerImpl::forward.
  torch::Tensor forward(const torch::Tensor& x) override;
  /// See QuantizerImpl::integer_form.
  IntegerForm integer_form(const torch::Tensor& x) override;
  /// See QuantizerImpl::bits.
  int bits() const override { return options_.bits; }
  /// Changes the bit width within the kind's range.
  void set_bits(int bits) override;
  /// See QuantizerImpl::spec.
  QuantSpec spec() const override;
  /// Every activation grid is fixed by its settings.
  bool scale_is_static() const override { return true; }
  /// See QuantizerImpl::levels.
  torch::Tensor levels(const torch::Tensor& x) override;

  /// The settings.
  const ActivationOptions& options() const { return options_; }
  /// The smallest bit width the kind allows.
  static int min_bits(ActivationKind kind);

 private:
  // The grid the fused op runs on, over the input as given (hard_sigmoid's is in the x domain).
  AffineGrid input_grid(const torch::Device& device) const;
  // The grid of the integer form (hard_sigmoid's is in the output domain).
  AffineGrid output_grid(const torch::Device& device) const;
  torch::Tensor clip_input(const torch::Tensor& x) const;

  ActivationOptions options_;
  QuantSpec spec_;
};

}  // namespace lowbit::quant
