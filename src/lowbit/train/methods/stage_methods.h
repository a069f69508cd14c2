// The hooks through which a stage's `methods:` (distillation, pruning, SWA, the weight report)
// act on the training loop. The trainer calls them at fixed points:
//
//   on_epoch_start -> per batch: loss, backward, after_backward, step, after_step
//   -> on_epoch_end (before the checkpoint, whose method state is state())
//   -> finish after the last epoch (SWA: average, mask, re-estimate BatchNorm).
#pragma once

#include <torch/nn/modules/container/any.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "lowbit/train/checkpoint/model_state.h"
#include "lowbit/train/methods/methods_config.h"
#include "lowbit/train/methods/pruning.h"
#include "lowbit/train/methods/swa.h"
#include "lowbit/train/report/csv_log.h"

namespace lowbit::train {

/// How the model's outputs relate to the distillation logits.
enum class OutputKind {
  kLogits,         ///< Class logits (softmax distillation).
  kBinaryLogits,   ///< One logit per output (sigmoid distillation).
  kProbabilities,  ///< Sigmoid probabilities (turned back into logits for distillation).
};

/// The methods of one stage bound to its model.
class StageMethods {
 public:
  /// Methods of `config` for `model` (which must outlive this object). `teacher` is the loaded
  /// teacher for distillation (empty otherwise); `weights_csv` the file the weight report appends
  /// to (as rows of stage `stage`); messages go to `log`.
  StageMethods(const MethodsConfig& config, torch::nn::Module& model, torch::nn::AnyModule teacher,
               OutputKind outputs, std::string weights_csv, std::string stage, std::ostream& log);

  /// Epoch start: rewind point, pruning schedule, channel groups, rewind. Returns whether the
  /// model changed (more weights pruned or rewound), which restarts best-checkpoint selection.
  bool on_epoch_start(int64_t epoch);

  /// The training loss of a batch: the task loss, or the distillation loss when a teacher is set.
  torch::Tensor loss(const torch::Tensor& output, const torch::Tensor& inputs,
                     const torch::Tensor& task_loss);

  /// After backward: pruned weights get no gradient.
  void after_backward();

  /// After the optimizer step: pruned weights are zeroed again (momentum, weight decay).
  void after_step();

  /// Epoch end: SWA snapshot, weight report line and CSV rows.
  void on_epoch_end(int64_t epoch);

  /// Whether finish() will replace the weights (SWA with at least one snapshot).
  bool has_average() const { return averager_ && averager_->count() > 0; }

  /// After the last epoch: with SWA, writes the average into the model, re-applies the pruning
  /// masks and re-estimates BatchNorm statistics with `run_training_data` (which forwards
  /// training batches). Returns whether it changed the model.
  bool finish(const std::function<void()>& run_training_data);

  /// Method state for checkpoints (pruning masks, rewind point, SWA sums), by name.
  NamedTensors state() const;

  /// Restores state(); `what` names the checkpoint in errors.
  void load_state(const NamedTensors& state, const std::string& what);

  /// The pruner, when pruning is on.
  const Pruner* pruner() const { return pruner_.get(); }

  /// The SWA configuration's BatchNorm batch limit (-1 = all); 0 when SWA is off.
  int64_t bn_batches() const { return config_.swa ? config_.swa->bn_batches : 0; }

 private:
  MethodsConfig config_;
  torch::nn::Module* model_;
  torch::nn::AnyModule teacher_;
  OutputKind outputs_;
  std::string weights_csv_;
  std::string stage_;
  std::ostream* log_;
  std::unique_ptr<Pruner> pruner_;
  std::unique_ptr<WeightAverager> averager_;
  std::unique_ptr<CsvLog> weights_log_;
};

}  // namespace lowbit::train
