#include "lowbit/export/model_cost.h"

#include "lowbit/export/mcu_fully_connected.h"
#include "lowbit/export/memory_plan.h"
#include "lowbit/export/packing.h"

#include <algorithm>

namespace lowbit::exporter {

namespace {

// Taps of a transposed convolution along one axis: the (output, kernel) pairs that land on an
// input position, over the cropped output.
int64_t transposed_taps(int64_t out, int64_t kernel, int64_t stride, int64_t pad, int64_t in) {
  int64_t taps = 0;
  for (int64_t y = 0; y < out; ++y) {
    for (int64_t k = 0; k < kernel; ++k) {
      const int64_t n = y + pad - k;
      if (n >= 0 && n % stride == 0 && n / stride < in) ++taps;
    }
  }
  return taps;
}

}  // namespace

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
    std::visit(
        OpVisitor{
            [&](const FullyConnected& fc) {
              lc.macs = fc.in_features * fc.out_features;
              if (target.family == KernelFamily::kMcu && mcu_fc_supported(model, i)) {
                const McuFullyConnected mcu = mcu_fully_connected(model, i);
                lc.weight_bytes = static_cast<int64_t>(mcu.columns.size());
                lc.bias_bytes =
                    static_cast<int64_t>(mcu.constants.size()) * (mcu.constants_fit_int16 ? 2 : 4);
                lc.requant_bytes = 5 * static_cast<int64_t>(mcu.m.size());
                return;
              }
              lc.weight_bytes = packed_size(fc.format, fc.out_features, fc.in_features);
              lc.bias_bytes = 4 * static_cast<int64_t>(fc.bias.size());
              lc.requant_bytes = 8 * static_cast<int64_t>(fc.requant.multiplier.size());
            },
            [&](const Conv2d& conv) {
              lc.weight_bytes = packed_size(conv.format, conv.out_channels, conv.row_length());
              lc.bias_bytes = 4 * static_cast<int64_t>(conv.bias.size());
              lc.requant_bytes = 8 * static_cast<int64_t>(conv.requant.multiplier.size());
              lc.macs = shapes[i].size() * conv.row_length();
              if (plan.fused_with_next[i]) lc.output_bytes = 0;  // pooled before it is stored
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
            [&](const ConvTranspose2d& up) {
              lc.weight_bytes = packed_size(up.format, up.out_channels, up.row_length());
              lc.bias_bytes = 4 * static_cast<int64_t>(up.bias.size());
              lc.requant_bytes = 8 * static_cast<int64_t>(up.requant.multiplier.size());
              lc.macs =
                  up.in_channels * up.out_channels *
                  transposed_taps(up.out_height, up.kernel_h, up.stride_h, up.pad_top,
                                  up.in_height) *
                  transposed_taps(up.out_width, up.kernel_w, up.stride_w, up.pad_left, up.in_width);
            },
            // The slope is a literal in the call.
            [&](const LeakyRelu&) {},
            // Thresholds and Q15 leaks are int32 constants (a shift leak stores none); the state
            // is RAM.
            [&](const Lif& lif) {
              const size_t leaks = lif.leak_shift == 0 ? lif.beta_q15.size() : 0;
              lc.requant_bytes = 4 * static_cast<int64_t>(lif.threshold.size() + leaks);
              lc.state_bytes = lif_state_bytes(lif);
              widest_state = std::max<int64_t>(widest_state, lif.membrane_bits / 8);
            },
            // The sum lives in the state, not in the arena.
            [&](const TimeSum&) {
              lc.state_bytes = shapes[i].size();
              lc.output_bytes = 0;
            },
        },
        layer.op);
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
