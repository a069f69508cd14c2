// How busy a sequence model is on real inputs: the spike rate of each LIF layer and the synaptic
// operations per time step (the multiply-accumulates whose input is not zero, the work an
// event-driven kernel does), measured with the C++ reference executor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter {

/// The spike rate of one LIF layer.
struct SpikeRate {
  std::string layer;  ///< The LIF layer's name.
  double rate = 0;    ///< Mean share of its neurons that spike in a time step.
};

/// Activity of a sequence model over a batch of samples.
struct SequenceActivity {
  int64_t samples = 0;                 ///< Samples measured.
  std::vector<SpikeRate> spike_rates;  ///< One per LIF layer, in model order.
  /// Dense multiply-accumulates of the per-step layers in one time step (ModelCost's).
  int64_t macs_per_step = 0;
  /// The part of macs_per_step in layers with weights (conv, dense): what synaptic operations
  /// are a share of.
  int64_t weighted_macs_per_step = 0;
  /// Per time step, the sum over per-step layers with weights of their MACs times the share of
  /// their input codes that are not at the input's zero point (a spike, an event), averaged over
  /// the samples.
  double synaptic_ops_per_step = 0;
};

/// Runs `samples` samples stored back to back through the reference executor of `model` (a
/// sequence model; std::invalid_argument otherwise) and measures its activity.
SequenceActivity measure_activity(const IntegerModel& model, const std::vector<int8_t>& inputs,
                                  int64_t samples);

}  // namespace lowbit::exporter
