// The trainer's side of data parallelism (docs/distributed.md): what each step adds when a stage
// runs on several processes. With one process every call is a no-op and changes nothing.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>

#include "lowbit/data/loader.h"
#include "lowbit/dist/communicator.h"

namespace lowbit::train {

/// One stage's data-parallel steps over a Communicator (none: one process).
///
/// Per step every rank takes its shard of the same seeded batch, averages the loss (so a
/// non-finite loss stops all ranks at the same batch), averages the gradients of all trainable
/// parameters in flat buckets before clipping and the optimizer step, and after the step averages
/// every floating-point buffer (observer statistics, batch-norm running statistics, OCTAV clips),
/// so that every rank holds the same state whenever it is used or frozen. On the step in which a
/// quantizer initialises a parameter from data (LSQ's first step size), the parameters are
/// averaged once as well.
class DataParallel {
 public:
  /// Steps over `comm` (nullptr: one process); gradients go in buckets of `bucket_bytes`.
  explicit DataParallel(dist::Communicator* comm, int64_t bucket_bytes = int64_t{25} << 20);

  /// More than one process.
  bool active() const { return comm_ != nullptr && comm_->world_size() > 1; }
  /// The rank that writes files (true for one process).
  bool is_root() const { return comm_ == nullptr || comm_->is_root(); }
  /// Number of processes.
  int world_size() const { return comm_ == nullptr ? 1 : comm_->world_size(); }
  /// This process's slice of every batch.
  void shard(data::LoaderOptions& options) const;
  /// Rank 0's parameters and buffers on every rank.
  void broadcast(torch::nn::Module& module);
  /// The mean of `loss` over the ranks (non-finite when any rank's is).
  double mean_loss(double loss);
  /// Averages the gradients (after backward, before clipping).
  void after_backward(torch::nn::Module& module);
  /// Averages the floating-point buffers, and the parameters on a data-initialising step.
  void after_step(torch::nn::Module& module);
  /// True on every rank when `flag` is true on any.
  bool any(bool flag);
  /// `a` and `b` summed over the ranks (the epoch's correct and total counts).
  void sum_counts(int64_t& a, int64_t& b);
  /// Averages the floating-point buffers (after batch-norm statistics were recomputed per rank).
  void average_buffers(torch::nn::Module& module);
  /// Seconds spent in gradient and buffer collectives so far, and the steps they cover.
  double comm_seconds() const { return comm_seconds_; }
  /// Steps taken.
  int64_t steps() const { return steps_; }

 private:
  dist::Communicator* comm_;
  int64_t bucket_bytes_;
  int64_t initialised_ = -1;
  double comm_seconds_ = 0.0;
  int64_t steps_ = 0;
};

}  // namespace lowbit::train
