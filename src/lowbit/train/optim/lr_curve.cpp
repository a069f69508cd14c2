#include "lowbit/train/optim/lr_curve.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace lowbit::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

[[noreturn]] void invalid(const std::string& parameter, const std::string& expected, double got) {
  std::ostringstream message;
  message << "lr_schedule." << parameter << ": expected " << expected << ", got " << got;
  throw std::invalid_argument(message.str());
}

double cosine(double base_lr, double eta_min, double t, double period) {
  return eta_min + (base_lr - eta_min) * (1.0 + std::cos(kPi * t / period)) / 2.0;
}

// Finds the SGDR period holding epoch t by walking the periods, which is exact at the restart
// epochs where the closed-form logarithm can land just below an integer.
double cosine_restarts(const LrScheduleConfig& config, double t, double base_lr) {
  if (config.t_mult == 1.0)
    return cosine(base_lr, config.eta_min, std::fmod(t, config.t_0), config.t_0);
  double start = 0.0;
  double period = config.t_0;
  while (t >= start + period) {
    start += period;
    period *= config.t_mult;
  }
  return cosine(base_lr, config.eta_min, t - start, period);
}

}  // namespace

const std::vector<std::string>& lr_schedule_type_names() {
  static const std::vector<std::string> kNames = {
      "constant", "step", "multistep", "polynomial", "cosine", "cosine_restarts", "two_step"};
  return kNames;
}

void validate_lr_schedule(const LrScheduleConfig& config, double total_epochs) {
  if (!(total_epochs > 0.0)) invalid("total_epochs", "> 0", total_epochs);
  if (!(config.warmup_epochs >= 0.0)) invalid("warmup_epochs", ">= 0", config.warmup_epochs);
  if (config.warmup_epochs > 0.0 && config.warmup_epochs >= total_epochs) {
    invalid("warmup_epochs", "fewer than the stage's " + std::to_string(total_epochs) + " epochs",
            config.warmup_epochs);
  }
  if (!(config.warmup_start_factor >= 0.0 && config.warmup_start_factor <= 1.0)) {
    invalid("warmup_start_factor", "a value in [0, 1]", config.warmup_start_factor);
  }
  if (config.decay_epochs == 0.0) invalid("decay_epochs", "> 0 (or absent)", 0.0);
  switch (config.type) {
    case LrScheduleType::kConstant:
      break;
    case LrScheduleType::kStep:
      if (!(config.step_size > 0.0)) invalid("step_size", "> 0", config.step_size);
      if (!(config.gamma > 0.0)) invalid("gamma", "> 0", config.gamma);
      break;
    case LrScheduleType::kMultiStep:
      if (!(config.gamma > 0.0)) invalid("gamma", "> 0", config.gamma);
      for (size_t i = 0; i < config.milestones.size(); ++i) {
        if (config.milestones[i] < 0.0 ||
            (i > 0 && config.milestones[i] <= config.milestones[i - 1])) {
          invalid("milestones[" + std::to_string(i) + "]", "increasing epochs >= 0",
                  config.milestones[i]);
        }
      }
      break;
    case LrScheduleType::kPolynomial:
      if (!(config.power > 0.0)) invalid("power", "> 0", config.power);
      if (!(config.end_lr >= 0.0)) invalid("end_lr", ">= 0", config.end_lr);
      break;
    case LrScheduleType::kCosineRestarts:
      if (!(config.t_0 > 0.0)) invalid("t_0", "> 0", config.t_0);
      if (!(config.t_mult >= 1.0)) invalid("t_mult", ">= 1", config.t_mult);
      [[fallthrough]];
    case LrScheduleType::kCosine:
      if (!(config.eta_min >= 0.0)) invalid("eta_min", ">= 0", config.eta_min);
      break;
    case LrScheduleType::kTwoStep:
      if (!(config.eta_min >= 0.0)) invalid("eta_min", ">= 0", config.eta_min);
      if (!(config.factor > 0.0)) invalid("factor", "> 0", config.factor);
      break;
  }
}

