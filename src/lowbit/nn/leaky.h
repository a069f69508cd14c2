// Leaky: the first-order leaky integrate-and-fire neuron of snnTorch's `Leaky`, run over the time
// steps of a sequence, with surrogate gradients, fixed or learnable decay and threshold (per layer
// or per channel) and optional membrane quantization (snnTorch's `state_quant`). The equations,
// options and the mapping to snnTorch, SpikingJelly and Norse are in docs/spiking.md.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "lowbit/nn/surrogate.h"

namespace lowbit::nn {

/// How the membrane is reset after a spike.
enum class ResetMechanism { kSubtract = 0, kZero = 1, kNone = 2 };

/// The names LeakyOptions::reset_mechanism accepts: subtract, zero, none.
const std::vector<std::string>& reset_mechanism_names();

/// Options of Leaky; names and defaults follow snnTorch's Leaky where it has them.
struct LeakyOptions {
  /// A neuron with decay `beta` (snnTorch has no default; lowbit's is 0.9).
  LeakyOptions(double beta = 0.9);  // NOLINT(google-explicit-constructor)
  /// Membrane decay per step, in [0, 1]. A learned beta is clamped to [0, 1] when used.
  TORCH_ARG(double, beta);
  /// Firing threshold, > 0.
  TORCH_ARG(double, threshold) = 1.0;
  /// Surrogate gradient of the spike function (snnTorch's default: atan, alpha 2).
  TORCH_ARG(Surrogate, spike_grad) = Surrogate::atan();
  /// "subtract" (the threshold), "zero" (the membrane) or "none".
  TORCH_ARG(std::string, reset_mechanism) = "subtract";
  /// True (snnTorch's default): a spike resets the membrane at the next step; false: in the same
  /// step, right after firing (SpikingJelly and Norse).
  TORCH_ARG(bool, reset_delay) = true;
  /// True (snnTorch): the reset term carries no gradient; false: the gradient flows through the
  /// spike's surrogate into the reset too (SpikingJelly's detach_reset=False).
  TORCH_ARG(bool, reset_detach) = true;
  /// Whether beta is a learned parameter (else a buffer).
  TORCH_ARG(bool, learn_beta) = false;
  /// Whether the threshold is a learned parameter (else a buffer).
  TORCH_ARG(bool, learn_threshold) = false;
  /// 0: one beta and one threshold for the layer (0-dim tensors); C > 0: one per channel, along
  /// dimension 1 of a step's input [B, C, ...] (dimension 2 of a sequence [T, B, C, ...]).
  TORCH_ARG(int64_t, channels) = 0;
  /// Bits of the membrane quantizer; 0 (default) leaves the membrane in float.
  TORCH_ARG(int, state_quant_bits) = 0;
  /// The lowest membrane level is -threshold * (1 + lower_limit) (snnTorch default 0).
  TORCH_ARG(double, state_quant_lower_limit) = 0.0;
  /// The highest membrane level is threshold * (1 + upper_limit) (snnTorch default 0.2); > 0, as
  /// a membrane capped at the threshold never fires.
  TORCH_ARG(double, state_quant_upper_limit) = 0.2;
  /// True: when a step is given its currents as integer codes (step_integer, run_integer), the
  /// membrane is held as the integer runtime holds it (integer_lif.h) and the spikes are the
  /// integer ones; gradients flow as in the float LIF. Excludes state_quant_bits.
  TORCH_ARG(bool, integer_state) = false;
  /// 0: beta as given; k in 1..15: beta = 1 - 2^-k exactly (overriding `beta`), which the integer
  /// LIF computes as a shift. Excludes learn_beta.
  TORCH_ARG(int, leak_shift) = 0;
  /// Bits of the integer membrane, 16 or 32 (saturating).
  TORCH_ARG(int, membrane_bits) = 16;
};

/// The spikes and membrane potentials of a whole sequence.
struct LeakyTrace {
  /// Spikes [T, B, ...] (0 or 1, the input's dtype).
  torch::Tensor spikes;
  /// The membrane after each step [T, B, ...] (after its reset when reset_delay is false).
  torch::Tensor membrane;
};

/// Leaky integrate-and-fire neurons. With reset_delay (default), step t computes
///   U[t] = beta U[t-1] + X[t] - R[t] thr   (subtract; zero: beta (1 - R[t]) U[t-1] + X[t];
///                                           none: beta U[t-1] + X[t]),
///   S[t] = H(U[t] - thr),  R[t+1] = S[t]   (detached when reset_detach),
/// with U[-1] = 0 and R[0] = 0; H(0) = 0. The membrane is quantized after each update when
/// state_quant_bits > 0. Parameters or buffers `beta` and `threshold` ({} or {channels}). With
/// integer_state, step_integer() runs the integer LIF of integer_lif.h on the currents' codes.
class LeakyImpl : public torch::nn::Cloneable<LeakyImpl> {
 public:
  /// Neurons from options; invalid options are std::invalid_argument naming the option.
  explicit LeakyImpl(const LeakyOptions& options = {});

