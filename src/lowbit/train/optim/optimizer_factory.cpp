#include "lowbit/train/optim/optimizer_factory.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

namespace lowbit::train {
namespace {

[[noreturn]] void invalid(const std::string& parameter, const std::string& expected, double got) {
  std::ostringstream message;
  message << "optimizer." << parameter << ": expected " << expected << ", got " << got;
  throw std::invalid_argument(message.str());
}

void check_in(const std::string& parameter, double value, double lo, double hi, bool hi_open) {
  const bool ok = value >= lo && (hi_open ? value < hi : value <= hi);
  if (!ok) {
    std::ostringstream range;
    range << "a value in [" << lo << ", " << hi << (hi_open ? ")" : "]");
    invalid(parameter, range.str(), value);
  }
}

torch::optim::SGDOptions sgd_options(const OptimizerConfig& config, double lr, double decay) {
  return torch::optim::SGDOptions(lr)
      .momentum(config.momentum)
      .dampening(config.dampening)
      .nesterov(config.nesterov)
      .weight_decay(decay);
}

template <class Options>
Options adam_options(const OptimizerConfig& config, double lr, double decay) {
  return Options(lr)
      .betas(std::make_tuple(config.beta1, config.beta2))
      .eps(config.eps)
      .weight_decay(decay)
      .amsgrad(config.amsgrad);
}

// Each group gets a full options object so that its LR and weight decay can differ.
template <class Optim, class Options, class MakeOptions>
std::unique_ptr<torch::optim::Optimizer> build(const OptimizerConfig& config,
                                               const std::vector<ParamGroup>& groups,
                                               MakeOptions make_options) {
  std::vector<torch::optim::OptimizerParamGroup> torch_groups;
  for (const auto& group : groups) {
    const double lr = config.lr * group.lr_scale;
    const double decay = group.weight_decay.value_or(config.weight_decay);
    torch_groups.emplace_back(group.params,
                              std::make_unique<Options>(make_options(config, lr, decay)));
  }
  return std::make_unique<Optim>(std::move(torch_groups),
                                 make_options(config, config.lr, config.weight_decay));
}

}  // namespace

const std::vector<std::string>& optimizer_type_names() {
  static const std::vector<std::string> kNames = {"sgd", "adam", "adamw"};
  return kNames;
}

void validate_optimizer(const OptimizerConfig& config) {
  if (!(config.lr > 0.0)) invalid("lr", "> 0", config.lr);
  if (!(config.weight_decay >= 0.0)) invalid("weight_decay", ">= 0", config.weight_decay);
  if (config.type == OptimizerType::kSgd) {
    check_in("momentum", config.momentum, 0.0, 1.0, true);
    check_in("dampening", config.dampening, 0.0, 1.0, false);
    if (config.nesterov && (config.momentum <= 0.0 || config.dampening != 0.0)) {
      throw std::invalid_argument(
          "optimizer.nesterov: Nesterov momentum needs momentum > 0 and dampening = 0");
    }
  } else {
    check_in("betas[0]", config.beta1, 0.0, 1.0, true);
    check_in("betas[1]", config.beta2, 0.0, 1.0, true);
    if (!(config.eps > 0.0)) invalid("eps", "> 0", config.eps);
  }
}

OptimizerConfig parse_optimizer(const config::ConfigNode& node) {
  OptimizerConfig config;
  const auto& names = optimizer_type_names();
  const std::string type = node.require_choice("type", names);
  config.type =
      static_cast<OptimizerType>(std::find(names.begin(), names.end(), type) - names.begin());
  config.lr = node.require_positive<double>("lr");
  config.quantizer_lr_scale = node.get_positive<double>("quantizer_lr_scale", 1.0);
  const double default_decay = config.type == OptimizerType::kAdamW ? 0.01 : 0.0;
  config.weight_decay = node.get_in_range<double>("weight_decay", default_decay, 0.0, 1e9);
  if (config.type == OptimizerType::kSgd) {
    config.momentum = node.get_in_range<double>("momentum", 0.0, 0.0, 0.999999);
    config.dampening = node.get_in_range<double>("dampening", 0.0, 0.0, 1.0);
    config.nesterov = node.get<bool>("nesterov", false);
    if (config.nesterov && (config.momentum <= 0.0 || config.dampening != 0.0)) {
      node.fail("nesterov", "Nesterov momentum needs momentum > 0 and dampening = 0");
    }
  } else {
    if (node.has("betas")) {
      const auto betas = node.require<std::vector<double>>("betas");
      if (betas.size() != 2) node.fail("betas", "expected a list of two numbers [beta1, beta2]");
      for (double beta : betas) {
        if (!(beta >= 0.0 && beta < 1.0)) node.fail("betas", "expected values in [0, 1)");
      }
      config.beta1 = betas[0];
      config.beta2 = betas[1];
    }
    config.eps = node.get_positive<double>("eps", config.eps);
    config.amsgrad = node.get<bool>("amsgrad", false);
  }
  node.done();
  return config;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        const std::vector<ParamGroup>& groups) {
  validate_optimizer(config);
  if (groups.empty()) throw std::invalid_argument("make_optimizer: no parameter groups");
  for (const auto& group : groups) {
    if (!(group.lr_scale > 0.0)) invalid("lr_scale", "> 0", group.lr_scale);
    if (group.weight_decay && !(*group.weight_decay >= 0.0)) {
      invalid("weight_decay", ">= 0", *group.weight_decay);
    }
  }
  switch (config.type) {
    case OptimizerType::kSgd:
      return build<torch::optim::SGD, torch::optim::SGDOptions>(config, groups, sgd_options);
    case OptimizerType::kAdam:
      return build<torch::optim::Adam, torch::optim::AdamOptions>(
          config, groups, adam_options<torch::optim::AdamOptions>);
    case OptimizerType::kAdamW:
      return build<torch::optim::AdamW, torch::optim::AdamWOptions>(
          config, groups, adam_options<torch::optim::AdamWOptions>);
  }
  throw std::logic_error("make_optimizer: unknown OptimizerType");
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        const std::vector<torch::Tensor>& params) {
  return make_optimizer(config, std::vector<ParamGroup>{ParamGroup{params, 1.0, std::nullopt}});
}

}  // namespace lowbit::train