double scheduled_lr(const LrScheduleConfig& config, double epoch, double total_epochs,
                    double base_lr) {
  validate_lr_schedule(config, total_epochs);
  if (!(epoch >= 0.0)) invalid("epoch", ">= 0", epoch);
  const double warmup = config.warmup_epochs;
  if (warmup > 0.0 && epoch < warmup) {
    const double start = config.warmup_start_factor;
    return base_lr * (start + (1.0 - start) * epoch / warmup);
  }
  const double t = epoch - warmup;
  const double decay = config.decay_epochs > 0.0 ? config.decay_epochs : total_epochs - warmup;
  const double clamped = std::min(t, decay);
  switch (config.type) {
    case LrScheduleType::kConstant:
      return base_lr;
    case LrScheduleType::kStep:
      return base_lr * std::pow(config.gamma, std::floor(t / config.step_size));
    case LrScheduleType::kMultiStep: {
      const auto passed = std::count_if(config.milestones.begin(), config.milestones.end(),
                                        [t](double milestone) { return milestone <= t; });
      return base_lr * std::pow(config.gamma, static_cast<double>(passed));
    }
    case LrScheduleType::kPolynomial:
      return (base_lr - config.end_lr) * std::pow(1.0 - clamped / decay, config.power) +
             config.end_lr;
    case LrScheduleType::kCosine:
      return cosine(base_lr, config.eta_min, clamped, decay);
    case LrScheduleType::kCosineRestarts:
      return cosine_restarts(config, t, base_lr);
    case LrScheduleType::kTwoStep: {
      const double halve_epoch = config.halve_epoch >= 0.0 ? config.halve_epoch : decay / 2.0;
      return cosine(base_lr, config.eta_min, clamped, decay) *
             (t >= halve_epoch ? config.factor : 1.0);
    }
  }
  throw std::logic_error("scheduled_lr: unknown LrScheduleType");
}

LrScheduleConfig parse_lr_schedule(const config::ConfigNode& node) {
  LrScheduleConfig config;
  const auto& names = lr_schedule_type_names();
  const std::string type = node.choice("type", "constant", names);
  config.type =
      static_cast<LrScheduleType>(std::find(names.begin(), names.end(), type) - names.begin());
  config.update = node.choice("update", "epoch", {"epoch", "step"}) == "step" ? LrUpdate::kStep
                                                                              : LrUpdate::kEpoch;
  config.warmup_epochs = node.get_in_range<double>("warmup_epochs", 0.0, 0.0, 1e9);
  config.warmup_start_factor = node.get_in_range<double>("warmup_start_factor", 0.0, 0.0, 1.0);
  const auto read_decay_epochs = [&] {
    if (node.has("decay_epochs"))
      config.decay_epochs = node.get_positive<double>("decay_epochs", 1.0);
  };
  switch (config.type) {
    case LrScheduleType::kConstant:
      break;
    case LrScheduleType::kStep:
      config.step_size = node.require_positive<double>("step_size");
      config.gamma = node.get_positive<double>("gamma", config.gamma);
      break;
    case LrScheduleType::kMultiStep: {
      config.milestones = node.require<std::vector<double>>("milestones");
      for (size_t i = 0; i < config.milestones.size(); ++i) {
        if (config.milestones[i] < 0.0 ||
            (i > 0 && config.milestones[i] <= config.milestones[i - 1])) {
          node.fail("milestones", "expected increasing epochs >= 0");
        }
      }
      config.gamma = node.get_positive<double>("gamma", config.gamma);
      break;
    }
    case LrScheduleType::kPolynomial:
      config.power = node.get_positive<double>("power", config.power);
      config.end_lr = node.get_in_range<double>("end_lr", 0.0, 0.0, 1e9);
      read_decay_epochs();
      break;
    case LrScheduleType::kCosine:
      config.eta_min = node.get_in_range<double>("eta_min", 0.0, 0.0, 1e9);
      read_decay_epochs();
      break;
    case LrScheduleType::kCosineRestarts:
      config.eta_min = node.get_in_range<double>("eta_min", 0.0, 0.0, 1e9);
      config.t_0 = node.require_positive<double>("t_0");
      config.t_mult = node.get_in_range<double>("t_mult", 1.0, 1.0, 1e9);
      break;
    case LrScheduleType::kTwoStep:
      config.eta_min = node.get_in_range<double>("eta_min", 0.0, 0.0, 1e9);
      if (node.has("halve_epoch")) {
        config.halve_epoch = node.get_in_range<double>("halve_epoch", 0.0, 0.0, 1e9);
      }
      config.factor = node.get_positive<double>("factor", config.factor);
      read_decay_epochs();
      break;
  }
  node.done();
  return config;
}

}  // namespace lowbit::train