  /// (Re)creates beta and threshold from the options and clears the state.
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;

  /// forward_sequence(x): spikes [T, B, ...] for inputs [T, B, ...].
  torch::Tensor forward(const torch::Tensor& x) { return forward_sequence(x); }
  /// Spikes [T, B, ...] for input currents [T, B, ...] (T >= 1). The state is reset first, so
  /// every sequence (sample) starts from rest; it holds the last step's state afterwards.
  torch::Tensor forward_sequence(const torch::Tensor& x);
  /// Spikes and membrane trace of a sequence, as forward_sequence.
  LeakyTrace run(const torch::Tensor& x);

  /// Clears the membrane and the pending reset (the next step starts from rest).
  void reset_state();
  /// One time step: spikes for input currents [B, ...]; the membrane stays in the module. The
  /// first step after reset_state() fixes the shape; a different shape later is
  /// std::invalid_argument.
  torch::Tensor step(const torch::Tensor& x);
  /// The membrane after the last step (undefined at rest).
  const torch::Tensor& membrane() const { return membrane_; }

  /// The membrane quantizer's grid: levels ascending, {L} per layer or {C, L} per channel, for
  /// the current threshold; undefined when state_quant_bits is 0.
  torch::Tensor state_levels() const;
  /// `u` [B, ...] on the membrane grid (nearest level, values beyond the range clamped), with a
  /// straight-through gradient; `u` itself when state_quant_bits is 0.
  torch::Tensor quantize_state(const torch::Tensor& u) const;
  /// Changes the membrane quantizer's bits (0 turns it off); keeps the state.
  void set_state_quant_bits(int bits);

  /// Integer mode (integer_state): one step for currents `x` [B, ...] (float, with gradient)
  /// whose values are `current_step` * `codes` (`codes` integral, the zero point subtracted).
  /// The membrane follows the integer LIF exactly; membrane() is current_step * U_int with the
  /// float LIF's gradient (straight-through), the spikes are the integer spikes with the float
  /// LIF's surrogate gradient. Without integer_state, or after a float step() without
  /// reset_state(), std::invalid_argument.
  torch::Tensor step_integer(const torch::Tensor& x, const torch::Tensor& codes,
                             double current_step);
  /// Integer mode over a sequence: spikes and membrane of currents `x` [T, B, ...] with their
  /// `codes` on one grid step, from rest.
  LeakyTrace run_integer(const torch::Tensor& x, const torch::Tensor& codes, double current_step);
  /// The integer membrane U_int (int64) after the last step_integer (undefined otherwise).
  const torch::Tensor& integer_membrane() const { return membrane_int_; }

  /// The reset mechanism the options name.
  ResetMechanism mechanism() const { return mechanism_; }
  /// beta as used: clamped to [0, 1].
  torch::Tensor effective_beta() const { return beta.clamp(0.0, 1.0); }

  /// The options the layer was built with.
  LeakyOptions options;
  /// Decay: a parameter when learn_beta, else a buffer; {} or {channels}.
  torch::Tensor beta;
  /// Threshold: a parameter when learn_threshold, else a buffer; {} or {channels}.
  torch::Tensor threshold;

 private:
  // `t` ({} or {C}) shaped to broadcast against a step input of `dim` dimensions [B, C, ...].
  torch::Tensor along_channels(const torch::Tensor& t, int64_t dim) const;
  void check_input(const torch::Tensor& x, int64_t channel_dim, const char* what) const;

  ResetMechanism mechanism_ = ResetMechanism::kSubtract;
  torch::Tensor membrane_;
  torch::Tensor pending_reset_;
  // The integer state of integer mode (int64): membrane U_int and pending reset R.
  torch::Tensor membrane_int_;
  torch::Tensor pending_reset_int_;
};

/// Holder of LeakyImpl (the module form layers are used in).
TORCH_MODULE(Leaky);

}  // namespace lowbit::nn
