#include "lowbit/export/model_cost.h"

#include "lowbit/export/memory_plan.h"

#include <algorithm>

namespace lowbit::exporter {

ModelCost model_cost(const IntegerModel& model, const Target& target) {
  const std::vector<Shape> shapes = validate(model);
  const MemoryPlan plan = plan_memory(model, shapes, target);
  const std::vector<bool> per_step = per_step_layers(model);
  ModelCost cost;
  int64_t widest_state = 1;
  int64_t state_sum = 0;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& layer = model.layers[i];
    LayerCost lc;
    lc.per_step = per_step[i];
    lc.name = layer.name;
    lc.output_shape = shapes[i];
    lc.output_bytes = shapes[i].size();
    const CostContext context{model, i, shapes, target, plan};
    visit_op(layer.op,
             [&](auto traits, const auto& op) { decltype(traits)::cost(context, op, lc); });
    widest_state = std::max(widest_state, lc.state_alignment);
    cost.flash_bytes += lc.flash_bytes();
    const int64_t repeats = per_step[i] ? model.time_steps : 1;
    cost.macs += lc.macs * repeats;
    if (per_step[i]) cost.macs_per_step += lc.macs;
    state_sum += lc.state_bytes;
    cost.layers.push_back(lc);
  }
  cost.time_steps = model.time_steps;
  if (state_sum > 0) {
    cost.state_struct_bytes = (state_sum + widest_state - 1) / widest_state * widest_state;
  }
  cost.arena_bytes = plan.arena_bytes;
  cost.kernel_scratch_bytes = plan.kernel_scratch_bytes;
  cost.step_scratch_bytes = plan.scratch_bytes();
  cost.scratch_bytes = plan.scratch_bytes();
  if (model.time_steps > 0) {
    cost.scratch_bytes = plan.arena_bytes + plan.kernel_scratch_bytes + cost.state_struct_bytes + 3;
  }
  cost.input_bytes = sample_input_size(model);
  cost.output_bytes = shapes.back().size();
  return cost;
}

}  // namespace lowbit::exporter
