// The integer LIF step: the arithmetic the C runtime and the integer reference executor run for a
// spiking layer (quantized membrane, shift or Q15 leak, saturation), as torch ops on int64
// tensors, and the constants that turn a trained Leaky into it. Leaky's integer_state mode and the
// exporter both take their constants from integer_lif_constants(), so training and export agree by
// construction. The equations are in docs/spiking.md ("Integer membrane").
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "lowbit/nn/leaky.h"

namespace lowbit::nn {

/// What the integer LIF needs of a layer, for one input grid step s.
struct IntegerLifConstants {
  /// max(1, round_half_away(threshold / s)); one entry per layer or one per channel.
  std::vector<int32_t> threshold;
  /// round_half_away(beta * 32768) in [0, 32768], beta clamped to [0, 1]; as many as threshold.
  std::vector<int32_t> beta_q15;
  /// k in 1..15: the leak is U - fdiv(U, 2^k) (beta = 1 - 2^-k); 0: the leak uses beta_q15.
  int leak_shift = 0;
  /// 16 or 32: the membrane saturates to int16 or int32.
  int membrane_bits = 16;
  /// Subtract, zero or none.
  ResetMechanism reset = ResetMechanism::kSubtract;
  /// Whether a spike resets the membrane at the next step (true) or within the step (false).
  bool reset_delay = true;
};

/// The integer constants of `lif`'s current beta and threshold for input currents on a grid of
/// step `current_step` (> 0, finite; else std::invalid_argument).
IntegerLifConstants integer_lif_constants(const LeakyImpl& lif, double current_step);

/// The integer state after one step.
struct IntegerLifStep {
  /// The membrane U (int64, within the membrane_bits range).
  torch::Tensor membrane;
  /// The pending reset R (int64, 0 or 1; the spikes when reset_delay, else zeros).
  torch::Tensor pending_reset;
  /// The spikes S (int64, 0 or 1).
  torch::Tensor spikes;
};

/// One integer LIF step on int64 tensors [B, C, ...] (per-channel constants along dimension 1):
/// `current` I = q - zero_point, `membrane` U and `pending_reset` R from the previous step (zeros
/// at rest). Wrong dtypes, shapes or constants are std::invalid_argument.
IntegerLifStep integer_lif_step(const torch::Tensor& current, const torch::Tensor& membrane,
                                const torch::Tensor& pending_reset,
                                const IntegerLifConstants& constants);

}  // namespace lowbit::nn
