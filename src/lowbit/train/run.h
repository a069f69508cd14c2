// Runs the stages of a run config in order (or one named stage), warm-starting each from its
// `from`, and writes the results table of every stage to results.md and results.json.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "lowbit/train/run_config.h"
#include "lowbit/train/trainer.h"

namespace lowbit::train {

/// Settings of a run that come from the command line.
struct RunOptions {
  std::string only_stage;          ///< Run only this stage (its `from` stage's best.pt is used).
  bool resume = false;             ///< Skip completed stages, continue the interrupted one.
  std::ostream* log = &std::cout;  ///< Where messages and progress go.
  bool live_progress = false;      ///< Draw live progress bars.
  std::function<bool()> stop_requested;  ///< Checked after each epoch (Ctrl-C).
};

/// What a run did.
struct RunSummary {
  std::vector<StageResult> results;  ///< Every stage with a result, in config order.
  std::string stopped;               ///< Why the run did not finish every stage ("" if it did).
  std::string table;                 ///< The results table as printed.
};

/// A stage result as results.json stores it.
nlohmann::json stage_result_json(const StageResult& result);

/// Reads a stage result back from stage_result_json().
StageResult stage_result_from_json(const nlohmann::json& json);

/// Runs `config` into config.output. Throws on configuration, data, model or checkpoint errors;
/// a stage stopped by the NaN guard or an interruption is reported in RunSummary::stopped.
RunSummary run_training(const RunConfig& config, const RunOptions& options);

}  // namespace lowbit::train
