// The C++ reference executor of an IntegerModel: the integer arithmetic of docs/runtime.md,
// written independently of the C runtime, so the generated C can be checked against it exactly.
// Each op's arithmetic is its OpTraits::run (export/ops/); this class runs the graph and the
// time steps of a sequence model.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "lowbit/export/integer_model.h"

namespace lowbit::exporter {

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
