// What the report shows of one trained stage beyond its logs, computed from its best checkpoint
// restored through the one stage-restore path: each layer's latent weights against its
// quantizer's grid, the test-set predictions (confusion matrix, ROC), and the integer model's
// cost per layer.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/export/model_cost.h"
#include "lowbit/train/run_config.h"
#include "lowbit/train/trainer.h"

namespace lowbit::report {

/// One layer's latent (float) weights and the grid its quantizer puts them on.
struct LayerWeightData {
  std::string layer;           ///< Module path of the layer.
  std::string spec;            ///< The weight quantizer's SPEC ("" when not quantized).
  int bits = 32;               ///< Bits per weight code (32 when not quantized).
  std::vector<float> values;   ///< The latent weights, flattened in storage order.
  std::vector<double> levels;  ///< The grid's values (per channel: those of channel `channel`).
  int64_t channel = -1;        ///< For a per-channel grid the channel whose levels are shown.
  int64_t channels = 0;        ///< Number of channels with their own grid (0: per tensor).
  double clip_low = std::numeric_limits<double>::quiet_NaN();   ///< Smallest level.
  double clip_high = std::numeric_limits<double>::quiet_NaN();  ///< Largest level.
  std::vector<int64_t> codes;        ///< The integer codes of the grid, ascending.
  std::vector<int64_t> code_counts;  ///< Weights on each code.
  double entropy = std::numeric_limits<double>::quiet_NaN();  ///< Of the codes, bits/weight.
};

/// The stage's predictions on the test set (the validation set when there is none).
struct Predictions {
  std::string set;             ///< "test" or "val".
  bool binary = false;         ///< A binary task: `scores` and `labels` hold the ROC data.
  std::vector<double> scores;  ///< Positive-class scores as the loss reads the outputs.
  std::vector<int> labels;     ///< 0/1 labels.
  int64_t classes = 0;         ///< Classes of the confusion matrix (0: not a classification).
  std::vector<std::vector<int64_t>> confusion;  ///< confusion[true][predicted].
  std::vector<int64_t> flow_samples;  ///< Flow tasks: the samples drawn (the first up to 3).
  /// train::flow_comparison_image of each: predicted | true flow, uint8 [H, 2 W + gap, 3].
  std::vector<torch::Tensor> flow_images;
};

/// One trained stage.
struct StageAnalysis {
  std::string stage;                        ///< Stage name.
  std::vector<LayerWeightData> layers;      ///< Every QLinear/QConv2d weight, in module order.
  Predictions predictions;                  ///< Test-set predictions.
  std::optional<exporter::ModelCost> cost;  ///< The integer model's cost, when it has one.
  std::vector<std::string> cost_ops;        ///< The op of each layer of `cost`.
  std::string no_cost;                      ///< Why there is no cost ("" when there is).
};

/// The weights of `model`'s quantized layers and their grids (model in eval mode).
std::vector<LayerWeightData> layer_weight_data(torch::nn::Module& model);

/// The predictions of `model` on `data`'s test set (validation set when empty) for `stage`'s
/// loss: binary tasks give scores and labels, class-id targets a confusion matrix, flow tasks the
/// flow images of the first (up to) `flow_samples` samples.
Predictions stage_predictions(torch::nn::AnyModule& model, const train::StageConfig& stage,
                              const train::StageData& data, int64_t flow_samples = 3);

/// Restores stage `stage` of the run in `run_dir` (its best.pt) with the run's `config` and
/// `data`, and computes its analysis. `export_error` is the reason results.json gives for the
/// stage having no integer model ("" to try lowering it). Throws std::runtime_error naming the
/// checkpoint when it is missing or does not load.
StageAnalysis analyse_stage(const std::string& run_dir, const train::RunConfig& config,
                            const train::StageData& data, const std::string& stage,
                            const std::string& export_error);

}  // namespace lowbit::report
