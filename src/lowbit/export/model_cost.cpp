#include "lowbit/export/model_cost.h"

#include "lowbit/export/mcu_fully_connected.h"
#include "lowbit/export/memory_plan.h"
#include "lowbit/export/packing.h"

namespace lowbit::exporter {

ModelCost model_cost(const IntegerModel& model, const Target& target) {
  const std::vector<Shape> shapes = validate(model);
  const MemoryPlan plan = plan_memory(model, shapes, target);
  ModelCost cost;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& layer = model.layers[i];
    LayerCost lc;
    lc.name = layer.name;
    lc.output_shape = shapes[i];
    lc.output_bytes = shapes[i].size();
    std::visit(OpVisitor{
                   [&](const FullyConnected& fc) {
                     lc.macs = fc.in_features * fc.out_features;
                     if (target.family == KernelFamily::kMcu && mcu_fc_supported(model, i)) {
                       const McuFullyConnected mcu = mcu_fully_connected(model, i);
                       lc.weight_bytes = static_cast<int64_t>(mcu.columns.size());
                       lc.bias_bytes = static_cast<int64_t>(mcu.constants.size()) *
                                       (mcu.constants_fit_int16 ? 2 : 4);
                       lc.requant_bytes = 5 * static_cast<int64_t>(mcu.m.size());
                       return;
                     }
                     lc.weight_bytes = packed_size(fc.format, fc.out_features, fc.in_features);
                     lc.bias_bytes = 4 * static_cast<int64_t>(fc.bias.size());
                     lc.requant_bytes = 8 * static_cast<int64_t>(fc.requant.multiplier.size());
                   },
                   [&](const Conv2d& conv) {
                     lc.weight_bytes =
                         packed_size(conv.format, conv.out_channels, conv.row_length());
                     lc.bias_bytes = 4 * static_cast<int64_t>(conv.bias.size());
                     lc.requant_bytes = 8 * static_cast<int64_t>(conv.requant.multiplier.size());
                     lc.macs = shapes[i].size() * conv.row_length();
                     if (plan.fused_with_next[i])
                       lc.output_bytes = 0;  // pooled before it is stored
                   },
                   [&](const Pool&) {},
                   // Flatten and slice are views of their producer.
                   [&](const Flatten&) { lc.output_bytes = 0; },
                   [&](const Slice&) { lc.output_bytes = 0; },
                   [&](const Concat& cat) {
                     lc.requant_bytes = 8 * static_cast<int64_t>(cat.inputs.size());
                   },
                   // Two multipliers and a shift; one multiply-add per input element.
                   [&](const Add&) {
                     lc.requant_bytes = 12;
                     lc.macs = 2 * shapes[i].size();
                   },
               },
               layer.op);
    cost.flash_bytes += lc.flash_bytes();
    cost.macs += lc.macs;
    cost.layers.push_back(lc);
  }
  cost.arena_bytes = plan.arena_bytes;
  cost.kernel_scratch_bytes = plan.kernel_scratch_bytes;
  cost.scratch_bytes = plan.scratch_bytes();
  cost.input_bytes = model.input_shape.size();
  cost.output_bytes = shapes.back().size();
  return cost;
}

}  // namespace lowbit::exporter
