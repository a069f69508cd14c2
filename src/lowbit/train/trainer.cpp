#include "lowbit/train/trainer.h"

#include <torch/autograd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>

#include "lowbit/data/loader.h"
#include "lowbit/train/augmentation.h"
#include "lowbit/train/checkpoint/best_metric_tracker.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/train/checkpoint/stage_restore.h"
#include "lowbit/train/checkpoint/warm_start.h"
#include "lowbit/train/data_parallel.h"
#include "lowbit/train/methods/stage_methods.h"
#include "lowbit/train/optim/grad_clip.h"
#include "lowbit/train/optim/optimizer_factory.h"
#include "lowbit/train/quantize/quantize_model.h"
#include "lowbit/train/report/csv_log.h"
#include "lowbit/train/report/metrics.h"
#include "lowbit/train/report/progress.h"
#include "lowbit/train/report/quant_ranges.h"

namespace lowbit::train {
namespace {

namespace fs = std::filesystem;

// Flow runs get the flow errors before `seconds`; other runs keep the table they always had.
std::vector<std::string> metrics_columns(bool flow) {
  std::vector<std::string> columns = {"stage",          "epoch",    "lr",           "train_loss",
                                      "train_accuracy", "val_loss", "val_accuracy", "val_auc"};
  if (flow) {
    columns.push_back("val_aee");
    columns.push_back("val_outliers");
  }
  columns.push_back("seconds");
  return columns;
}

OutputKind output_kind(LossType loss) {
  switch (loss) {
    case LossType::kBinaryCrossEntropy:
      return OutputKind::kProbabilities;
    case LossType::kBinaryCrossEntropyWithLogits:
      return OutputKind::kBinaryLogits;
    default:
      return OutputKind::kLogits;
  }
}

std::string number(double value) {
  return std::isnan(value) ? "" : format_number(value);
}

data::LoaderOptions loader_options(const StageConfig& stage, uint64_t seed,
                                   const DataParallel& dp) {
  data::LoaderOptions options;
  options.batch_size = stage.batch_size;
  options.shuffle = true;
  options.seed = seed;
  dp.shard(options);
  return options;
}

BestMetricTracker new_tracker(const StageConfig& stage) {
  return BestMetricTracker(stage.best_metric, stage.best_mode, stage.best_min_delta);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::string stage_dir(const std::string& run_dir, const std::string& stage) {
  return (fs::path(run_dir) / stage).string();
}

Trainer::Trainer(torch::nn::AnyModule model, StageConfig stage, TrainerOptions options)
    : model_(std::move(model)), stage_(std::move(stage)), options_(std::move(options)) {}

void Trainer::rebuild_optimizer(int64_t steps_per_epoch) {
  // Quantizer state (step sizes, clipping levels) gets no weight decay: shrinking a step size
  // towards zero is not a regularisation of the network.
  ParamGroup weights, quantizers;
  quantizers.weight_decay = 0.0;
  quantizers.lr_scale = stage_.optimizer.quantizer_lr_scale;
  for (const auto& item : model_.ptr()->named_parameters(true)) {
    (is_quantizer_state(item.key()) ? quantizers : weights).params.push_back(item.value());
  }
  std::vector<ParamGroup> groups;
  if (!weights.params.empty()) groups.push_back(weights);
  if (!quantizers.params.empty()) groups.push_back(quantizers);
  optimizer_ = make_optimizer(stage_.optimizer, groups);
  scheduler_ = std::make_unique<LrScheduler>(*optimizer_, stage_.lr_schedule, stage_.epochs,
                                             steps_per_epoch);
}

bool Trainer::apply_events(int64_t epoch) {
  std::ostream& log = *options_.log;
  bool grid_changed = false;
  for (const auto& event : stage_.events) {
    if (event.at != epoch) continue;
    std::string what;
    if (event.action == EventAction::kSetLr) {
      lr_factor_ = event.lr / stage_.optimizer.lr;
      what = "base LR set to " + format_number(event.lr);
    } else {
      what = apply_quantizer_event(*model_.ptr(), event);
      // Folding may give a layer a new bias parameter, so the optimizer is rebuilt as for a switch.
      if (event.action == EventAction::kSwitchQuantizer ||
          event.action == EventAction::kFoldBatchNorm) {
        structure_changed_ = true;
      }
      grid_changed |= event.action == EventAction::kSwitchQuantizer ||
                      event.action == EventAction::kSetBits ||
                      event.action == EventAction::kFoldBatchNorm;
    }
    log << "stage '" << stage_.name << "' epoch " << epoch + 1 << ": " << what << "\n";
  }
  return grid_changed;
}

Checkpoint Trainer::make_checkpoint(int64_t epoch, const BestMetricTracker& tracker,
                                    const StageMethods& methods) const {
  Checkpoint checkpoint;
  checkpoint.stage = stage_.name;
  checkpoint.epoch = epoch;
  checkpoint.best_epoch = tracker.best_epoch();
  checkpoint.best_metric =
      tracker.has_best() ? tracker.best_value() : std::numeric_limits<double>::quiet_NaN();
  checkpoint.best_metric_name = stage_.best_metric;
  checkpoint.scheduler_epoch = epoch + 1;
  checkpoint.lr_factor = lr_factor_;
  checkpoint.stage_config = stage_.yaml;
  checkpoint.model = model_state(*model_.ptr());
  // Checkpoints hold CPU tensors, so that export and CPU machines read a GPU run's files.
  for (auto& item : checkpoint.model) item.value() = item.value().cpu();
  checkpoint.method_state = methods.state();
  checkpoint.optimizer_state = optimizer_state_bytes(*optimizer_);
  return checkpoint;
}

struct Trainer::Loop {
  Loop(const StageData& data, DataParallel& dp, const std::string& dir, const StageConfig& stage,
       const TrainerOptions& options)
      : data(data),
        dp(dp),
        dir(dir),
        last_path((fs::path(dir) / "last.pt").string()),
        best_path((fs::path(dir) / "best.pt").string()),
        loader(data.train, loader_options(stage, options.seed, dp),
               data.augment ? augment_transform(*data.augment) : nullptr),
        steps(std::max<int64_t>(1, loader.batches_per_epoch())),
        flow(is_flow_loss(stage.loss.type)),
        tracker(new_tracker(stage)),
        progress(*options.log, options.live_progress) {}

  const StageData& data;
  DataParallel& dp;
  std::string dir;        // The stage's folder: checkpoints and quant_ranges.csv.
  std::string last_path;  // The checkpoint of the latest epoch, which --resume continues.
  std::string best_path;  // The checkpoint of the best epoch.
  data::Loader loader;
  int64_t steps;  // Batches per epoch (at least 1, for the LR schedule).
  bool flow;      // Flow losses add AEE and outliers to the logs.
  BestMetricTracker tracker;
  Progress progress;
  std::optional<StageMethods> methods;  // Built once the model is resumed.
  std::optional<CsvLog> csv;            // metrics.csv (rank 0) or /dev/null.
  StageResult result;
};

struct Trainer::EpochTraining {
  double lr = 0.0;  // The LR of the last batch.
  RunningMean loss;
  int64_t correct = 0;
  int64_t total = 0;
  std::string stop_reason;  // Why the epoch stopped early: a non-finite loss ("" if it did not).
};

struct Trainer::EpochMetrics {
  EvalResult val;
  double train_loss = 0.0;
  double train_accuracy = 0.0;
  std::map<std::string, double> values;  // By the names `best_metric` may take.
};

StageResult Trainer::run(const StageData& data) {
  const auto stage_start = std::chrono::steady_clock::now();
  // Rank 0 alone writes files; one process is rank 0 (docs/distributed.md).
  DataParallel dp(options_.comm);
  const std::string dir = stage_dir(options_.run_dir, stage_.name);
  if (dp.is_root()) fs::create_directories(dir);
  Loop loop(data, dp, dir, stage_, options_);
  start(loop);
  for (int64_t epoch = loop.result.epochs_run; epoch < stage_.epochs; ++epoch) {
    if (!run_epoch(loop, epoch)) break;
  }
  if (dp.active() && dp.steps() > 0) {
    *options_.log << "stage '" << stage_.name << "': " << dp.world_size()
                  << " ranks, gradient and buffer allreduce "
                  << format_number(1000.0 * dp.comm_seconds() / dp.steps(), 4) << " ms per step\n";
  }
  if (loop.result.completed && loop.methods->has_average()) adopt_average(loop);
  finish(loop, stage_start);
  return loop.result;
}

void Trainer::start(Loop& loop) {
  torch::nn::Module& module = *model_.ptr();
  std::optional<Checkpoint> resumed;
  if (options_.resume && fs::exists(loop.last_path)) resumed = resume(loop.last_path);
  loop.dp.broadcast(module);  // the same start on every rank
  rebuild_optimizer(loop.steps);
  structure_changed_ = false;
  if (resumed && !resumed->optimizer_state.empty()) {
    load_optimizer_state(*optimizer_, resumed->optimizer_state, loop.last_path);
  }
  if (resumed && resumed->best_epoch >= 0) {
    // Seed the tracker with the saved best so a resumed stage keeps comparing against it.
    loop.tracker.update(resumed->best_epoch, {{stage_.best_metric, resumed->best_metric}});
  }

  if (!loop.dp.is_root()) stage_.methods.weight_report = false;  // weights.csv is rank 0's
  loop.methods.emplace(stage_.methods, module, options_.teacher, output_kind(stage_.loss.type),
                       (fs::path(options_.run_dir) / "weights.csv").string(), stage_.name,
                       *options_.log);
  if (resumed) loop.methods->load_state(resumed->method_state, loop.last_path);
  for (const auto& regularizer : stage_.regularizers) regularizer->attach(module);

  loop.csv.emplace(loop.dp.is_root() ? (fs::path(options_.run_dir) / "metrics.csv").string()
                                     : std::string("/dev/null"),
                   metrics_columns(loop.flow));
  loop.result.stage = stage_.name;
  loop.result.completed = true;
  loop.result.epochs_run = resumed ? resumed->epoch + 1 : 0;
}

Checkpoint Trainer::resume(const std::string& last_path) {
  Checkpoint resumed = load_checkpoint(last_path);
  if (resumed.stage != stage_.name) {
    throw CheckpointError("checkpoint '" + last_path + "' belongs to stage '" + resumed.stage +
                          "', not '" + stage_.name + "'");
  }
  // Events up to the saved epoch are replayed so the model has the quantizers it had when the
  // checkpoint was written; the saved tensors then overwrite whatever the replay initialised.
  restore_model_state(*model_.ptr(), stage_.events, resumed.epoch, resumed.model, last_path);
  lr_factor_ = resumed.lr_factor;
  *options_.log << "stage '" << stage_.name << "': resuming after epoch " << resumed.epoch + 1
                << " from " << last_path << "\n";
  return resumed;
}

bool Trainer::run_epoch(Loop& loop, int64_t epoch) {
  const auto epoch_start = std::chrono::steady_clock::now();
  begin_epoch(loop, epoch);
  const EpochTraining training = train_epoch(loop, epoch);
  if (!training.stop_reason.empty()) {
    stop_on_bad_loss(loop, training.stop_reason);
    return false;
  }
  const EpochMetrics metrics = validate(loop, training);
  const bool is_best = loop.tracker.update(epoch, metrics.values);
  loop.methods->on_epoch_end(epoch);
  save_epoch(loop, epoch, is_best);
  log_epoch(loop, epoch, training, metrics, is_best, seconds_since(epoch_start));
  return !stop_requested(loop, epoch);
}

void Trainer::begin_epoch(Loop& loop, int64_t epoch) {
  // Re-seeding per epoch makes a resumed run draw the same random numbers as an
  // uninterrupted one without storing generator state.
  torch::manual_seed(options_.seed + static_cast<uint64_t>(epoch));
  const bool grid_changed = apply_events(epoch);
  const bool model_changed = loop.methods->on_epoch_start(epoch);
  if ((grid_changed || model_changed) && loop.tracker.has_best()) {
    // Weights chosen on an earlier grid (or with fewer weights pruned) would be tested on the
    // new one: selection restarts.
    loop.tracker = new_tracker(stage_);
    *options_.log << "stage '" << stage_.name << "' epoch " << epoch + 1 << ": the "
                  << (grid_changed ? "grid" : "pruning mask")
                  << " changed; best-checkpoint selection restarts\n";
  }
  if (structure_changed_) {
    rebuild_optimizer(loop.steps);
    structure_changed_ = false;
  }
}

Trainer::EpochTraining Trainer::train_epoch(Loop& loop, int64_t epoch) {
  torch::nn::Module& module = *model_.ptr();
  module.train();
  loop.loader.start_epoch(epoch);
  loop.progress.start_epoch(stage_.name, epoch, stage_.epochs, loop.steps);
  EpochTraining training;
  int64_t batch_index = 0;
  while (auto batch = loop.loader.next()) {
    training.lr = apply_lr(epoch, batch_index);
    optimizer_->zero_grad();
    torch::Tensor output = model_.forward(batch->inputs);
    torch::Tensor loss = loop.methods->loss(output, batch->inputs,
                                            compute_loss(stage_.loss, output, batch->targets));
    for (const auto& regularizer : stage_.regularizers) {
      loss = loss + regularizer->penalty(module, epoch);
    }
    const double loss_value = loop.dp.mean_loss(loss.item<double>());
    if (!std::isfinite(loss_value)) {
      training.stop_reason = "loss became " + std::string(std::isnan(loss_value) ? "NaN" : "Inf") +
                             " at epoch " + std::to_string(epoch + 1) + ", batch " +
                             std::to_string(batch_index + 1);
      return training;
    }
    update_weights(loop, loss);
    training.loss.add(loss_value, static_cast<double>(batch->inputs.size(0)));
    const BatchScores scores = score_batch(stage_.loss, output, batch->targets);
    training.correct += scores.correct;
    training.total += scores.total;
    loop.progress.batch_done(
        batch_index, training.loss.mean(),
        training.total > 0 ? static_cast<double>(training.correct) / training.total : 0.0);
    ++batch_index;
  }
  loop.dp.sum_counts(training.correct, training.total);
  return training;
}

double Trainer::apply_lr(int64_t epoch, int64_t batch) {
  double lr = scheduler_->apply(epoch, batch);
  if (lr_factor_ != 1.0) {
    for (auto& group : optimizer_->param_groups()) {
      group.options().set_lr(group.options().get_lr() * lr_factor_);
    }
    lr *= lr_factor_;
  }
  return lr;
}

void Trainer::update_weights(Loop& loop, torch::Tensor& loss) {
  torch::nn::Module& module = *model_.ptr();
  loss.backward();
  loop.methods->after_backward();
  loop.dp.after_backward(module);
  clip_gradients(stage_.clipping, module.parameters(true));
  optimizer_->step();
  loop.methods->after_step();
  loop.dp.after_step(module);
}

Trainer::EpochMetrics Trainer::validate(const Loop& loop, const EpochTraining& training) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EpochMetrics metrics;
  metrics.train_loss = training.loss.weight() > 0 ? training.loss.mean() : nan;
  metrics.train_accuracy =
      training.total > 0 ? static_cast<double>(training.correct) / training.total : nan;
  metrics.val = evaluate(model_, loop.data.val, stage_.loss, stage_.batch_size);
  metrics.values = {{"train_loss", metrics.train_loss},
                    {"train_accuracy", metrics.train_accuracy},
                    {"val_loss", metrics.val.loss},
                    {"val_accuracy", metrics.val.accuracy},
                    {"val_auc", metrics.val.auc}};
  if (loop.flow) {
    metrics.values["val_aee"] = metrics.val.aee;
    metrics.values["val_outliers"] = metrics.val.outliers;
  }
  return metrics;
}

void Trainer::save_epoch(Loop& loop, int64_t epoch, bool is_best) {
  if (loop.dp.is_root()) {
    Checkpoint checkpoint = make_checkpoint(epoch, loop.tracker, *loop.methods);
    if (is_best) save_checkpoint(checkpoint, loop.best_path);
    save_checkpoint(checkpoint, loop.last_path);
  }
  loop.result.epochs_run = epoch + 1;
  // Seed 003 logs each layer's quantization range every epoch: EMA observers and membranes.
  if (loop.dp.is_root()) {
    log_quantization_ranges((fs::path(loop.dir) / "quant_ranges.csv").string(), stage_.name,
                            epoch + 1, *model_.ptr());
  }
}

void Trainer::log_epoch(Loop& loop, int64_t epoch, const EpochTraining& training,
                        const EpochMetrics& metrics, bool is_best, double seconds) {
  const EvalResult& val = metrics.val;
  std::vector<std::string> row = {stage_.name,
                                  std::to_string(epoch + 1),
                                  number(training.lr),
                                  number(metrics.train_loss),
                                  number(metrics.train_accuracy),
                                  number(val.loss),
                                  number(val.accuracy),
                                  number(val.auc)};
  if (loop.flow) {
    row.push_back(number(val.aee));
    row.push_back(number(val.outliers));
  }
  row.push_back(format_number(seconds, 4));
  loop.csv->append(row);
  std::ostringstream summary;
  summary << "lr " << format_number(training.lr, 4) << "  loss "
          << format_number(metrics.train_loss, 5) << "  acc " << number(metrics.train_accuracy)
          << "  val_loss " << format_number(val.loss, 5) << "  val_acc " << number(val.accuracy);
  if (!std::isnan(val.auc)) summary << "  val_auc " << format_number(val.auc, 5);
  if (loop.flow) {
    summary << "  val_aee " << number(val.aee) << "  val_outliers " << number(val.outliers);
  }
  summary << "  " << format_number(seconds, 3) << " s" << (is_best ? "  *best" : "");
  loop.progress.end_epoch(summary.str());
}

void Trainer::stop_on_bad_loss(Loop& loop, const std::string& reason) {
  loop.progress.end_epoch("stopped");
  loop.result.completed = false;
  loop.result.stop_reason = reason;
  *options_.log << "stage '" << stage_.name << "': " << reason
                << "; stopping the stage. The last good checkpoint "
                << (fs::exists(loop.last_path) ? "(" + loop.last_path + ")"
                                               : std::string("(none yet)"))
                << " is kept.\n";
}

bool Trainer::stop_requested(Loop& loop, int64_t epoch) {
  if (epoch + 1 >= stage_.epochs ||
      !loop.dp.any(options_.stop_requested && options_.stop_requested())) {
    return false;
  }
  loop.result.completed = false;
  loop.result.interrupted = true;
  loop.result.stop_reason = "interrupted after epoch " + std::to_string(epoch + 1);
  *options_.log << "stage '" << stage_.name << "': " << loop.result.stop_reason
                << "; continue with --resume\n";
  return true;
}

void Trainer::adopt_average(Loop& loop) {
  std::ostream& log = *options_.log;
  const int64_t limit = loop.methods->bn_batches();
  loop.methods->finish([&] {
    loop.loader.start_epoch(stage_.epochs);
    // Leaving the epoch early is safe: the loader stops its worker when it is destroyed.
    for (int64_t seen = 0; limit < 0 || seen < limit; ++seen) {
      auto batch = loop.loader.next();
      if (!batch) break;
      model_.forward(batch->inputs);
    }
  });
  // Each rank recomputed batch-norm statistics on its shard.
  loop.dp.average_buffers(*model_.ptr());
  const EvalResult val = evaluate(model_, loop.data.val, stage_.loss, stage_.batch_size);
  const std::map<std::string, double> swa_metrics = {{"val_loss", val.loss},
                                                     {"val_accuracy", val.accuracy},
                                                     {"val_auc", val.auc},
                                                     {"val_aee", val.aee},
                                                     {"val_outliers", val.outliers}};
  log << "stage '" << stage_.name << "': SWA model val_loss " << format_number(val.loss, 5)
      << "  val_acc " << number(val.accuracy);
  if (loop.tracker.has_best()) {
    log << " (best single epoch " << loop.tracker.best_epoch() + 1 << ": " << stage_.best_metric
        << " " << format_number(loop.tracker.best_value(), 5) << ")";
  }
  log << "; the SWA model is the stage's result\n";
  // The averaged model replaces best.pt: it is what the stage was asked to produce.
  BestMetricTracker swa_tracker = new_tracker(stage_);
  const auto found = swa_metrics.find(stage_.best_metric);
  swa_tracker.update(
      stage_.epochs - 1,
      {{stage_.best_metric,
        found != swa_metrics.end() ? found->second : std::numeric_limits<double>::quiet_NaN()}});
  if (loop.dp.is_root()) {
    save_checkpoint(make_checkpoint(stage_.epochs - 1, swa_tracker, *loop.methods), loop.best_path);
  }
}

void Trainer::finish(Loop& loop, std::chrono::steady_clock::time_point stage_start) {
  torch::nn::Module& module = *model_.ptr();
  StageResult& result = loop.result;
  // The final numbers come from the best weights, as the seeds report them.
  if (loop.dp.is_root() && fs::exists(loop.best_path)) {
    Checkpoint best = load_checkpoint(loop.best_path);
    load_model_state(module, best.model, loop.best_path);
    result.best_epoch = best.epoch;
    result.best_metric = best.best_metric;
  }
  loop.dp.broadcast(
      module);  // rank 0's best weights, with no second reader of a file being written
  const bool has_test = loop.data.test.size() > 0;
  result.test_set = has_test ? "test" : "val";
  result.test =
      evaluate(model_, has_test ? loop.data.test : loop.data.val, stage_.loss, stage_.batch_size);
  result.parameters = parameter_count(module);
  result.weight_bytes = weight_bytes(module);
  result.bits = bits_summary(module);
  result.seconds = seconds_since(stage_start);
  std::ostream& log = *options_.log;
  log << "stage '" << stage_.name << "': " << result.test_set << " loss "
      << format_number(result.test.loss, 5) << "  accuracy " << number(result.test.accuracy);
  if (!std::isnan(result.test.auc)) log << "  auc " << format_number(result.test.auc, 5);
  if (loop.flow) {
    log << "  aee " << number(result.test.aee) << "  outliers " << number(result.test.outliers);
  }
  log << "  (best epoch " << result.best_epoch + 1 << ")\n";
}

}  // namespace lowbit::train
