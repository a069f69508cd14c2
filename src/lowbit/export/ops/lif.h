// The leaky integrate-and-fire op: spiking neurons with state across time steps.
#pragma once

#include "lowbit/export/ops/op_base.h"

namespace lowbit::exporter {

/// How a LIF neuron's membrane is reset after a spike; values equal lowbit_lif_reset_t.
enum class LifReset { kSubtract = 0, kZero = 1, kNone = 2 };

/// Stable lower-case name of a LIF reset ("subtract", "zero", "none").
const char* lif_reset_name(LifReset reset);

/// Leaky integrate-and-fire neurons, one per element of its input (the current, int8 codes of
/// its grid): membrane U (int16 or int32) and a pending reset carried from step to step in the
/// model's state; spikes {0, 1} out (scale 1, zero point 0). The arithmetic of one step is in
/// docs/runtime.md ("Spiking operators"); per layer or per channel threshold and leak.
struct Lif {
  int64_t channels = 0;            ///< C.
  int64_t plane = 0;               ///< H * W elements per channel.
  std::vector<int32_t> threshold;  ///< 1 or C thresholds >= 1 in units of the current's step.
  /// 1 or C leaks in Q15 ([0, 32768]), U <- round_half_up(U * beta_q15 / 2^15); unused (may be
  /// empty) when leak_shift > 0.
  std::vector<int32_t> beta_q15;
  int leak_shift = 0;                    ///< k in 1..15: U <- U - floor(U / 2^k); 0: beta_q15.
  int membrane_bits = 16;                ///< 16 or 32: the membrane's type; updates saturate.
  LifReset reset = LifReset::kSubtract;  ///< Reset after a spike.
  bool reset_delay = true;  ///< The reset lands at the next step (snnTorch) or the same one.
};

/// Bytes of state one LIF layer keeps between steps: its membranes (2 or 4 bytes each) and, with
/// reset_delay, one pending-reset byte per neuron.
int64_t lif_state_bytes(const Lif& lif);

/// One LIF step of one neuron (docs/runtime.md, "Spiking operators"): updates the membrane and
/// the pending reset from the current (the input code minus its zero point) with the layer's
/// constants for the neuron's channel; returns the spike (0 or 1).
int8_t reference_lif_step(int32_t current, const Lif& lif, int64_t channel, int64_t& membrane,
                          uint8_t& pending_reset);

/// Everything the passes know of a LIF layer (see OpTraits).
template <>
struct OpTraits<Lif> : OpTraitsDefaults {
  static constexpr const char* kName = "lif";  ///< Table name.
  static constexpr bool kStateful = true;      ///< Membranes and pending resets.
  /// "lif".
  static const char* c_name(const Lif&) { return "lif"; }
  /// Checks the constants (spikes: scale 1, zero point 0); the input's shape.
  static Shape output_shape(const ValidateContext& c, const Lif& lif);
  /// reference_lif_step per neuron.
  static void run(const RunContext& c, const Lif& lif);
  /// Spikes are 0 or 1.
  static std::optional<int32_t> value_floor(const Lif&) { return 0; }
  /// Thresholds and Q15 leaks are int32 constants (a shift leak stores none); the state is RAM.
  static void cost(const CostContext& c, const Lif& lif, LayerCost& cost);
  /// A membrane and a pending reset per neuron.
  static int64_t reference_state_size(const Lif&, const Shape& shape) { return 2 * shape.size(); }
  /// Constants, parameters and the step call.
  static bool emit_c(const CEmitContext& c, const Lif& lif);
  /// The membranes (int16 or int32) and, with reset_delay, the pending resets (uint8).
  static void c_state_members(const CStateContext& c, const Lif& lif);
  /// The constants.
  static void describe(const JsonContext& c, const Lif& lif, nlohmann::json& j);
};

}  // namespace lowbit::exporter
