// Magnitude pruning with masks kept through training (Zhu & Gupta 2017, "To prune, or not to
// prune"), channel-group pruning by L1 norm (BitNetMCU) and lottery-ticket rewinding (Frankle &
// Carbin 2019).
//
// A Pruner holds one boolean mask per QLinear/QConv2d weight (true = kept). Masks only grow:
// a pruned weight stays pruned, so after apply_masks() pruned weights are exactly zero and export
// writes them as code 0 (every symmetric grid maps 0 to code 0).
// Training loop order: loss.backward(); pruner.mask_gradients(); optimizer.step();
// pruner.apply_masks(). Masking gradients alone is not enough: momentum or weight decay state
// from before pruning would still move a pruned weight, hence apply_masks() after every step.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::train {

/// Gradual sparsity schedule s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt))^3.
struct SparsitySchedule {
  double initial = 0.0;   ///< s_i, sparsity at t0.
  double final = 0.5;     ///< s_f, sparsity from t0 + n * dt on.
  int64_t begin = 0;      ///< t0, first pruning step (epoch or iteration, as the caller counts).
  int64_t end = 10;       ///< t0 + n * dt, step at which s_f is reached; > begin.
  int64_t frequency = 1;  ///< dt, steps between mask updates; > 0.
};

/// Target sparsity at step t: 0 before begin, then the cubic schedule evaluated at the last mask
/// update step t0 + k * dt <= t, s_f from end on. Throws std::invalid_argument for a schedule
/// with end <= begin, frequency <= 0 or sparsities outside [0, 1).
double scheduled_sparsity(const SparsitySchedule& schedule, int64_t step);

/// How magnitudes are compared.
enum class PruneScope {
  kLayer,   ///< Each layer loses the same fraction of its weights.
  kGlobal,  ///< One threshold over all layers' weights.
};

/// One pruned weight and its mask.
struct PruneMask {
  std::string name;      ///< Module path of the layer.
  torch::Tensor weight;  ///< The layer's weight parameter.
  torch::Tensor mask;    ///< Bool, the weight's shape; false where pruned.
};

/// Masks over the QLinear/QConv2d weights of a model.
class Pruner {
 public:
  /// Masks (all kept) for every QLinear/QConv2d weight of `model`. Layers replaced after
  /// construction are not followed.
  Pruner(torch::nn::Module& model, PruneScope scope);

  /// Prunes by magnitude until floor(sparsity * n) weights are pruned — per layer (n = the
  /// layer's count) or globally (n = all weights) — never un-pruning; ties at equal magnitude go
  /// to the earlier element. Applies the masks. Throws for sparsity outside [0, 1).
  void prune_to(double sparsity);

  /// Prunes whole output-channel groups: the channels of each layer are split into consecutive
  /// groups of `group_size` (the last may be shorter), ranked by the L1 norm of their weights,
  /// and the floor(fraction * groups) weakest groups are masked. Applies the masks.
  void prune_channel_groups(double fraction, int64_t group_size);

  /// Zeroes pruned weights (after every optimizer step).
  void apply_masks();

  /// Zeroes the gradients of pruned weights (before every optimizer step).
  void mask_gradients();

  /// Pruned fraction over all masked weights.
  double sparsity() const;

  /// Number of pruned weights of each layer, in mask order.
  std::vector<int64_t> pruned_counts() const;

  /// The masks, for export and reports.
  const std::vector<PruneMask>& masks() const { return masks_; }

  /// Saves the current weights as the rewind point (lottery ticket: call at initialisation or
  /// after a few warm-up epochs).
  void save_rewind_point();

  /// The saved rewind point (empty when none), one tensor per mask.
  const std::vector<torch::Tensor>& rewind_point() const { return rewind_; }

  /// Restores masks (and a rewind point, possibly empty) saved from masks() and rewind_point();
  /// applies the masks. Throws std::invalid_argument when count or shapes do not fit.
  void restore(const std::vector<torch::Tensor>& masks, const std::vector<torch::Tensor>& rewind);

  /// Restores the saved weights, keeping the masks (pruned weights stay zero). Throws
  /// std::logic_error without a saved rewind point.
  void rewind();

 private:
  std::vector<PruneMask> masks_;
  std::vector<torch::Tensor> rewind_;
  PruneScope scope_;
};

}  // namespace lowbit::train
