// A trained stage rebuilt from its run directory for `lowbit export`, `verify` and `size`: the
// run's saved config.yaml, its data, the model with the stage's quantizers and the best weights.
#pragma once

#include <torch/nn/modules/container/any.h>

#include <cstdint>
#include <string>

#include "lowbit/export/activity.h"
#include "lowbit/export/integer_model.h"
#include "lowbit/export/lowering/lower_model.h"
#include "lowbit/export/target.h"
#include "lowbit/train/run_config.h"
#include "lowbit/train/trainer.h"

namespace lowbit::cli {

/// A stage's trained model, the config it came from and the run's data.
struct TrainedStage {
  std::string run_dir;         ///< The run directory.
  std::string stage;           ///< The stage name.
  std::string checkpoint;      ///< The checkpoint the weights came from.
  std::string config_text;     ///< The run's config.yaml text.
  std::string config_hash;     ///< config_hash(config_text).
  train::RunConfig config;     ///< The parsed run config.
  train::StageData data;       ///< The run's data, split as in training.
  torch::nn::AnyModule model;  ///< The model with the stage's quantizers and best weights.
  /// One sample's CHW shape ({features, 1, 1} for vectors), or frame and time steps.
  exporter::SampleShape input_shape;
};

/// The first `samples` samples of `set` (all when it has fewer) as the int8 codes `model` reads:
/// each value quantized with the model's input scale and zero point, samples back to back.
std::vector<int8_t> quantized_inputs(const data::Dataset& set, const exporter::IntegerModel& model,
                                     int64_t samples);

/// A stable hash of config text: FNV-1a 64 as 16 hex digits.
std::string config_hash(const std::string& text);

/// Loads stage `stage` of run directory `run_dir` (its best.pt), or, when `path` is a checkpoint
/// file, that checkpoint's stage of the run two folders up (`RUN/STAGE/best.pt`; `stage` must then
/// be empty or equal the checkpoint's). Replays the stage's quantizer events up to the
/// checkpoint's epoch. Throws std::runtime_error naming the missing run, config or stage.
/// `data`, when given, is the run's data already loaded (else it is loaded from the config).
TrainedStage load_trained_stage(const std::string& path, const std::string& stage,
                                const train::StageData* data = nullptr);

/// How many evaluation samples sequence_activity() measures by default: enough for rates and
/// synaptic operations to settle to about a percent, few enough for the results table.
inline constexpr int64_t kActivitySamples = 64;

/// The activity (spike rates, synaptic operations per step) of sequence model `model` of the
/// stage on the first `samples` samples of its evaluation split (test, else validation).
exporter::SequenceActivity sequence_activity(const TrainedStage& trained,
                                             const exporter::IntegerModel& model,
                                             int64_t samples = kActivitySamples);

/// Converts the stage's model to an IntegerModel named `name`. A model whose first layer is a
/// QLinear/QConv2d without an input quantizer is an error naming the layer and the config fix.
exporter::IntegerModel convert_trained_stage(TrainedStage& trained,
                                             const std::string& name = "model");

/// convert_trained_stage for an export target: targets without a 64-bit product get their
/// requantization multipliers rounded to 32-bit products (exporter::limit_requant_precision).
exporter::IntegerModel convert_for_target(TrainedStage& trained, const std::string& name,
                                          const exporter::Target& target);

}  // namespace lowbit::cli
