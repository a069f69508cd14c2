// The C++ reference executor of an IntegerModel: the integer arithmetic of docs/runtime.md,
// written independently of the C runtime, so the generated C can be checked against it exactly.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter {

/// Requantizes an accumulator: clamp(round_half_away(acc * multiplier / 2^(31 - shift)) + zp,
/// act_min, act_max), exact in 64 bits.
int8_t reference_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point,
                            int32_t act_min, int32_t act_max);

/// One element of an Add: clamp(round_half_away((a * multiplier_a + b * multiplier_b) *
/// 2^(shift - 31)) + zero_point, act_min, act_max) for zero-point-free inputs a and b, exact.
int8_t reference_add(int32_t a, int32_t b, const Add& add, int32_t zero_point);

/// One LIF step of one neuron (docs/runtime.md, "Spiking operators"): updates the membrane and
/// the pending reset from the current (the input code minus its zero point) with the layer's
/// constants for the neuron's channel; returns the spike (0 or 1).
int8_t reference_lif_step(int32_t current, const Lif& lif, int64_t channel, int64_t& membrane,
                          uint8_t& pending_reset);

/// Leaky ReLU of one int8 code with zero point `zero_point` (see LeakyRelu).
int8_t reference_leaky_relu(int8_t x, int32_t zero_point, int32_t slope_q15);

/// Runs a validated model on a whole batch of samples. A sequence model runs each sample from
/// rest: its state is cleared, the per-step layers run on each of its time_steps frames, then the
/// layers after the sequence run once.
class ReferenceExecutor {
 public:
  /// Validates `model` (throws what validate() throws) and keeps a copy.
  explicit ReferenceExecutor(IntegerModel model);

  /// int8 elements of one input sample (all its time steps).
  int64_t input_size() const { return sample_input_size(model_); }
  /// int8 elements of one output sample.
  int64_t output_size() const { return shapes_.back().size(); }

  /// Sees every value a run computes: (kModelInput, frame) for each input frame, then (layer
  /// index, output) for each layer each time it runs (per-step layers once per time step).
  using Observer = std::function<void(int layer, const std::vector<int8_t>& values)>;

  /// Runs one sample; throws std::invalid_argument if input has not input_size() elements.
  std::vector<int8_t> run(const std::vector<int8_t>& input,
                          const Observer& observer = nullptr) const;

  /// Runs `samples` samples stored back to back; returns their outputs back to back.
  std::vector<int8_t> run_batch(const std::vector<int8_t>& inputs, int64_t samples) const;

 private:
  struct State;
  // Runs layer `index` on `frame` (the model input it reads) into outputs[index].
  void run_layer(size_t index, const std::vector<int8_t>& frame,
                 std::vector<std::vector<int8_t>>& outputs, State& state) const;

  IntegerModel model_;
  std::vector<Shape> shapes_;
  std::vector<bool> per_step_;
};

}  // namespace lowbit::exporter
