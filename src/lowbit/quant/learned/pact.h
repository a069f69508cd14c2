// PACT: Parameterized Clipping Activation (Choi et al., 2018).
//
// y = clip(x, 0, alpha) quantized to 2^b - 1 steps of alpha / (2^b - 1) on [0, alpha], with the
// clipping level alpha trained with the loss. Rounding is passed straight through, so
// dy/dalpha = 1 where x >= alpha and 0 elsewhere, and dy/dx = 1 where 0 <= x < alpha.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>

#include "lowbit/quant/quantizer.h"

namespace lowbit::quant {

/// Settings of a PACT quantizer, as its SPEC keys give them.
struct PactOptions {
  int bits = 4;        ///< Code width, 1..16; codes 0..2^b-1.
  double alpha = 6.0;  ///< Initial clipping level; 6 is ReLU6's, so ReLU6 nets start in range.
};

/// A PACT activation quantizer with the learnable clipping level as parameter `alpha` ({1}).
class PactImpl : public QuantizerImpl {
 public:
  /// Builds a quantizer; throws SpecError for bits out of 1..16 or alpha <= 0.
  explicit PactImpl(const PactOptions& options);

  /// Fake-quantized clip(x, 0, alpha) with the PACT gradients.
  torch::Tensor forward(const torch::Tensor& x) override;
  /// Unsigned codes 0..2^b-1 with scale alpha / (2^b - 1).
  IntegerForm integer_form(const torch::Tensor& x) override;
  /// Code width.
  int bits() const override { return options_.bits; }
  /// Changes the width; alpha is a clipping level independent of the width, so it is kept.
  void set_bits(int bits) override;
  /// Frozen: alpha gets no gradient and its accumulated gradient is dropped.
  void set_frozen(bool frozen) override;
  /// "pact:bits=B,alpha=A" with A the initial clipping level.
  QuantSpec spec() const override;
  /// The learned clipping level alpha sets the step.
  bool scale_is_static() const override { return true; }
  /// Grid values 0, s, ..., alpha as a 1-D tensor.
  torch::Tensor levels(const torch::Tensor& x) override;

  /// The learned clipping level (the `alpha` parameter).
  const torch::Tensor& alpha() const { return alpha_; }
  /// Largest code, 2^b - 1.
  int64_t code_max() const { return (int64_t{1} << options_.bits) - 1; }
  /// The quantization step alpha / (2^b - 1) as a float32 scalar tensor.
  torch::Tensor step() const;

 private:
  // Lets Cloneable layers clone a quantizer child: copies settings and state from `other`.
  void clone_(torch::nn::Module& other, const c10::optional<torch::Device>& device) override;
  void check_input(const torch::Tensor& x) const;

  PactOptions options_;
  torch::Tensor alpha_;
};

}  // namespace lowbit::quant
