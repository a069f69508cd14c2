// The training loop of one stage: batches, loss, backward, clipping, optimizer step, LR
// schedule, epoch events, validation every epoch, best/last checkpoints, a NaN guard, the
// metrics.csv log, and a test evaluation with the best weights at the end.
#pragma once

#include <torch/nn/modules/container/any.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "lowbit/data/dataset.h"
#include "lowbit/data/transforms.h"
#include "lowbit/dist/communicator.h"
#include "lowbit/train/checkpoint/best_metric_tracker.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/train/methods/stage_methods.h"
#include "lowbit/train/optim/lr_scheduler.h"
#include "lowbit/train/report/evaluation.h"
#include "lowbit/train/run_config.h"

namespace lowbit::train {

/// The data one stage trains, validates and tests on (test may be empty: the validation set is
/// then used for the final evaluation).
struct StageData {
  data::Dataset train;  ///< Training samples.
  data::Dataset val;    ///< Validation samples, evaluated every epoch.
  data::Dataset test;   ///< Test samples, evaluated once with the best weights.
  /// Augmentation of each training batch (seeded per batch by the loader); none when unset.
  std::optional<data::AugmentOptions> augment = std::nullopt;
};

/// How a stage ended and what it reached.
struct StageResult {
  std::string stage;         ///< Stage name.
  bool completed = false;    ///< All epochs ran.
  bool interrupted = false;  ///< Stopped on request (resumable), not by the NaN guard.
  std::string stop_reason;   ///< Why it stopped early ("" when completed).
  int64_t epochs_run = 0;    ///< Epochs with a good checkpoint.
  int64_t best_epoch = -1;   ///< Epoch (0-based) of the best checkpoint; -1 if none.
  double best_metric = 0.0;  ///< The best value of the stage's best metric.
  EvalResult test;           ///< Final evaluation with the best weights.
  std::string test_set;      ///< "test" or "val": which set `test` was measured on.
  double seconds = 0.0;      ///< Wall time of the stage.
  int64_t parameters = 0;    ///< Parameter count of the model.
  int64_t weight_bytes = 0;  ///< Storage of the parameters at their bit widths.
  std::string bits;          ///< Bit widths in use, e.g. "w4 a8".
};

/// Settings of the trainer that come from the run rather than the stage.
struct TrainerOptions {
  std::string run_dir;             ///< Run directory (checkpoints go to run_dir/STAGE/).
  uint64_t seed = 1;               ///< Run seed; epoch e of a stage re-seeds with seed + e.
  bool resume = false;             ///< Continue from run_dir/STAGE/last.pt when it exists.
  std::ostream* log = &std::cout;  ///< Where messages and progress go.
  bool live_progress = false;      ///< Draw a live progress bar (terminal output).
  /// Asked after every saved epoch; returning true ends the stage there (interrupted), so that
  /// `--resume` can continue it. Used for Ctrl-C.
  std::function<bool()> stop_requested;
  /// The loaded teacher of `methods.distill` (empty when the stage does not distil).
  torch::nn::AnyModule teacher;
  /// The data-parallel job this process belongs to (nullptr: one process). Not owned.
  dist::Communicator* comm = nullptr;
};

/// The checkpoint folder of a stage in a run directory.
std::string stage_dir(const std::string& run_dir, const std::string& stage);

/// Trains one stage of a model.
class Trainer {
 public:
  /// A trainer for `stage` of `model` (quantized and warm-started already).
  Trainer(torch::nn::AnyModule model, StageConfig stage, TrainerOptions options);

  /// Runs the remaining epochs (all, or those after last.pt when resuming), then evaluates the
  /// best weights on the test set (the validation set if there is no test set).
  StageResult run(const StageData& data);

 private:
  struct Loop;           // What one run() works with: paths, data-parallel job, loader, logs.
  struct EpochTraining;  // The training half of an epoch: LR, loss, accuracy counts.
  struct EpochMetrics;   // The validation of an epoch and the metrics selection compares.

  // Before the first epoch: resume, the same start on every rank, optimizer, methods, logs.
  void start(Loop& loop);
  // Loads last.pt and puts its model state and LR factor back.
  Checkpoint resume(const std::string& last_path);
  // One epoch; false when the stage stops after it (non-finite loss, requested stop).
  bool run_epoch(Loop& loop, int64_t epoch);
  // Seed, events, methods' epoch start, restarted selection, rebuilt optimizer.
  void begin_epoch(Loop& loop, int64_t epoch);
  // The batches of `epoch`; stops at the first non-finite loss.
  EpochTraining train_epoch(Loop& loop, int64_t epoch);
  // The scheduled LR of a batch times the set_lr factor, written into the optimizer.
  double apply_lr(int64_t epoch, int64_t batch);
  // Backward pass, gradient averaging and clipping, optimizer step.
  void update_weights(Loop& loop, torch::Tensor& loss);
  // Validation after an epoch.
  EpochMetrics validate(const Loop& loop, const EpochTraining& training);
  // best.pt (when `is_best`), last.pt and the quantization ranges of `epoch`.
  void save_epoch(Loop& loop, int64_t epoch, bool is_best);
  // The epoch's metrics.csv row and console summary.
  void log_epoch(Loop& loop, int64_t epoch, const EpochTraining& training,
                 const EpochMetrics& metrics, bool is_best, double seconds);
  // Ends the stage on a non-finite loss, keeping the last good checkpoint.
  void stop_on_bad_loss(Loop& loop, const std::string& reason);
  // Ends the stage when a stop was requested on any rank before its last epoch.
  bool stop_requested(Loop& loop, int64_t epoch);
  // SWA: the averaged weights become the stage's result and its best.pt.
  void adopt_average(Loop& loop);
  // The test evaluation with the best weights and the stage's summary line.
  void finish(Loop& loop, std::chrono::steady_clock::time_point stage_start);
  // Applies and logs the events of `epoch`; true when one changed a grid (set_bits,
  // switch_quantizer, fold_batchnorm).
  bool apply_events(int64_t epoch);
  void rebuild_optimizer(int64_t steps_per_epoch);
  // The checkpoint of the model's current state after `epoch`.
  Checkpoint make_checkpoint(int64_t epoch, const BestMetricTracker& tracker,
                             const StageMethods& methods) const;

  torch::nn::AnyModule model_;
  StageConfig stage_;
  TrainerOptions options_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<LrScheduler> scheduler_;
  double lr_factor_ = 1.0;
  bool structure_changed_ = false;
};

}  // namespace lowbit::train
