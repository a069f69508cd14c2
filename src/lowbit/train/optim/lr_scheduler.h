// Applies an LrScheduleConfig to a LibTorch optimizer: remembers each param group's base LR and
// sets every group's LR for a given epoch (and step, for per-step schedules).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/optim/optimizer.h>

#include "lowbit/train/optim/lr_curve.h"

namespace lowbit::train {

/// Sets the LR of every param group of `optimizer` (SGD, Adam, AdamW, RMSprop, Adagrad, LBFGS).
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

/// The LR of param group `group`; throws std::out_of_range if there is no such group.
double learning_rate(torch::optim::Optimizer& optimizer, size_t group = 0);

/// Drives one optimizer's LRs along a schedule over one stage.
class LrScheduler {
 public:
  /// Captures the groups' current LRs as base LRs; `steps_per_epoch` (>= 1) converts steps to
  /// fractional epochs for per-step schedules. Throws std::invalid_argument on a bad schedule,
  /// a non-positive base LR or steps_per_epoch < 1.
  LrScheduler(torch::optim::Optimizer& optimizer, LrScheduleConfig config, int64_t total_epochs,
              int64_t steps_per_epoch);

  /// The schedule time of step `step` of epoch `epoch` (0-based): the epoch index for per-epoch
  /// schedules, epoch + step / steps_per_epoch for per-step ones.
  double time_of(int64_t epoch, int64_t step) const;

  /// Sets the LRs for step `step` of epoch `epoch` and returns the first group's LR. Every group
  /// follows the first group's curve scaled by its own base LR, so LR ratios between groups stay.
  double apply(int64_t epoch, int64_t step = 0);

  /// True if the LR can change within an epoch (so apply() must be called every step).
  bool per_step() const { return config_.update == LrUpdate::kStep; }

  /// The base LR of each param group, captured at construction.
  const std::vector<double>& base_lrs() const { return base_lrs_; }

 private:
  torch::optim::Optimizer& optimizer_;
  LrScheduleConfig config_;
  int64_t total_epochs_;
  int64_t steps_per_epoch_;
  std::vector<double> base_lrs_;
};

}  // namespace lowbit::train
