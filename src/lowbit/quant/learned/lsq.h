// LSQ: Learned Step Size Quantization (Esser et al., ICLR 2020).
//
// The step size s is a parameter trained with the loss: v_q = clamp(round(v / s), -Qn, Qp) * s.
// Its gradient (paper eq. 3) is -v/s + round(v/s) inside the range, -Qn below it and Qp above
// it, scaled by g = 1 / sqrt(N * Qp). The forward pass and both gradients come from LibTorch's
// fused _fake_quantize_learnable_per_{tensor,channel}_affine kernels.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include "lowbit/quant/quantizer.h"

namespace lowbit::quant {

/// Settings of an LSQ quantizer, as its SPEC keys give them.
struct LsqOptions {
  int bits = 4;              ///< Code width: 2..16 signed, 1..16 unsigned.
  bool is_signed = true;     ///< Signed grid [-2^(b-1), 2^(b-1)-1] or unsigned [0, 2^b-1].
  bool per_channel = false;  ///< One step per channel (axis 0 for weights, 1 for activations).
  double clip = 0.0;         ///< > 0: inputs clipped to [-clip, clip] first (ReLU6: 6); 0: none.
};

/// An LSQ quantizer. Parameter `step` (shape {1}, or {C} per channel) and buffer `initialized`.
///
/// The step is initialised lazily, on the first forward, to 2 * mean|x| / sqrt(Qp) (per channel:
/// over each channel's elements). Until then a per-channel step has shape {1}; initialisation or
/// loading a saved state gives it shape {C}, keeping the same tensor so optimizers still hold it.
/// N in the gradient scale is x.numel() for weights and biases, x.numel() / batch for activations,
/// divided by C per channel (the elements one step sees).
class LsqImpl : public QuantizerImpl {
 public:
  /// Builds a quantizer for `role`; throws SpecError for a bit width out of range.
  LsqImpl(const LsqOptions& options, Role role);

  /// Fake-quantized x; initialises the step from x when it is not yet initialised.
  torch::Tensor forward(const torch::Tensor& x) override;
  /// Codes in [-Qn, Qp] with the step as scale; uses the initial step for x if uninitialised.
  IntegerForm integer_form(const torch::Tensor& x) override;
  /// Code width.
  int bits() const override { return options_.bits; }
  /// Changes the width; an initialised step is multiplied by sqrt(Qp_old / Qp_new), which keeps
  /// its ratio to the LSQ initialisation 2 * mean|x| / sqrt(Qp) and so carries the learned
  /// adjustment over to the new grid. An uninitialised step is initialised with the new width.
  void set_bits(int bits) override;
  /// Frozen: the step gets no gradient and its accumulated gradient is dropped, so an optimizer
  /// (momentum or weight decay included) leaves it unchanged.
  void set_frozen(bool frozen) override;
  /// "lsq:bits=B,signed=S,per_channel=P".
  QuantSpec spec() const override;
  /// The learned step, once initialized (until then the first input sets it).
  bool scale_is_static() const override { return initialized(); }
  /// Grid values (-Qn..Qp) * step: {L} per tensor, {C, L} per channel.
  torch::Tensor levels(const torch::Tensor& x) override;

  /// The learned step size (the `step` parameter).
  const torch::Tensor& step() const { return step_; }
  /// Whether the step has been initialised (from data or by loading a saved state).
  bool initialized() const;
  /// Smallest code, -Qn (0 when unsigned).
  int64_t code_min() const;
  /// Largest code, Qp.
  int64_t code_max() const;
  /// The gradient scale g = 1 / sqrt(N * Qp) used for x.
  double grad_scale(const torch::Tensor& x) const;

 private:
  // Lets Cloneable layers clone a quantizer child: copies settings and state from `other`.
  void clone_(torch::nn::Module& other, const c10::optional<torch::Device>& device) override;
  int64_t channel_axis(const torch::Tensor& x) const;
  torch::Tensor initial_step(const torch::Tensor& x) const;
  torch::Tensor current_step(const torch::Tensor& x) const;
  void check_input(const torch::Tensor& x) const;
  // The input after the optional clip (ReLU6-style), as forward and integer_form see it.
  torch::Tensor clipped(const torch::Tensor& x) const;

  LsqOptions options_;
  Role role_;
  torch::Tensor step_;
  torch::Tensor initialized_;
  torch::Tensor zero_point_;
};

}  // namespace lowbit::quant
