#include "lowbit/export/memory_plan.h"

#include "lowbit/export/mcu_fully_connected.h"

#include <algorithm>
#include <utility>

#include "lowbit_runtime.h"

namespace lowbit::exporter {

namespace {

bool is_view(const Op& op) {
  return std::holds_alternative<Flatten>(op) || std::holds_alternative<Slice>(op);
}

lowbit_format_t runtime_format(WeightFormat format) {
  return static_cast<lowbit_format_t>(static_cast<int>(format));
}

// The runtime's view of a conv2d (requantization left empty: scratch does not depend on it).
lowbit_conv2d_params_t runtime_params(const Conv2d& conv) {
  lowbit_conv2d_params_t p{};
  p.in_channels = static_cast<size_t>(conv.in_channels);
  p.in_height = static_cast<size_t>(conv.in_height);
  p.in_width = static_cast<size_t>(conv.in_width);
  p.out_channels = static_cast<size_t>(conv.out_channels);
  p.kernel_h = static_cast<size_t>(conv.kernel_h);
  p.kernel_w = static_cast<size_t>(conv.kernel_w);
  p.stride_h = static_cast<size_t>(conv.stride_h);
  p.stride_w = static_cast<size_t>(conv.stride_w);
  p.pad_top = static_cast<size_t>(conv.pad_top);
  p.pad_bottom = static_cast<size_t>(conv.pad_bottom);
  p.pad_left = static_cast<size_t>(conv.pad_left);
  p.pad_right = static_cast<size_t>(conv.pad_right);
  p.groups = static_cast<size_t>(conv.groups);
  p.weight_format = runtime_format(conv.format);
  return p;
}

// The runtime's view of a pool.
lowbit_pool_params_t runtime_params(const Pool& pool) {
  lowbit_pool_params_t p{};
  p.channels = static_cast<size_t>(pool.channels);
  p.in_height = static_cast<size_t>(pool.in_height);
  p.in_width = static_cast<size_t>(pool.in_width);
  p.kernel_h = static_cast<size_t>(pool.kernel_h);
  p.kernel_w = static_cast<size_t>(pool.kernel_w);
  p.stride_h = static_cast<size_t>(pool.stride_h);
  p.stride_w = static_cast<size_t>(pool.stride_w);
  p.pad_top = static_cast<size_t>(pool.pad_top);
  p.pad_bottom = static_cast<size_t>(pool.pad_bottom);
  p.pad_left = static_cast<size_t>(pool.pad_left);
  p.pad_right = static_cast<size_t>(pool.pad_right);
  return p;
}

}  // namespace

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
  return std::visit(
      OpVisitor{
          [](const FullyConnected& fc) {
            lowbit_fc_params_t params{};
            params.batch = 1;
            params.in_features = static_cast<size_t>(fc.in_features);
            params.out_features = static_cast<size_t>(fc.out_features);
            params.weight_format = runtime_format(fc.format);
            return static_cast<int64_t>(lowbit_fc_scratch_size(&params));
          },
          [&](const Conv2d& conv) {
            const lowbit_conv2d_params_t params = runtime_params(conv);
            if (fused_pool == nullptr) {
              return static_cast<int64_t>(lowbit_conv2d_scratch_size(&params));
            }
            const lowbit_pool_params_t pool = runtime_params(*fused_pool);
            return static_cast<int64_t>(lowbit_conv2d_max_pool_scratch_size(&params, &pool));
          },
          // The pools, views, concat and add need no scratch of their own.
          [](const Pool&) { return int64_t{0}; },
          [](const Flatten&) { return int64_t{0}; },
          [](const Slice&) { return int64_t{0}; },
          [](const Concat&) { return int64_t{0}; },
          [](const Add&) { return int64_t{0}; },
          [](const ConvTranspose2d& up) {
            lowbit_conv_transpose2d_params_t params{};
            params.in_channels = static_cast<size_t>(up.in_channels);
            params.in_height = static_cast<size_t>(up.in_height);
            params.in_width = static_cast<size_t>(up.in_width);
            params.out_channels = static_cast<size_t>(up.out_channels);
            params.out_height = static_cast<size_t>(up.out_height);
            params.out_width = static_cast<size_t>(up.out_width);
            params.kernel_h = static_cast<size_t>(up.kernel_h);
            params.kernel_w = static_cast<size_t>(up.kernel_w);
            params.stride_h = static_cast<size_t>(up.stride_h);
            params.stride_w = static_cast<size_t>(up.stride_w);
            params.pad_top = static_cast<size_t>(up.pad_top);
            params.pad_left = static_cast<size_t>(up.pad_left);
            params.weight_format = runtime_format(up.format);
            return static_cast<int64_t>(lowbit_conv_transpose2d_scratch_size(&params));
          },
          // Element-wise spiking and activation steps work in place on their buffers.
          [](const LeakyRelu&) { return int64_t{0}; },
          [](const Lif&) { return int64_t{0}; },
          [](const TimeSum&) { return int64_t{0}; },
      },
      op);
}

int64_t layer_scratch_bytes(const IntegerModel& model, size_t index, const Target& target) {
  const Op& op = model.layers[index].op;
  if (target.family == KernelFamily::kMcu && mcu_fc_supported(model, index)) {
    return mcu_fc_scratch_bytes(std::get<FullyConnected>(op));
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
        is_view(layer.op)
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
    if (is_view(layer.op)) {
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
    if (std::holds_alternative<TimeSum>(layer.op)) {
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
