// What `lowbit compare`, `quant-info` and `flow-image` share: reading a run's saved config,
// checking that the stages asked for exist and are trained (errors name the stage and the run),
// and the samples a trained stage is evaluated on.
#pragma once

#include <string>
#include <vector>

#include "lowbit/train/run_config.h"
#include "lowbit/train/trainer.h"

namespace lowbit::cli {

/// The run config `run_dir`/config.yaml that `lowbit train` saved; throws std::runtime_error
/// naming the folder when it is not a run directory.
train::RunConfig read_run_config(const std::string& run_dir);

/// Checks that `stage` is a stage of `config` (the run in `run_dir`) and has a best.pt; throws
/// std::runtime_error naming `command`, the stage, the run and what to do otherwise.
void require_trained_stage(const train::RunConfig& config, const std::string& run_dir,
                           const std::string& stage, const std::string& command);

/// The names in a comma-separated list ("fp,w8, w4"), spaces trimmed; an empty name or a name
/// listed twice is std::invalid_argument naming `option`.
std::vector<std::string> split_names(const std::string& list, const std::string& option);

/// The set a stage's result is measured on, as the trainer does: the test set, or the validation
/// set when there is no test set. `name` receives "test" or "val".
const data::Dataset& evaluation_set(const train::StageData& data, std::string* name = nullptr);

}  // namespace lowbit::cli
