// Where every activation of an integer model lives in the generated code's scratch buffer.
#pragma once

#include <cstdint>
#include <vector>

#include "lowbit/export/integer_model.h"
#include "lowbit/export/target.h"

namespace lowbit::exporter {

/// Which buffer a layer output is in.
enum class BufferKind {
  kModelInput,   ///< The caller's input (slices and flattens of the input are views of it).
  kArena,        ///< The activation arena at the start of scratch.
  kModelOutput,  ///< The caller's output (the last layer writes there directly).
  kState         ///< A sequence model's state (a time sum accumulates there across steps).
};

/// Location of one layer's output: a buffer and a byte offset into it.
struct BufferView {
  BufferKind kind = BufferKind::kArena;  ///< Which buffer.
  int64_t offset = 0;  ///< Byte offset into that buffer (-1: a fused conv2d, no buffer).
};

/// Placement of all activations. Buffers are placed first-fit by liveness: an output is placed
/// at the lowest offset that overlaps no buffer still to be read (the layer's own inputs are
/// still live, so outputs never overlap inputs); flatten and slice are views, no memory, and so
/// is a conv2d fused with its max pool (its inputs stay live until the pool is written). For a
/// plain chain this is the ping-pong of consecutive buffers. A time sum's output is its own state
/// (kState), not arena memory.
struct MemoryPlan {
  std::vector<BufferView> outputs;  ///< One per layer.
  /// One per layer: fuses_with_next(), decided once for the planner, codegen and cost.
  std::vector<bool> fused_with_next;
  int64_t arena_bytes = 0;  ///< Bytes of the activation arena.
  /// Largest operator scratch (fully connected input lanes, conv2d planes and kernel), as the
  /// runtime's lowbit_<op>_scratch_size() gives it; placed after the arena.
  int64_t kernel_scratch_bytes = 0;
  /// Total scratch the caller provides: arena_bytes + kernel_scratch_bytes (at least 1).
  int64_t scratch_bytes() const {
    return arena_bytes + kernel_scratch_bytes > 0 ? arena_bytes + kernel_scratch_bytes : 1;
  }
};

/// Whether layer `index` (a conv2d) and the next layer (a max pool of its output, its only
/// reader) run as one lowbit_conv2d_max_pool_s8 call: the runtime pools the int32 sums and
/// requantizes only pooled outputs, bit for bit the two operators in turn, and the conv2d's
/// int8 output never takes arena memory.
bool fuses_with_next(const IntegerModel& model, size_t index);

/// Scratch bytes the runtime needs for one operator (0 for operators without scratch): the
/// runtime's own lowbit_fc_scratch_size() / lowbit_conv2d_scratch_size(), so the two never
/// disagree; `fused_pool` is the max pool a conv2d is fused with (see fuses_with_next), if any.
/// The op must have passed validate().
int64_t op_scratch_bytes(const Op& op, const Pool* fused_pool = nullptr);

/// Scratch bytes layer `index` needs on `target`: op_scratch_bytes, or the MCU kernels' scratch
/// for a fully connected layer an MCU target runs on them (mcu_fc_supported).
int64_t layer_scratch_bytes(const IntegerModel& model, size_t index, const Target& target);

/// Plans the buffers of a validated model for `target`; `shapes` are validate()'s output shapes.
MemoryPlan plan_memory(const IntegerModel& model, const std::vector<Shape>& shapes,
                       const Target& target = default_target());

}  // namespace lowbit::exporter
