#include "lowbit/train/methods/swa.h"

#include <torch/nn/modules/batchnorm.h>

#include <stdexcept>
#include <string>

#include "lowbit/nn/foldable_batch_norm.h"

namespace lowbit::train {

WeightAverager::WeightAverager(torch::nn::Module& model) : model_(&model) {}

void WeightAverager::update() {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params = model_->parameters();
  if (count_ == 0) {
    sums_.clear();
    for (const auto& p : params)
      sums_.push_back(torch::zeros(p.sizes(), p.options().dtype(torch::kDouble)));
  } else if (params.size() != sums_.size()) {
    throw std::logic_error("WeightAverager::update: the model has " +
                           std::to_string(params.size()) + " parameters, the average " +
                           std::to_string(sums_.size()));
  }
  for (size_t i = 0; i < params.size(); ++i) sums_[i] += params[i].detach().to(torch::kDouble);
  ++count_;
}

torch::Tensor WeightAverager::average(size_t index) const {
  if (count_ == 0 || index >= sums_.size()) {
    throw std::logic_error("WeightAverager::average: no snapshot or index out of range");
  }
  return sums_[index] / static_cast<double>(count_);
}

void WeightAverager::apply() {
  if (count_ == 0) throw std::logic_error("WeightAverager::apply: no snapshot taken");
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params = model_->parameters();
  if (params.size() != sums_.size()) {
    throw std::logic_error("WeightAverager::apply: the model's parameter set changed");
  }
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(average(i));
}

void WeightAverager::restore(std::vector<torch::Tensor> sums, int64_t count) {
  std::vector<torch::Tensor> params = model_->parameters();
  bool fits = sums.size() == params.size() && count >= 0;
  for (size_t i = 0; fits && i < sums.size(); ++i) fits = sums[i].sizes() == params[i].sizes();
  if (!fits) {
    throw std::invalid_argument("WeightAverager::restore: " + std::to_string(sums.size()) +
                                " saved sums do not match the model's " +
                                std::to_string(params.size()) + " parameters");
  }
  for (auto& sum : sums) sum = sum.to(torch::kDouble);
  sums_ = std::move(sums);
  count_ = count;
}

namespace {

// Resets and switches one BatchNorm module to a cumulative average; returns whether it was one.
template <typename Impl>
bool prepare(torch::nn::Module* module, std::vector<std::function<void()>>& restore) {
  auto* bn = dynamic_cast<Impl*>(module);
  if (bn == nullptr) return false;
  const c10::optional<double> momentum = bn->options.momentum();
  bn->reset_running_stats();
  bn->options.momentum(c10::nullopt);
  restore.push_back([bn, momentum] { bn->options.momentum(momentum); });
  return true;
}

}  // namespace

void reestimate_batch_norm(torch::nn::Module& model,
                           const std::function<void()>& run_training_data) {
  std::vector<std::function<void()>> restore;
  for (const auto& module : model.modules()) {
    torch::nn::Module* m = module.get();
    if (prepare<torch::nn::BatchNorm1dImpl>(m, restore)) continue;
    if (prepare<torch::nn::BatchNorm2dImpl>(m, restore)) continue;
    if (prepare<nn::FoldableBatchNormImpl>(m, restore)) continue;
    prepare<torch::nn::BatchNorm3dImpl>(m, restore);
  }
  const bool was_training = model.is_training();
  auto finish = [&] {
    model.train(was_training);
    for (auto& r : restore) r();
  };
  model.train(true);
  try {
    torch::NoGradGuard no_grad;
    run_training_data();
  } catch (...) {
    finish();
    throw;
  }
  finish();
}

}  // namespace lowbit::train
