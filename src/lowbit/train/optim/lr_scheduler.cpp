#include "lowbit/train/optim/lr_scheduler.h"

#include <stdexcept>
#include <string>
#include <utility>

namespace lowbit::train {

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double learning_rate(torch::optim::Optimizer& optimizer, size_t group) {
  auto& groups = optimizer.param_groups();
  if (group >= groups.size()) {
    throw std::out_of_range("learning_rate: param group " + std::to_string(group) +
                            " does not exist (the optimizer has " + std::to_string(groups.size()) +
                            ")");
  }
  return groups[group].options().get_lr();
}

LrScheduler::LrScheduler(torch::optim::Optimizer& optimizer, LrScheduleConfig config,
                         int64_t total_epochs, int64_t steps_per_epoch)
    : optimizer_(optimizer),
      config_(std::move(config)),
      total_epochs_(total_epochs),
      steps_per_epoch_(steps_per_epoch) {
  validate_lr_schedule(config_, static_cast<double>(total_epochs_));
  if (steps_per_epoch_ < 1) {
    throw std::invalid_argument("LrScheduler: steps_per_epoch must be >= 1, got " +
                                std::to_string(steps_per_epoch_));
  }
  for (auto& group : optimizer_.param_groups()) {
    const double lr = group.options().get_lr();
    if (!(lr > 0.0)) {
      throw std::invalid_argument("LrScheduler: every param group needs a base LR > 0, got " +
                                  std::to_string(lr));
    }
    base_lrs_.push_back(lr);
  }
  if (base_lrs_.empty())
    throw std::invalid_argument("LrScheduler: the optimizer has no param groups");
}

double LrScheduler::time_of(int64_t epoch, int64_t step) const {
  if (!per_step()) return static_cast<double>(epoch);
  return static_cast<double>(epoch) +
         static_cast<double>(step) / static_cast<double>(steps_per_epoch_);
}

double LrScheduler::apply(int64_t epoch, int64_t step) {
  const double first =
      scheduled_lr(config_, time_of(epoch, step), static_cast<double>(total_epochs_), base_lrs_[0]);
  const double multiplier = first / base_lrs_[0];
  auto& groups = optimizer_.param_groups();
  if (groups.size() != base_lrs_.size()) {
    throw std::logic_error("LrScheduler: the optimizer had " + std::to_string(base_lrs_.size()) +
                           " param groups when the scheduler was made and has " +
                           std::to_string(groups.size()) + " now");
  }
  for (size_t i = 0; i < groups.size(); ++i) {
    groups[i].options().set_lr(i == 0 ? first : base_lrs_[i] * multiplier);
  }
  return first;
}

}  // namespace lowbit::train
