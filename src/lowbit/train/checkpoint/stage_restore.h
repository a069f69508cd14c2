// The one way a trained stage's model is rebuilt from a checkpoint: build the model, put the
// stage's quantizers on it, replay the quantizer events of the epochs the checkpoint has seen, and
// load the saved tensors (empty lazy buffers take the saved shapes). Resume, the distillation
// teacher and `lowbit export` / `verify` / `size` all go through it, so they cannot drift apart.
#pragma once

#include <torch/nn/modules/container/any.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/config/config_reader.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/train/run_config.h"

namespace lowbit::train {

/// The quantizers a checkpoint's weights were trained under: the stage's quantization section and
/// its epoch events (sorted by epoch).
struct StageQuantizers {
  QuantizationConfig quantization;  ///< The stage's quantizers before any event.
  std::vector<EpochEvent> events;   ///< The stage's events, in firing order.
};

/// The quantizers of a stage of the run config.
StageQuantizers stage_quantizers(const StageConfig& stage);

/// The quantizers recorded in a checkpoint's saved stage section (for a checkpoint file that no
/// stage of the current run wrote); `what` names the checkpoint in errors.
StageQuantizers saved_stage_quantizers(const Checkpoint& checkpoint, const std::string& what);

/// Replays on `model` the quantizer events of epochs 0..`epoch` in firing order (set_lr events
/// change no tensor and are skipped), then loads `state` (load_model_state). The model then has
/// exactly the quantizers it had when the state was saved after epoch `epoch`.
void restore_model_state(torch::nn::Module& model, const std::vector<EpochEvent>& events,
                         int64_t epoch, const NamedTensors& state, const std::string& what);

/// Builds the model of the `model:` section `model_config` for `in_features` inputs and `outputs`
/// outputs (seeded with `seed`), puts `quantizers` on it and restores `checkpoint` (read from
/// `what`) into it. Returns the model in eval mode.
torch::nn::AnyModule restore_stage_model(const config::ConfigNode& model_config,
                                         int64_t in_features, int64_t outputs,
                                         const StageQuantizers& quantizers,
                                         const Checkpoint& checkpoint, const std::string& what,
                                         uint64_t seed);

}  // namespace lowbit::train
