// Learning-rate schedules as pure functions of the (possibly fractional) epoch. The training loop
// asks for the LR at epoch t (t = epoch index, or epoch + step / steps_per_epoch when the schedule
// updates every step) and a LrScheduler writes it into the optimizer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/config/config_reader.h"

namespace lowbit::train {

/// The shape of the LR curve after the optional warm-up.
enum class LrScheduleType {
  kConstant,        ///< lr0
  kStep,            ///< lr0 * gamma^floor(t / step_size)
  kMultiStep,       ///< lr0 * gamma^(number of milestones <= t)
  kPolynomial,      ///< Keras PolynomialDecay: (lr0 - end_lr) * (1 - t/T)^power + end_lr
  kCosine,          ///< eta_min + (lr0 - eta_min) * (1 + cos(pi t / T)) / 2
  kCosineRestarts,  ///< SGDR: cosine over periods t_0, t_0 * t_mult, t_0 * t_mult^2, ...
  kTwoStep,         ///< BitNetMCU: cosine, multiplied by `factor` from epoch `halve_epoch` on
};

/// How often the LR changes: once per epoch (t is the epoch index) or every optimizer step.
enum class LrUpdate {
  kEpoch,  ///< t = epoch index; the LR is constant within an epoch (default, like PyTorch
           ///< schedulers)
  kStep,   ///< t = epoch + step / steps_per_epoch (like Keras schedules, which count steps)
};

/// Every parameter of a schedule; the fields a type does not use are ignored. Epoch counts of the
/// main schedule (step_size, milestones, t_0, halve_epoch, decay_epochs) start after the warm-up.
struct LrScheduleConfig {
  /// The curve after the warm-up.
  LrScheduleType type = LrScheduleType::kConstant;
  /// Per-epoch or per-step updates.
  LrUpdate update = LrUpdate::kEpoch;
  /// kStep: epochs between decays.
  double step_size = 1.0;
  /// kStep, kMultiStep: decay factor.
  double gamma = 0.1;
  /// kMultiStep: increasing epochs at which the LR is multiplied by gamma.
  std::vector<double> milestones;
  /// kPolynomial: exponent (2 in the smart-pixel seeds).
  double power = 1.0;
  /// kPolynomial: the LR reached at the end of the decay (absolute, as in Keras).
  double end_lr = 0.0;
  /// kCosine, kCosineRestarts, kTwoStep: the lowest LR of the cosine (absolute).
  double eta_min = 0.0;
  /// kCosineRestarts: length of the first period in epochs.
  double t_0 = 10.0;
  /// kCosineRestarts: each period is this many times longer than the previous one (>= 1).
  double t_mult = 1.0;
  /// kTwoStep: epoch from which the LR is multiplied by `factor`; < 0 means half the decay.
  double halve_epoch = -1.0;
  /// kTwoStep: the multiplier applied from halve_epoch on (0.5 halves the LR).
  double factor = 0.5;
  /// kPolynomial, kCosine, kTwoStep: epochs over which the LR decays; < 0 means all epochs after
  /// the warm-up. Past the end the LR stays at the final value.
  double decay_epochs = -1.0;
  /// Epochs of linear warm-up in front of the schedule (0 = none).
  double warmup_epochs = 0.0;
  /// The warm-up starts at base_lr * warmup_start_factor and reaches base_lr at warmup_epochs.
  double warmup_start_factor = 0.0;
};

/// The schedule type names accepted in configs ("constant", "step", ...), in enum order.
const std::vector<std::string>& lr_schedule_type_names();

/// The LR at epoch `epoch` (fractional allowed, >= 0) of a run of `total_epochs` starting from
/// `base_lr`. Throws std::invalid_argument if the config cannot describe a curve over that run.
double scheduled_lr(const LrScheduleConfig& config, double epoch, double total_epochs,
                    double base_lr);

/// Checks that `config` describes a curve over `total_epochs`; throws std::invalid_argument
/// naming the offending parameter.
void validate_lr_schedule(const LrScheduleConfig& config, double total_epochs);

/// Reads an `lr_schedule:` section: `type` (default constant), `update` (epoch|step),
/// `warmup_epochs`, `warmup_start_factor` and the type's own keys; rejects any other key.
LrScheduleConfig parse_lr_schedule(const config::ConfigNode& node);

}  // namespace lowbit::train
