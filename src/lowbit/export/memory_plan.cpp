#include "lowbit/export/memory_plan.h"

#include "lowbit/export/mcu_conv.h"
#include "lowbit/export/mcu_fully_connected.h"

#include <algorithm>
#include <utility>

namespace lowbit::exporter {

bool fuses_with_next(const IntegerModel& model, size_t index) {
  if (index + 1 >= model.layers.size()) return false;
  if (!std::holds_alternative<Conv2d>(model.layers[index].op)) return false;
  const Layer& next = model.layers[index + 1];
  const auto* pool = std::get_if<Pool>(&next.op);
  if (pool == nullptr || pool->average ||
      next.inputs != std::vector<int>{static_cast<int>(index)}) {
    return false;
  }
  for (size_t j = index + 2; j < model.layers.size(); ++j) {
    for (int producer : model.layers[j].inputs) {
      if (producer == static_cast<int>(index)) return false;
    }
  }
  return true;
}

int64_t op_scratch_bytes(const Op& op, const Pool* fused_pool) {
  return visit_op(op, [&](auto traits, const auto& o) {
    return decltype(traits)::scratch_bytes(o, fused_pool);
  });
}

int64_t layer_scratch_bytes(const IntegerModel& model, size_t index, const Target& target) {
  const Op& op = model.layers[index].op;
  if (target.family == KernelFamily::kMcu && mcu_fc_supported(model, index)) {
    const auto& fc = std::get<FullyConnected>(op);
    return mcu_fc_scratch_bytes(fc.format, fc.out_features);
  }
  if (target.family == KernelFamily::kMcu && mcu_dynshift_form(model, index)) {
    const auto& fc = std::get<DynamicShiftDense>(op);
    return mcu_fc_scratch_bytes(fc.format, fc.out_features);
  }
  if (mcu_conv_supported(target, model, index)) {
    return mcu_conv_scratch_bytes(std::get<Conv2d>(op));
  }
  const bool fused = fuses_with_next(model, index);
  return op_scratch_bytes(op, fused ? &std::get<Pool>(model.layers[index + 1].op) : nullptr);
}

MemoryPlan plan_memory(const IntegerModel& model, const std::vector<Shape>& shapes,
                       const Target& target) {
  const int count = static_cast<int>(model.layers.size());
  MemoryPlan plan;
  plan.outputs.resize(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    plan.fused_with_next.push_back(fuses_with_next(model, static_cast<size_t>(i)));
  }
  // root[i]: the computing layer (or kModelInput) whose buffer layer i's output lives in.
  std::vector<int> root(static_cast<size_t>(count));
  std::vector<int> last_use(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const Layer& layer = model.layers[static_cast<size_t>(i)];
    last_use[static_cast<size_t>(i)] = i;
    root[static_cast<size_t>(i)] =
        op_is_view(layer.op)
            ? (layer.inputs[0] == kModelInput ? kModelInput
                                              : root[static_cast<size_t>(layer.inputs[0])])
            : i;
    // A fused conv2d reads its inputs while the pool after it writes.
    const int reader = plan.fused_with_next[static_cast<size_t>(i)] ? i + 1 : i;
    for (int producer : layer.inputs) {
      if (producer == kModelInput) continue;
      const int base = root[static_cast<size_t>(producer)];
      if (base != kModelInput) {
        last_use[static_cast<size_t>(base)] = std::max(last_use[static_cast<size_t>(base)], reader);
      }
    }
  }
  // Live arena blocks: (offset, end, owner layer).
  struct Block {
    int64_t offset;
    int64_t end;
    int owner;
  };
  std::vector<Block> live;
  for (int i = 0; i < count; ++i) {
    const Layer& layer = model.layers[static_cast<size_t>(i)];
    const bool fused = plan.fused_with_next[static_cast<size_t>(i)];
    // A pool fused into the conv before it has no scratch of its own (op_scratch_bytes is 0).
    plan.kernel_scratch_bytes = std::max(
        plan.kernel_scratch_bytes, layer_scratch_bytes(model, static_cast<size_t>(i), target));
    if (fused) {
      // No int8 output: the fused call writes the pool's output directly.
      plan.outputs[static_cast<size_t>(i)] = {BufferKind::kArena, -1};
      continue;
    }
    if (op_is_view(layer.op)) {
      const int producer = layer.inputs[0];
      BufferView view = producer == kModelInput ? BufferView{BufferKind::kModelInput, 0}
                                                : plan.outputs[static_cast<size_t>(producer)];
      if (const auto* slice = std::get_if<Slice>(&layer.op)) view.offset += slice->offset;
      plan.outputs[static_cast<size_t>(i)] = view;
      continue;
    }
    if (i == count - 1) {
      plan.outputs[static_cast<size_t>(i)] = {BufferKind::kModelOutput, 0};
      continue;
    }
    // The op that closes a sequence (a time sum) accumulates in the state, across steps.
    if (visit_op(layer.op,
                 [](auto traits, const auto&) { return decltype(traits)::kEndsSequence; })) {
      plan.outputs[static_cast<size_t>(i)] = {BufferKind::kState, 0};
      continue;
    }
    live.erase(
        std::remove_if(live.begin(), live.end(),
                       [&](const Block& b) { return last_use[static_cast<size_t>(b.owner)] < i; }),
        live.end());
    std::sort(live.begin(), live.end(),
              [](const Block& a, const Block& b) { return a.offset < b.offset; });
    const int64_t size = shapes[static_cast<size_t>(i)].size();
    int64_t offset = 0;
    for (const Block& block : live) {
      if (offset + size <= block.offset) break;
      offset = std::max(offset, block.end);
    }
    live.push_back({offset, offset + size, i});
    plan.outputs[static_cast<size_t>(i)] = {BufferKind::kArena, offset};
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
  }
  return plan;
}

}  // namespace lowbit::exporter
