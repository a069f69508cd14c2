#include "lowbit/train/methods/stage_methods.h"

#include <torch/autograd.h>

#include <map>
#include <stdexcept>

#include "lowbit/train/methods/weight_report.h"

namespace lowbit::train {
namespace {

const std::vector<std::string>& weight_columns() {
  static const std::vector<std::string> columns = {"stage", "epoch",   "layer",  "bits",
                                                   "clip",  "entropy", "frozen", "sparsity"};
  return columns;
}

// Saved tensors are looked up by these prefixes plus an index.
constexpr const char* kMaskKey = "prune.mask.";
constexpr const char* kRewindKey = "prune.rewind.";
constexpr const char* kSwaSumKey = "swa.sum.";
constexpr const char* kSwaCountKey = "swa.count";

std::vector<torch::Tensor> indexed(const NamedTensors& state, const std::string& prefix) {
  std::vector<torch::Tensor> tensors;
  while (const torch::Tensor* t = state.find(prefix + std::to_string(tensors.size()))) {
    tensors.push_back(*t);
  }
  return tensors;
}

torch::Tensor as_logits(const torch::Tensor& output, OutputKind kind) {
  // Probabilities of a sigmoid output go back to logits; eps keeps saturated ones finite.
  return kind == OutputKind::kProbabilities ? torch::logit(output, 1e-6) : output;
}

}  // namespace

StageMethods::StageMethods(const MethodsConfig& config, torch::nn::Module& model,
                           torch::nn::AnyModule teacher, OutputKind outputs,
                           std::string weights_csv, std::string stage, std::ostream& log)
    : config_(config),
      model_(&model),
      teacher_(std::move(teacher)),
      outputs_(outputs),
      weights_csv_(std::move(weights_csv)),
      stage_(std::move(stage)),
      log_(&log) {
  if (config_.distill && teacher_.is_empty()) {
    throw std::invalid_argument("stage '" + stage_ + "': methods.distill needs a teacher model");
  }
  if (!teacher_.is_empty()) teacher_.ptr()->eval();
  if (config_.prune) pruner_ = std::make_unique<Pruner>(model, config_.prune->scope);
  if (config_.swa) averager_ = std::make_unique<WeightAverager>(model);
  if (config_.weight_report)
    weights_log_ = std::make_unique<CsvLog>(weights_csv_, weight_columns());
}

bool StageMethods::on_epoch_start(int64_t epoch) {
  if (!pruner_) return false;
  const PruneConfig& prune = *config_.prune;
  const std::string prefix = "stage '" + stage_ + "' epoch " + std::to_string(epoch + 1) + ": ";
  // The lottery-ticket rewind point is the warm-start state, before any training step.
  if (prune.rewind && epoch == 0 && pruner_->rewind_point().empty()) pruner_->save_rewind_point();
  const double before = pruner_->sparsity();
  if (prune.channel_fraction > 0.0 && epoch == prune.schedule.begin) {
    pruner_->prune_channel_groups(prune.channel_fraction, prune.group_size);
  }
  const double target = scheduled_sparsity(prune.schedule, epoch);
  if (target > 0.0) pruner_->prune_to(target);
  bool changed = pruner_->sparsity() > before;
  if (changed) {
    *log_ << prefix << "pruned to sparsity " << format_number(pruner_->sparsity(), 4)
          << " (schedule " << format_number(target, 4) << ")\n";
  }
  if (prune.rewind && epoch == prune.schedule.end) {
    pruner_->rewind();
    changed = true;
    *log_ << prefix << "rewound the surviving weights to the stage's initial values\n";
  }
  return changed;
}

torch::Tensor StageMethods::loss(const torch::Tensor& output, const torch::Tensor& inputs,
                                 const torch::Tensor& task_loss) {
  if (!config_.distill) return task_loss;
  torch::Tensor teacher_output;
  {
    torch::NoGradGuard no_grad;
    teacher_output = teacher_.forward(inputs);
  }
  DistillationOptions options = config_.distill->options;
  options.binary = outputs_ != OutputKind::kLogits;
  return distillation_loss(as_logits(output, outputs_), as_logits(teacher_output, outputs_),
                           task_loss, options);
}

void StageMethods::after_backward() {
  if (pruner_) pruner_->mask_gradients();
}

void StageMethods::after_step() {
  if (pruner_) pruner_->apply_masks();
}

void StageMethods::on_epoch_end(int64_t epoch) {
  if (averager_ && epoch >= config_.swa->start_epoch) {
    try {
      averager_->update();
    } catch (const std::logic_error& e) {
      throw std::runtime_error("stage '" + stage_ + "' epoch " + std::to_string(epoch + 1) +
                               ": SWA cannot average across a change of the parameter set (a "
                               "switch_quantizer event inside the SWA window?): " +
                               e.what());
    }
  }
  if (weights_log_) {
    const std::vector<LayerWeightReport> report = weight_report(*model_);
    *log_ << "stage '" << stage_ << "' epoch " << epoch + 1
          << ": weights clip/entropy[bits]: " << format_weight_report(report) << "\n";
    std::map<std::string, double> sparsity_of;
    if (pruner_) {
      const std::vector<int64_t> pruned = pruner_->pruned_counts();
      for (size_t i = 0; i < pruned.size(); ++i) {
        const PruneMask& m = pruner_->masks()[i];
        sparsity_of[m.name] =
            static_cast<double>(pruned[i]) / static_cast<double>(m.weight.numel());
      }
    }
    for (const LayerWeightReport& layer : report) {
      const auto found = sparsity_of.find(layer.name);
      const std::string sparsity = found == sparsity_of.end() ? "0" : format_number(found->second);
      weights_log_->append({stage_, std::to_string(epoch + 1), layer.name,
                            std::to_string(layer.bits), format_number(layer.clip),
                            format_number(layer.entropy, 4), layer.frozen ? "1" : "0", sparsity});
    }
  }
}

bool StageMethods::finish(const std::function<void()>& run_training_data) {
  if (!has_average()) return false;
  averager_->apply();
  // Snapshots from before a mask grew hold non-zero values of weights pruned later.
  if (pruner_) pruner_->apply_masks();
  reestimate_batch_norm(*model_, run_training_data);
  *log_ << "stage '" << stage_ << "': SWA averaged " << averager_->count()
        << " epochs and re-estimated the BatchNorm statistics\n";
  return true;
}

NamedTensors StageMethods::state() const {
  NamedTensors state;
  if (pruner_) {
    for (size_t i = 0; i < pruner_->masks().size(); ++i) {
      state.insert(kMaskKey + std::to_string(i), pruner_->masks()[i].mask);
    }
    for (size_t i = 0; i < pruner_->rewind_point().size(); ++i) {
      state.insert(kRewindKey + std::to_string(i), pruner_->rewind_point()[i]);
    }
  }
  if (averager_) {
    for (size_t i = 0; i < averager_->sums().size(); ++i) {
      state.insert(kSwaSumKey + std::to_string(i), averager_->sums()[i]);
    }
    state.insert(kSwaCountKey, torch::tensor(averager_->count(), torch::kInt64));
  }
  return state;
}

void StageMethods::load_state(const NamedTensors& state, const std::string& what) {
  try {
    if (pruner_) {
      std::vector<torch::Tensor> masks = indexed(state, kMaskKey);
      if (!masks.empty()) pruner_->restore(masks, indexed(state, kRewindKey));
    }
    if (averager_) {
      const torch::Tensor* count = state.find(kSwaCountKey);
      if (count != nullptr && count->item<int64_t>() > 0) {
        averager_->restore(indexed(state, kSwaSumKey), count->item<int64_t>());
      }
    }
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("checkpoint '" + what + "': the method state does not fit stage '" +
                             stage_ + "': " + e.what());
  }
}

}  // namespace lowbit::train
