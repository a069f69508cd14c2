// The `methods:` section of a stage: the training methods that hook into the loop rather than
// add a loss term (those are `regularizers:`). docs/methods.md documents every key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/config/config_reader.h"
#include "lowbit/train/methods/distillation.h"
#include "lowbit/train/methods/pruning.h"

namespace lowbit::train {

/// `methods.distill`: knowledge distillation from a teacher model.
struct DistillConfig {
  /// An earlier stage of the run (its best.pt) or a checkpoint file.
  std::string teacher;
  /// Whether `teacher` names an earlier stage.
  bool teacher_stage = false;
  /// alpha and temperature; `binary` follows the stage's loss (binary losses distil sigmoids).
  DistillationOptions options;
};

/// `methods.prune`: magnitude pruning with a gradual schedule over epochs, channel groups and
/// rewinding.
struct PruneConfig {
  /// Per layer or one global threshold.
  PruneScope scope = PruneScope::kLayer;
  /// Sparsity per epoch (t counts the stage's epochs from 0).
  SparsitySchedule schedule;
  /// BitNetMCU channel-group pruning: fraction of output-channel groups masked at `begin`.
  double channel_fraction = 0.0;
  /// Output channels per group.
  int64_t group_size = 4;
  /// Lottery ticket: when the final sparsity is reached, rewind the surviving weights to their
  /// values at the start of the stage (the warm start) and train on with the masks.
  bool rewind = false;
};

/// The largest `methods.swa.bn_batches`.
inline constexpr int64_t kMaxBnBatches = int64_t{1} << 30;

/// `methods.swa`: stochastic weight averaging of the last epochs.
struct SwaConfig {
  /// First epoch (0-based) whose end-of-epoch weights join the average.
  int64_t start_epoch = 0;
  /// Training batches used to re-estimate BatchNorm statistics; -1 = all.
  int64_t bn_batches = -1;
};

/// Everything under a stage's `methods:` key; an absent method is off.
struct MethodsConfig {
  std::optional<DistillConfig> distill;  ///< Distillation, when set.
  std::optional<PruneConfig> prune;      ///< Pruning, when set.
  std::optional<SwaConfig> swa;          ///< SWA, when set.
  bool weight_report = false;            ///< Log clip/entropy per layer every epoch.
};

/// Reads a `methods:` section of a stage of `epochs` epochs; `earlier` are the names of the
/// stages before it (distillation teachers). Every key is checked; errors name the key.
MethodsConfig parse_methods(const config::ConfigNode& node, int64_t epochs,
                            const std::vector<std::string>& earlier);

}  // namespace lowbit::train
