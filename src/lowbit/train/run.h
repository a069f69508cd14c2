// Runs the stages of a run config in order (or one named stage), warm-starting each from its
// `from`, and writes the results table of every stage to results.md and results.json.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <iostream>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/dist/communicator.h"
#include "lowbit/train/report/results_table.h"
#include "lowbit/train/run_config.h"
#include "lowbit/train/trainer.h"

namespace lowbit::train {

/// What the integer model of a trained stage costs on a device (export/model_cost).
struct StageCost {
  int64_t flash_bytes = 0;  ///< Packed weights, biases and requantization constants.
  int64_t macs = 0;         ///< Multiply-accumulates per inference.
  /// Scratch RAM of one inference: activations, operator scratch and a sequence model's state.
  int64_t ram_bytes = 0;
  int64_t macs_per_step = 0;  ///< A sequence model's multiply-accumulates per time step (else 0).
  /// A sequence model's synaptic operations per time step on evaluation samples (else < 0).
  double synaptic_ops_per_step = -1;
};

/// Costs a trained stage of the run in `run_dir` (its best.pt) with the run's `data`. Throws
/// std::exception saying why when the stage has no integer model (FP, not fully quantized, a layer
/// the exporter does not take); the results then show that reason. Supplied by a layer that can
/// export.
using StageCostFunction = std::function<StageCost(const std::string& run_dir,
                                                  const std::string& stage, const StageData& data)>;

/// Settings of a run that come from the command line.
struct RunOptions {
  std::string only_stage;          ///< Run only this stage (its `from` stage's best.pt is used).
  bool resume = false;             ///< Skip completed stages, continue the interrupted one.
  std::ostream* log = &std::cout;  ///< Where messages and progress go.
  bool live_progress = false;      ///< Draw live progress bars.
  std::function<bool()> stop_requested;  ///< Checked after each epoch (Ctrl-C).
  /// Fills the results table's size columns; unset: they show "-" (docs/config.md, "Results").
  StageCostFunction stage_cost;
  /// The data-parallel job (nullptr: one process). Every rank trains; rank 0 alone writes the
  /// run directory. Not owned.
  dist::Communicator* comm = nullptr;
  /// This process's GPU index for `device: cuda` (LOCAL_RANK in a job).
  int local_rank = 0;
};

/// What a run did.
struct RunSummary {
  std::vector<StageResult> results;  ///< Every stage with a result, in config order.
  std::string stopped;               ///< Why the run did not finish every stage ("" if it did).
  std::string table;                 ///< The results table as printed.
  /// Why a stage has no integer model, by stage name (stages that export are absent).
  std::vector<std::pair<std::string, std::string>> not_exported;
};

/// The size cells of one stage: flash bytes and MACs of its integer model when it has one,
/// else FP32 bytes of its parameters (4 each) and the MACs of any stage of the run that has an
/// integer model (all stages share the architecture), "-" when none has.
struct StageSize {
  std::string flash;                ///< Flash bytes.
  std::string flash_form;           ///< "int" (integer model) or "fp32" (4 bytes per parameter).
  std::string macs = "-";           ///< Multiply-accumulates per inference.
  std::string ram = "-";            ///< Scratch RAM bytes of the integer model (state included).
  std::string macs_per_step = "-";  ///< A sequence model's MACs per time step.
  std::string synaptic_ops = "-";   ///< A sequence model's synaptic operations per time step.
};

/// The size cells of `results` (in order) from `costs` (one per result, nullopt for no integer
/// model); `models` names each result's architecture (its model section; empty: one for all), so
/// that a stage without an integer model shows the MACs of an integer stage of its own model.
std::vector<StageSize> stage_sizes(const std::vector<StageResult>& results,
                                   const std::vector<std::optional<StageCost>>& costs,
                                   const std::vector<std::string>& models = {});

/// The results table: stage, bits, parameters, weight bytes, flash bytes, flash form, MACs,
/// accuracy, auc, epochs, time and status.
ResultsTable results_table(const std::vector<StageResult>& results,
                           const std::vector<StageSize>& sizes);

/// A stage result as results.json stores it.
nlohmann::json stage_result_json(const StageResult& result);

/// Reads a stage result back from stage_result_json().
StageResult stage_result_from_json(const nlohmann::json& json);

/// Runs `config` into config.output. Throws on configuration, data, model or checkpoint errors;
/// a stage stopped by the NaN guard or an interruption is reported in RunSummary::stopped.
RunSummary run_training(const RunConfig& config, const RunOptions& options);

}  // namespace lowbit::train
