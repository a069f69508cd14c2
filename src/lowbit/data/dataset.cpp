#include "lowbit/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "lowbit/data/rng.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::data {

void Dataset::check() const {
  const std::string who = "data set '" + name + "'";
  if (!inputs.defined() || !targets.defined()) {
    throw std::invalid_argument(who + ": inputs and targets must both be set");
  }
  if (inputs.dim() < 1 || inputs.scalar_type() != torch::kFloat32) {
    throw std::invalid_argument(who + ": inputs must be float32 [N, ...]");
  }
  if (targets.dim() < 1 || targets.size(0) != inputs.size(0)) {
    throw std::invalid_argument(
        who + ": targets must be [N] or [N, ...] with N = " + std::to_string(inputs.size(0)) +
        ", got " + std::to_string(targets.dim() == 0 ? 0 : targets.size(0)));
  }
  if (targets.scalar_type() == torch::kInt64) {
    if (targets.dim() != 1) throw std::invalid_argument(who + ": int64 class ids must be [N]");
    if (num_classes <= 0) throw std::invalid_argument(who + ": int64 targets need num_classes > 0");
    if (targets.numel() > 0 &&
        (targets.min().item<int64_t>() < 0 || targets.max().item<int64_t>() >= num_classes)) {
      throw std::invalid_argument(who + ": class ids must lie in 0.." +
                                  std::to_string(num_classes - 1));
    }
  } else if (targets.scalar_type() != torch::kFloat32) {
    throw std::invalid_argument(who + ": targets must be int64 [N] or float32 [N, ...]");
  }
}

Dataset Dataset::subset(const torch::Tensor& indices) const {
  Dataset out;
  out.inputs = inputs.index_select(0, indices);
  out.targets = targets.index_select(0, indices);
  out.name = name;
  out.num_classes = num_classes;
  return out;
}

Dataset Dataset::subset(const std::vector<int64_t>& indices) const {
  return subset(torch::tensor(indices, torch::kInt64));
}

int64_t count_classes(const torch::Tensor& targets, const std::string& name) {
  if (targets.numel() == 0) return 0;
  const torch::Tensor flat = targets.reshape({-1});
  const auto bad = torch::nonzero(flat.lt(0).logical_or(flat.gt(kMaxClassId)));
  if (bad.numel() > 0) {
    const int64_t at = bad[0][0].item<int64_t>();
    throw util::FileError(name + ": class id " + std::to_string(flat[at].item<int64_t>()) +
                          " at sample " + std::to_string(at) + " (expected integers in 0.." +
                          std::to_string(kMaxClassId) + ")");
  }
  return flat.max().item<int64_t>() + 1;
}

void require_finite(const torch::Tensor& values, const std::string& name, const std::string& what) {
  if (!values.is_floating_point() || values.numel() == 0) return;
  const torch::Tensor flat = values.reshape({-1});
  const auto bad = torch::nonzero(torch::isfinite(flat).logical_not());
  if (bad.numel() == 0) return;
  const int64_t at = bad[0][0].item<int64_t>();
  const double v = flat[at].item<double>();
  std::string where = "element " + std::to_string(at);
  if (values.dim() > 1) {
    // The sample (row) is what a user looks up; the flat index alone is hard to find.
    const int64_t per_sample = values.numel() / values.size(0);
    where = "sample " + std::to_string(at / per_sample) + ", element " +
            std::to_string(at % per_sample);
  }
  throw util::FileError(name + ": " + what + " hold " + (std::isnan(v) ? "NaN" : "infinity") +
                        " at " + where + " (expected finite numbers)");
}

std::vector<int64_t> class_counts(const Dataset& dataset) {
  if (dataset.targets.scalar_type() != torch::kInt64 || dataset.num_classes <= 0) {
    throw std::invalid_argument("class_counts: data set '" + dataset.name +
                                "' has no int64 class targets");
  }
  const torch::Tensor counts = torch::bincount(dataset.targets, {}, dataset.num_classes);
  std::vector<int64_t> out(static_cast<size_t>(dataset.num_classes));
  for (int64_t c = 0; c < dataset.num_classes; ++c)
    out[static_cast<size_t>(c)] = counts[c].item<int64_t>();
  return out;
}

Split split_validation(const Dataset& dataset, double fraction, uint64_t seed, bool stratify) {
  if (!(fraction >= 0.0 && fraction <= 1.0)) {
    throw std::invalid_argument("split_validation: fraction must lie in [0, 1], got " +
                                std::to_string(fraction));
  }
  const int64_t n = dataset.size();
  std::vector<char> in_val(static_cast<size_t>(n), 0);
  if (stratify) {
    if (dataset.targets.scalar_type() != torch::kInt64) {
      throw std::invalid_argument("split_validation: stratify needs int64 class targets in '" +
                                  dataset.name + "'");
    }
    const torch::Tensor labels = dataset.targets.contiguous();
    const int64_t* label = labels.data_ptr<int64_t>();
    std::vector<std::vector<int64_t>> members(static_cast<size_t>(dataset.num_classes));
    for (int64_t i = 0; i < n; ++i) members.at(static_cast<size_t>(label[i])).push_back(i);
    for (size_t c = 0; c < members.size(); ++c) {
      const auto& m = members[c];
      const auto take =
          static_cast<int64_t>(std::llround(fraction * static_cast<double>(m.size())));
      const auto order = random_permutation(static_cast<int64_t>(m.size()), mix_seed(seed, c));
      for (int64_t k = 0; k < take; ++k)
        in_val[static_cast<size_t>(m[static_cast<size_t>(order[static_cast<size_t>(k)])])] = 1;
    }
  } else {
    const auto take = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
    const auto order = random_permutation(n, seed);
    for (int64_t k = 0; k < take; ++k)
      in_val[static_cast<size_t>(order[static_cast<size_t>(k)])] = 1;
  }
  std::vector<int64_t> train_idx;
  std::vector<int64_t> val_idx;
  for (int64_t i = 0; i < n; ++i)
    (in_val[static_cast<size_t>(i)] ? val_idx : train_idx).push_back(i);
  Split split{dataset.subset(train_idx), dataset.subset(val_idx)};
  split.train.name = dataset.name + "[train]";
  split.val.name = dataset.name + "[val]";
  return split;
}

}  // namespace lowbit::data
