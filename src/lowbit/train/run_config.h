// The run configuration: data, model and an ordered list of training stages, read strictly from
// YAML (every unknown key is an error naming the key, file and line). docs/config.md documents
// every key and its default.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/config/config_reader.h"
#include "lowbit/train/checkpoint/best_metric_tracker.h"
#include "lowbit/train/loss.h"
#include "lowbit/train/methods/methods_config.h"
#include "lowbit/train/optim/grad_clip.h"
#include "lowbit/train/optim/lr_curve.h"
#include "lowbit/train/optim/optimizer_factory.h"
#include "lowbit/train/regularizers/regularizer.h"

namespace lowbit::train {

/// The most epochs one stage may train.
inline constexpr int64_t kMaxEpochs = 1000000;
/// The largest batch size a stage may ask for.
inline constexpr int64_t kMaxBatchSize = int64_t{1} << 20;
/// The most stages a run may have.
inline constexpr size_t kMaxStages = 1000;
/// The longest stage name.
inline constexpr size_t kMaxStageNameLength = 64;
/// The longest file path (`output`, `from`, `teacher`) or layer glob a config may give.
inline constexpr size_t kMaxConfigPathLength = 4096;

/// True if `name` is safe as a stage name and so as a folder name in the run directory: 1 to
/// kMaxStageNameLength letters, digits, '_', '-', '.' or '+', not starting with '.', '-' or '+'
/// (so never `.`, `..`, a hidden file or an option).
bool is_safe_stage_name(const std::string& name);

/// Quantizer SPECs for the layers whose names match one glob.
struct LayerQuantOverride {
  /// fnmatch glob over the layer's dotted module name, e.g. "fc*" or "block1.*".
  std::string pattern;
  /// Weight SPEC ("none" or "" = no quantizer); unset keeps the default.
  std::optional<std::string> weights;
  /// Bias SPEC; unset keeps the default.
  std::optional<std::string> biases;
  /// Layer-input SPEC of QLinear/QConv2d; unset keeps the default.
  std::optional<std::string> inputs;
  /// Layer-output SPEC of QLinear/QConv2d; unset keeps the default.
  std::optional<std::string> outputs;
  /// Output SPEC of QActivation layers; unset keeps the default.
  std::optional<std::string> activations;
  /// Membrane bits of matching nn::Leaky layers (0: float); unset keeps the default.
  std::optional<int> state;
};

/// The quantizers a stage puts on the model's quantizable layers ("" means none: full precision).
struct QuantizationConfig {
  /// Default weight SPEC of QLinear/QConv2d.
  std::string weights;
  /// Default bias SPEC of QLinear/QConv2d.
  std::string biases;
  /// Default input SPEC of QLinear/QConv2d.
  std::string inputs;
  /// Default output SPEC of QLinear/QConv2d.
  std::string outputs;
  /// Default output SPEC of QActivation.
  std::string activations;
  /// Membrane bits of every nn::Leaky (snnTorch's state_quant grid tied to the threshold,
  /// docs/spiking.md); 0 keeps the membrane in float.
  int state = 0;
  /// Per-layer overrides, applied in order (a later match wins).
  std::vector<LayerQuantOverride> layers;
};

/// What an epoch event does.
enum class EventAction {
  kSetBits,          ///< set the bit width of matching quantizers
  kSwitchQuantizer,  ///< replace matching quantizers by a new SPEC
  kFreeze,           ///< freeze learned step sizes / clipping levels / observers
  kUnfreeze,         ///< release them again
  kSetLr,            ///< multiply the scheduled LR so the base LR becomes `lr`
  kFoldBatchNorm,    ///< fold batch norms into the QLinear/QConv2d before them
};

/// The action names accepted in configs, in enum order.
const std::vector<std::string>& event_action_names();

/// The quantizer slots an event may target.
const std::vector<std::string>& event_role_names();

/// A change applied at the start of one epoch of a stage.
struct EpochEvent {
  /// The epoch (0-based, within the stage) at whose start the event fires.
  int64_t at = 0;
  /// What it does.
  EventAction action = EventAction::kSetBits;
  /// fnmatch glob over layer names (default "*": every quantized layer; for kFoldBatchNorm the
  /// batch norms' names).
  std::string layers = "*";
  /// Quantizer slot: weights, biases, inputs, outputs, activations, state (the membrane of
  /// nn::Leaky layers; set_bits only) or all (default all; includes quantized membranes).
  std::string role = "all";
  /// kSetBits: the new width.
  int bits = 0;
  /// kSwitchQuantizer: the new SPEC.
  std::string spec;
  /// kSetLr: the new base LR.
  double lr = 0.0;
};

/// One training stage.
struct StageConfig {
  /// Unique name; also the folder of its checkpoints in the run directory.
  std::string name;
  /// Warm start: an earlier stage's name or a checkpoint file; empty for none.
  std::string from;
  /// Whether `from` names an earlier stage (else a checkpoint file).
  bool from_stage = false;
  /// A warm start that cannot copy every non-quantizer tensor is an error.
  bool strict = false;
  /// The stage's own `model:` section (a distillation teacher of another architecture than the
  /// run's model); the run's `model:` when absent.
  std::optional<config::ConfigNode> model;
  /// Quantizers of the stage.
  QuantizationConfig quantization;
  /// Epochs to train (>= 1).
  int64_t epochs = 1;
  /// Samples per batch.
  int64_t batch_size = 64;
  /// Optimizer settings.
  OptimizerConfig optimizer;
  /// LR schedule.
  LrScheduleConfig lr_schedule;
  /// Gradient clipping.
  ClipConfig clipping;
  /// Loss function.
  LossConfig loss;
  /// Metric (and mode) choosing the best epoch; without a `best:` section val_accuracy, or
  /// val_aee (mode min) for a flow loss.
  std::string best_metric = "val_accuracy";
  /// Whether larger or smaller values of best_metric are better.
  MetricMode best_mode = MetricMode::kMax;
  /// Smallest improvement that counts as a new best.
  double best_min_delta = 0.0;
  /// Extra loss terms.
  std::vector<std::shared_ptr<Regularizer>> regularizers;
  /// Training methods hooked into the loop (distillation, pruning, SWA, weight report).
  MethodsConfig methods;
  /// Events, sorted by epoch (stable for events of one epoch).
  std::vector<EpochEvent> events;
  /// The stage's section as YAML text (saved in checkpoints).
  std::string yaml;
};

/// A whole run.
struct RunConfig {
  /// Seeds model initialisation, shuffling and every per-epoch RNG.
  uint64_t seed = 1;
  /// Intra-op CPU threads (at::set_num_threads).
  int threads = 1;
  /// `device`: cpu (default), cuda or auto (the GPU when LibTorch sees one).
  std::string device = "cpu";
  /// Run directory for checkpoints, metrics.csv and results.
  std::string output;
  /// The `data:` section, read by the data builder.
  std::optional<config::ConfigNode> data;
  /// The `model:` section, read by models::build_model.
  std::optional<config::ConfigNode> model;
  /// The stages in order.
  std::vector<StageConfig> stages;
  /// The file the config was read from.
  std::string file;
  /// The effective config (the file with its `--set` overrides) as YAML text; run_training
  /// saves it as config.yaml in the run directory when set.
  std::string text;

