// A single-pass CPU kernel for affine fake quantization. LibTorch 1.13's CPU kernel for
// fake_quantize_per_{tensor,channel}_affine runs a scalar loop (about 6 ns per element here),
// slower than composing round/clamp/mul; this one is one vectorizable pass for the forward and
// one for the backward, and gives the same values bit for bit (tests compare it with LibTorch's).
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace lowbit::quant {

/// Fake-quantizes a float32 CPU tensor: out = (clamp(round(x * (1/scale)) + zp, qmin, qmax) - zp)
/// * scale with round half to even, scale/zero_point per tensor (0-d or 1 element) or per channel
/// along `axis`. The gradient is the incoming one where the unclamped code lies in [qmin, qmax]
/// and zero elsewhere; scale and zero point get none. Equal to LibTorch's
/// fake_quantize_per_tensor_affine / fake_quantize_per_channel_affine, bit for bit.
torch::Tensor fused_fake_quantize_cpu(const torch::Tensor& x, const torch::Tensor& scale,
                                      const torch::Tensor& zero_point, int64_t axis, int64_t qmin,
                                      int64_t qmax);

/// Learned-step (LSQ) fake quantization of a float32 CPU tensor with zero point 0: the forward
/// equals LibTorch's _fake_quantize_learnable_per_{tensor,channel}_affine bit for bit; the
/// backward gives x the incoming gradient inside the grid and zero outside, and `step` (shape
/// {1} per tensor, {C} per channel along `axis`) the LSQ gradient scaled by `grad_factor`.
torch::Tensor fused_learned_step_cpu(const torch::Tensor& x, const torch::Tensor& step,
                                     int64_t axis, int64_t qmin, int64_t qmax, double grad_factor);

}  // namespace lowbit::quant
