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

StageResult Trainer::run(const StageData& data) {
  std::ostream& log = *options_.log;
  const auto stage_start = std::chrono::steady_clock::now();
  const std::string dir = stage_dir(options_.run_dir, stage_.name);
  const std::string last_path = (fs::path(dir) / "last.pt").string();
  const std::string best_path = (fs::path(dir) / "best.pt").string();
  // Rank 0 alone writes files; one process is rank 0 (docs/distributed.md).
  DataParallel dp(options_.comm);
  if (dp.is_root()) fs::create_directories(dir);
  torch::nn::Module& module = *model_.ptr();

  data::LoaderOptions loader_options;
  loader_options.batch_size = stage_.batch_size;
  loader_options.shuffle = true;
  loader_options.seed = options_.seed;
  dp.shard(loader_options);
  data::Loader loader(data.train, loader_options,
                      data.augment ? augment_transform(*data.augment) : nullptr);
  const int64_t steps = std::max<int64_t>(1, loader.batches_per_epoch());

  BestMetricTracker tracker(stage_.best_metric, stage_.best_mode, stage_.best_min_delta);
  int64_t start_epoch = 0;
  double best_value = std::numeric_limits<double>::quiet_NaN();
  int64_t best_epoch = -1;
  Checkpoint resumed;
  const bool resuming = options_.resume && fs::exists(last_path);
  if (resuming) {
    resumed = load_checkpoint(last_path);
    if (resumed.stage != stage_.name) {
      throw CheckpointError("checkpoint '" + last_path + "' belongs to stage '" + resumed.stage +
                            "', not '" + stage_.name + "'");
    }
    // Events up to the saved epoch are replayed so the model has the quantizers it had when the
    // checkpoint was written; the saved tensors then overwrite whatever the replay initialised.
    restore_model_state(module, stage_.events, resumed.epoch, resumed.model, last_path);
    start_epoch = resumed.epoch + 1;
    lr_factor_ = resumed.lr_factor;
    best_epoch = resumed.best_epoch;
    best_value = resumed.best_metric;
    log << "stage '" << stage_.name << "': resuming after epoch " << resumed.epoch + 1 << " from "
        << last_path << "\n";
  }
  dp.broadcast(module);  // the same start on every rank
  rebuild_optimizer(steps);
  structure_changed_ = false;
  if (resuming && !resumed.optimizer_state.empty()) {
    load_optimizer_state(*optimizer_, resumed.optimizer_state, last_path);
  }
  if (best_epoch >= 0) {
    // Seed the tracker with the saved best so a resumed stage keeps comparing against it.
    tracker.update(best_epoch, {{stage_.best_metric, best_value}});
  }

  if (!dp.is_root()) stage_.methods.weight_report = false;  // weights.csv is rank 0's
  StageMethods methods(stage_.methods, module, options_.teacher, output_kind(stage_.loss.type),
                       (fs::path(options_.run_dir) / "weights.csv").string(), stage_.name, log);
  if (resuming) methods.load_state(resumed.method_state, last_path);
  for (const auto& regularizer : stage_.regularizers) regularizer->attach(module);

  const bool flow = is_flow_loss(stage_.loss.type);
  CsvLog csv(dp.is_root() ? (fs::path(options_.run_dir) / "metrics.csv").string()
                          : std::string("/dev/null"),
             metrics_columns(flow));
  Progress progress(log, options_.live_progress);
  StageResult result;
  result.stage = stage_.name;
  result.completed = true;
  result.epochs_run = start_epoch;

  for (int64_t epoch = start_epoch; epoch < stage_.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    // Re-seeding per epoch makes a resumed run draw the same random numbers as an
    // uninterrupted one without storing generator state.
    torch::manual_seed(options_.seed + static_cast<uint64_t>(epoch));
    const bool grid_changed = apply_events(epoch);
    const bool model_changed = methods.on_epoch_start(epoch);
    if ((grid_changed || model_changed) && tracker.has_best()) {
      // Weights chosen on an earlier grid (or with fewer weights pruned) would be tested on the
      // new one: selection restarts.
      tracker = BestMetricTracker(stage_.best_metric, stage_.best_mode, stage_.best_min_delta);
      log << "stage '" << stage_.name << "' epoch " << epoch + 1 << ": the "
          << (grid_changed ? "grid" : "pruning mask")
          << " changed; best-checkpoint selection restarts\n";
    }
    if (structure_changed_) {
      rebuild_optimizer(steps);
      structure_changed_ = false;
    }
    module.train();
    loader.start_epoch(epoch);
    progress.start_epoch(stage_.name, epoch, stage_.epochs, steps);
    RunningMean train_loss;
    int64_t correct = 0, total = 0;
    int64_t batch_index = 0;
    double lr = 0.0;
    bool bad_loss = false;
    while (auto batch = loader.next()) {
      lr = scheduler_->apply(epoch, batch_index);
      if (lr_factor_ != 1.0) {
        for (auto& group : optimizer_->param_groups()) {
          group.options().set_lr(group.options().get_lr() * lr_factor_);
        }
        lr *= lr_factor_;
      }
      optimizer_->zero_grad();
      torch::Tensor output = model_.forward(batch->inputs);
      torch::Tensor loss =
          methods.loss(output, batch->inputs, compute_loss(stage_.loss, output, batch->targets));
      for (const auto& regularizer : stage_.regularizers) {
        loss = loss + regularizer->penalty(module, epoch);
      }
      const double loss_value = dp.mean_loss(loss.item<double>());
      if (!std::isfinite(loss_value)) {
        bad_loss = true;
        result.stop_reason = "loss became " + std::string(std::isnan(loss_value) ? "NaN" : "Inf") +
                             " at epoch " + std::to_string(epoch + 1) + ", batch " +
                             std::to_string(batch_index + 1);
        break;
      }
      loss.backward();
      methods.after_backward();
      dp.after_backward(module);
      clip_gradients(stage_.clipping, module.parameters(true));
      optimizer_->step();
      methods.after_step();
      dp.after_step(module);
      const int64_t n = batch->inputs.size(0);
      train_loss.add(loss_value, static_cast<double>(n));
      BatchScores s = score_batch(stage_.loss, output, batch->targets);
      correct += s.correct;
      total += s.total;
      progress.batch_done(batch_index, train_loss.mean(),
                          total > 0 ? static_cast<double>(correct) / total : 0.0);
      ++batch_index;
    }
    if (bad_loss) {
      progress.end_epoch("stopped");
      result.completed = false;
      log << "stage '" << stage_.name << "': " << result.stop_reason
          << "; stopping the stage. The last good checkpoint "
          << (fs::exists(last_path) ? "(" + last_path + ")" : std::string("(none yet)"))
          << " is kept.\n";
      break;
    }
    dp.sum_counts(correct, total);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double train_accuracy = total > 0 ? static_cast<double>(correct) / total : nan;
    EvalResult val = evaluate(model_, data.val, stage_.loss, stage_.batch_size);
    std::map<std::string, double> metrics = {
        {"train_loss", train_loss.weight() > 0 ? train_loss.mean() : nan},
        {"train_accuracy", train_accuracy},
        {"val_loss", val.loss},
        {"val_accuracy", val.accuracy},
        {"val_auc", val.auc}};
    if (flow) {
      metrics["val_aee"] = val.aee;
      metrics["val_outliers"] = val.outliers;
    }
    const bool is_best = tracker.update(epoch, metrics);
    methods.on_epoch_end(epoch);

    if (dp.is_root()) {
      Checkpoint checkpoint = make_checkpoint(epoch, tracker, methods);
      if (is_best) save_checkpoint(checkpoint, best_path);
      save_checkpoint(checkpoint, last_path);
    }
    result.epochs_run = epoch + 1;
    // Seed 003 logs each layer's quantization range every epoch: EMA observers and membranes.
    if (dp.is_root()) {
      log_quantization_ranges((fs::path(dir) / "quant_ranges.csv").string(), stage_.name, epoch + 1,
                              module);
    }

    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    std::vector<std::string> row = {stage_.name,
                                    std::to_string(epoch + 1),
                                    number(lr),
                                    number(metrics["train_loss"]),
                                    number(train_accuracy),
                                    number(val.loss),
                                    number(val.accuracy),
                                    number(val.auc)};
    if (flow) {
      row.push_back(number(val.aee));
      row.push_back(number(val.outliers));
    }
    row.push_back(format_number(seconds, 4));
    csv.append(row);
    std::ostringstream summary;
    summary << "lr " << format_number(lr, 4) << "  loss " << format_number(metrics["train_loss"], 5)
            << "  acc " << number(train_accuracy) << "  val_loss " << format_number(val.loss, 5)
            << "  val_acc " << number(val.accuracy);
    if (!std::isnan(val.auc)) summary << "  val_auc " << format_number(val.auc, 5);
    if (flow) {
      summary << "  val_aee " << number(val.aee) << "  val_outliers " << number(val.outliers);
    }
    summary << "  " << format_number(seconds, 3) << " s" << (is_best ? "  *best" : "");
    progress.end_epoch(summary.str());
    if (epoch + 1 < stage_.epochs && dp.any(options_.stop_requested && options_.stop_requested())) {
      result.completed = false;
      result.interrupted = true;
      result.stop_reason = "interrupted after epoch " + std::to_string(epoch + 1);
      log << "stage '" << stage_.name << "': " << result.stop_reason
          << "; continue with --resume\n";
      break;
    }
  }

  if (dp.active() && dp.steps() > 0) {
    log << "stage '" << stage_.name << "': " << dp.world_size() << " ranks, gradient and buffer "
        << "allreduce " << format_number(1000.0 * dp.comm_seconds() / dp.steps(), 4)
        << " ms per step\n";
  }
  if (result.completed && methods.has_average()) {
    const int64_t limit = methods.bn_batches();
    methods.finish([&] {
      loader.start_epoch(stage_.epochs);
      // Leaving the epoch early is safe: the loader stops its worker when it is destroyed.
      for (int64_t seen = 0; limit < 0 || seen < limit; ++seen) {
        auto batch = loader.next();
        if (!batch) break;
        model_.forward(batch->inputs);
      }
    });
    dp.average_buffers(module);  // each rank recomputed batch-norm statistics on its shard
    EvalResult val = evaluate(model_, data.val, stage_.loss, stage_.batch_size);
    const std::map<std::string, double> swa_metrics = {{"val_loss", val.loss},
                                                       {"val_accuracy", val.accuracy},
                                                       {"val_auc", val.auc},
                                                       {"val_aee", val.aee},
                                                       {"val_outliers", val.outliers}};
    log << "stage '" << stage_.name << "': SWA model val_loss " << format_number(val.loss, 5)
        << "  val_acc " << number(val.accuracy);
    if (tracker.has_best()) {
      log << " (best single epoch " << tracker.best_epoch() + 1 << ": " << stage_.best_metric << " "
          << format_number(tracker.best_value(), 5) << ")";
    }
    log << "; the SWA model is the stage's result\n";
    // The averaged model replaces best.pt: it is what the stage was asked to produce.
    BestMetricTracker swa_tracker(stage_.best_metric, stage_.best_mode, stage_.best_min_delta);
    const auto found = swa_metrics.find(stage_.best_metric);
    swa_tracker.update(
        stage_.epochs - 1,
        {{stage_.best_metric,
          found != swa_metrics.end() ? found->second : std::numeric_limits<double>::quiet_NaN()}});
    if (dp.is_root()) {
      save_checkpoint(make_checkpoint(stage_.epochs - 1, swa_tracker, methods), best_path);
    }
  }

  // The final numbers come from the best weights, as the seeds report them.
  if (dp.is_root() && fs::exists(best_path)) {
    Checkpoint best = load_checkpoint(best_path);
    load_model_state(module, best.model, best_path);
    result.best_epoch = best.epoch;
    result.best_metric = best.best_metric;
  }
  dp.broadcast(module);  // rank 0's best weights, with no second reader of a file being written
  const bool has_test = data.test.size() > 0;
  result.test_set = has_test ? "test" : "val";
  result.test = evaluate(model_, has_test ? data.test : data.val, stage_.loss, stage_.batch_size);
  result.parameters = parameter_count(module);
  result.weight_bytes = weight_bytes(module);
  result.bits = bits_summary(module);
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stage_start).count();
  log << "stage '" << stage_.name << "': " << result.test_set << " loss "
      << format_number(result.test.loss, 5) << "  accuracy " << number(result.test.accuracy);
  if (!std::isnan(result.test.auc)) log << "  auc " << format_number(result.test.auc, 5);
  if (flow) {
    log << "  aee " << number(result.test.aee) << "  outliers " << number(result.test.outliers);
  }
  log << "  (best epoch " << result.best_epoch + 1 << ")\n";
  return result;
}

}  // namespace lowbit::train
