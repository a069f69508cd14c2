// Flash, RAM and multiply-accumulate accounting of an integer model as the generated C stores it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/export/integer_model.h"
#include "lowbit/export/target.h"

namespace lowbit::exporter {

/// Cost of one layer.
struct LayerCost {
  std::string name;          ///< Layer name.
  Shape output_shape;        ///< Output shape.
  int64_t weight_bytes = 0;  ///< Packed weights (rows padded to bytes).
  int64_t bias_bytes = 0;    ///< int32 biases (MCU form: the int16 or int32 constants).
  int64_t requant_bytes =
      0;             ///< Multipliers and shifts (8 bytes each; MCU form 5; concat 8 per input).
  int64_t macs = 0;  ///< Multiply-accumulates per sample (0 for pool, views, concat).
  int64_t output_bytes = 0;  ///< int8 output elements (0 for flatten/slice views).
  /// Bytes kept between time steps (LIF membranes and pending resets, time sums); 0 otherwise.
  int64_t state_bytes = 0;
  /// Alignment of the widest state member (LIF membranes: 2 or 4 bytes); 1 without state.
  int64_t state_alignment = 1;
  bool per_step = false;  ///< Runs once per time step (a sequence model's per-step layer).

  /// Constant data of the layer: weights + biases + requantization parameters.
  int64_t flash_bytes() const { return weight_bytes + bias_bytes + requant_bytes; }
};

/// Cost of a model.
struct ModelCost {
  std::vector<LayerCost> layers;     ///< Per layer, in model order.
  int64_t flash_bytes = 0;           ///< Sum of the layers' constant data.
  int64_t arena_bytes = 0;           ///< Activation arena (see MemoryPlan).
  int64_t kernel_scratch_bytes = 0;  ///< Largest operator scratch (see MemoryPlan).
  /// Scratch the caller passes to predict: arena + operator scratch, and for a sequence model the
  /// state too (state_struct_bytes + 3 bytes to align it).
  int64_t scratch_bytes = 0;
  int64_t input_bytes = 0;    ///< Input elements (int8) of one whole sample (all time steps).
  int64_t output_bytes = 0;   ///< Output elements (int8).
  int64_t macs = 0;           ///< Multiply-accumulates per sample (all time steps).
  int64_t time_steps = 0;     ///< The model's time steps (0: not a sequence model).
  int64_t macs_per_step = 0;  ///< Multiply-accumulates of the per-step layers for one time step.
  /// Bytes of the generated <prefix>_state_t: the layers' state_bytes, int32 membranes first,
  /// then int16, then bytes, the total rounded up to the widest member (C struct layout).
  int64_t state_struct_bytes = 0;
  /// Scratch <prefix>_step and <prefix>_finish take beside the state: arena + operator scratch.
  int64_t step_scratch_bytes = 0;
};

/// Accounts a model as the code for `target` stores it (validates it first; throws what
/// validate() throws). MCU targets store fully connected layers in their column form.
ModelCost model_cost(const IntegerModel& model, const Target& target = default_target());

}  // namespace lowbit::exporter