  /// The stage named `name`; throws config::ConfigError listing the stage names otherwise.
  const StageConfig& stage(const std::string& name) const;
  /// The model section `stage` trains: its own `model:`, else the run's.
  const config::ConfigNode& model_of(const StageConfig& stage) const;
  /// model_of(stage) as YAML text: two stages train the same architecture when these are equal.
  std::string model_text(const StageConfig& stage) const;
};

/// Whether `stage` trains without any quantizer: its `quantization:` sets none and no event
/// switches one in. Such a stage has no integer model by design.
bool trains_full_precision(const StageConfig& stage);

/// Reads a quantization section (`weights`, `biases`, `inputs`, `outputs`, `activations`,
/// `state` (membrane bits, 0..16), `layers: [{match, ...}]`); every SPEC is checked with the
/// quantizer registry.
QuantizationConfig parse_quantization(const config::ConfigNode& node);

/// Reads one event of a stage of `epochs` epochs.
EpochEvent parse_event(const config::ConfigNode& node, int64_t epochs);

/// Reads one stage; `earlier` are the names of the stages before it.
StageConfig parse_stage(const config::ConfigNode& node, const std::vector<std::string>& earlier);

/// Reads a run from a parsed root node (calls done() on every section it owns; `data` and
/// `model` are checked by their builders).
RunConfig parse_run_config(const config::ConfigNode& root);

/// Loads a run config file with `--set` overrides applied.
RunConfig load_run_config(const std::string& file, const std::vector<std::string>& overrides = {});

}  // namespace lowbit::train
