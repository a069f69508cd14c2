#include "lowbit/train/methods/pruning.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "lowbit/train/quantize/layer_weights.h"

namespace lowbit::train {

double scheduled_sparsity(const SparsitySchedule& schedule, int64_t step) {
  if (schedule.end <= schedule.begin || schedule.frequency <= 0) {
    throw std::invalid_argument("pruning schedule: expected end > begin and frequency > 0 (begin " +
                                std::to_string(schedule.begin) + ", end " +
                                std::to_string(schedule.end) + ", frequency " +
                                std::to_string(schedule.frequency) + ")");
  }
  for (double s : {schedule.initial, schedule.final}) {
    if (!(s >= 0.0 && s < 1.0)) {
      throw std::invalid_argument("pruning schedule: sparsity must lie in [0, 1), got " +
                                  std::to_string(s));
    }
  }
  if (step < schedule.begin) return 0.0;
  if (step >= schedule.end) return schedule.final;
  const int64_t updated =
      schedule.begin + (step - schedule.begin) / schedule.frequency * schedule.frequency;
  const double progress = static_cast<double>(updated - schedule.begin) /
                          static_cast<double>(schedule.end - schedule.begin);
  return schedule.final + (schedule.initial - schedule.final) * std::pow(1.0 - progress, 3);
}

namespace {

void check_sparsity(double sparsity, const char* what) {
  if (!(sparsity >= 0.0 && sparsity < 1.0)) {
    throw std::invalid_argument(std::string("Pruner::") + what +
                                ": fraction must lie in [0, 1), got " + std::to_string(sparsity));
  }
}

// Masks the `count` lowest-scoring elements of `scores` (1-D); already pruned elements score -1
// so they come first and stay pruned. Returns the flat keep mask.
torch::Tensor keep_mask(const torch::Tensor& scores, int64_t count) {
  torch::Tensor order = std::get<1>(torch::sort(scores, /*stable=*/true, 0, false));
  torch::Tensor keep = torch::ones({scores.numel()}, torch::kBool);
  keep.index_fill_(0, order.slice(0, 0, count), false);
  return keep;
}

}  // namespace

Pruner::Pruner(torch::nn::Module& model, PruneScope scope) : scope_(scope) {
  for (const LayerWeight& layer : layer_weights(model, false)) {
    masks_.push_back(PruneMask{
        layer.name, layer.weight,
        torch::ones(layer.weight.sizes(),
                    torch::TensorOptions().dtype(torch::kBool).device(layer.weight.device()))});
  }
}

void Pruner::prune_to(double sparsity) {
  check_sparsity(sparsity, "prune_to");
  torch::NoGradGuard no_grad;
  auto scores_of = [](const PruneMask& m) {
    return torch::where(m.mask, m.weight.abs(), torch::full({}, -1.0, m.weight.options()))
        .reshape({-1})
        .to(torch::kCPU, torch::kDouble);
  };
  if (scope_ == PruneScope::kLayer) {
    for (PruneMask& m : masks_) {
      const int64_t n = m.weight.numel();
      const int64_t already = n - m.mask.sum().item<int64_t>();
      const int64_t count =
          std::max(already, static_cast<int64_t>(std::floor(sparsity * static_cast<double>(n))));
      m.mask.copy_(keep_mask(scores_of(m), count).reshape(m.mask.sizes()));
    }
  } else {
    std::vector<torch::Tensor> all;
    int64_t n = 0;
    int64_t already = 0;
    for (const PruneMask& m : masks_) {
      all.push_back(scores_of(m));
      n += m.weight.numel();
      already += m.weight.numel() - m.mask.sum().item<int64_t>();
    }
    if (all.empty()) return;
    const int64_t count =
        std::max(already, static_cast<int64_t>(std::floor(sparsity * static_cast<double>(n))));
    torch::Tensor keep = keep_mask(torch::cat(all), count);
    int64_t offset = 0;
    for (PruneMask& m : masks_) {
      const int64_t size = m.weight.numel();
      m.mask.copy_(keep.slice(0, offset, offset + size).reshape(m.mask.sizes()));
      offset += size;
    }
  }
  apply_masks();
}

void Pruner::prune_channel_groups(double fraction, int64_t group_size) {
  check_sparsity(fraction, "prune_channel_groups");
  if (group_size <= 0) {
    throw std::invalid_argument("Pruner::prune_channel_groups: group_size must be > 0, got " +
                                std::to_string(group_size));
  }
  torch::NoGradGuard no_grad;
  for (PruneMask& m : masks_) {
    const int64_t channels = m.weight.size(0);
    const int64_t groups = (channels + group_size - 1) / group_size;
    torch::Tensor l1 =
        (m.weight.abs() * m.mask).reshape({channels, -1}).sum(1).to(torch::kCPU, torch::kDouble);
    torch::Tensor group_l1 =
        torch::zeros({groups}, torch::kDouble)
            .index_add(0, torch::arange(channels).div(group_size, "floor"), l1);
    const auto count = static_cast<int64_t>(std::floor(fraction * static_cast<double>(groups)));
    torch::Tensor order = std::get<1>(torch::sort(group_l1, /*stable=*/true, 0, false));
    torch::Tensor rows = m.mask.reshape({channels, -1});
    for (int64_t i = 0; i < count; ++i) {
      const int64_t g = order[i].item<int64_t>();
      rows.slice(0, g * group_size, std::min(channels, (g + 1) * group_size)).fill_(false);
    }
  }
  apply_masks();
}

void Pruner::apply_masks() {
  torch::NoGradGuard no_grad;
  for (PruneMask& m : masks_) m.weight.masked_fill_(m.mask.logical_not(), 0.0);
}

void Pruner::mask_gradients() {
  torch::NoGradGuard no_grad;
  for (PruneMask& m : masks_) {
    if (m.weight.grad().defined()) m.weight.mutable_grad().masked_fill_(m.mask.logical_not(), 0.0);
  }
}

double Pruner::sparsity() const {
  int64_t total = 0;
  int64_t pruned = 0;
  for (const PruneMask& m : masks_) {
    total += m.mask.numel();
    pruned += m.mask.numel() - m.mask.sum().item<int64_t>();
  }
  return total == 0 ? 0.0 : static_cast<double>(pruned) / static_cast<double>(total);
}

std::vector<int64_t> Pruner::pruned_counts() const {
  std::vector<int64_t> counts;
  for (const PruneMask& m : masks_) counts.push_back(m.mask.numel() - m.mask.sum().item<int64_t>());
  return counts;
}

void Pruner::save_rewind_point() {
  rewind_.clear();
  for (const PruneMask& m : masks_) rewind_.push_back(m.weight.detach().clone());
}

void Pruner::restore(const std::vector<torch::Tensor>& masks,
                     const std::vector<torch::Tensor>& rewind) {
  bool fits = masks.size() == masks_.size() && (rewind.empty() || rewind.size() == masks_.size());
  for (size_t i = 0; fits && i < masks.size(); ++i) {
    fits = masks[i].sizes() == masks_[i].weight.sizes() &&
           (rewind.empty() || rewind[i].sizes() == masks_[i].weight.sizes());
  }
  if (!fits) {
    throw std::invalid_argument("Pruner::restore: the saved masks do not fit the model's " +
                                std::to_string(masks_.size()) + " layer weights");
  }
  for (size_t i = 0; i < masks.size(); ++i) masks_[i].mask = masks[i].to(torch::kBool).clone();
  rewind_.clear();
  for (const auto& r : rewind) rewind_.push_back(r.clone());
  apply_masks();
}

void Pruner::rewind() {
  if (rewind_.size() != masks_.size()) {
    throw std::logic_error("Pruner::rewind: no rewind point saved (call save_rewind_point)");
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < masks_.size(); ++i) masks_[i].weight.copy_(rewind_[i]);
  apply_masks();
}

}  // namespace lowbit::train
