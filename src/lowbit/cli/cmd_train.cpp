// `lowbit train CFG [--set key.path=value ...] [--out DIR] [--stage NAME]
// [--resume]`: runs the stages of a run config.
#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/cli/commands.h"
#include "lowbit/cli/trained_stage.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/train/report/progress.h"
#include "lowbit/train/run.h"
#include "lowbit/train/run_config.h"

namespace lowbit::cli {
namespace {

/// What the command line asked for.
struct TrainOptions {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  std::string stage;
  bool resume = false;
};

// Set by the first Ctrl-C; the trainer finishes the epoch, saves it and stops.
std::atomic<bool> interrupt_requested{false};

extern "C" void on_interrupt(int) {
  interrupt_requested = true;
  // A second Ctrl-C ends the program at once.
  std::signal(SIGINT, SIG_DFL);
}

// The results table's size columns: what `lowbit size` reports for the stage's integer model.
// train/ cannot see export/, so the cost comes from here; a stage that does not export throws,
// and the run shows why.
train::StageCost stage_cost(const std::string& run_dir, const std::string& stage,
                            const train::StageData& data) {
  TrainedStage trained = load_trained_stage(run_dir, stage, &data);
  const exporter::ModelCost cost = exporter::model_cost(convert_trained_stage(trained));
  return train::StageCost{cost.flash_bytes, cost.macs};
}

void run_train(const TrainOptions& o) {
  train::RunConfig config = train::load_run_config(o.config, o.overrides);
  if (!o.out.empty()) config.output = o.out;
  train::RunOptions options;
  options.only_stage = o.stage;
  options.resume = o.resume;
  options.live_progress = train::stdout_is_terminal();
  options.stop_requested = [] { return interrupt_requested.load(); };
  options.stage_cost = stage_cost;
  interrupt_requested = false;
  std::signal(SIGINT, on_interrupt);
  train::RunSummary summary = train::run_training(config, options);
  std::signal(SIGINT, SIG_DFL);
  std::cout << "results: " << config.output << "/results.md\n";
  if (!summary.stopped.empty()) throw std::runtime_error(summary.stopped);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd =
      app.add_subcommand("train", "Train the stages of a run config (see docs/config.md)");
  cmd->add_option("config", o->config, "The run's YAML file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--set", o->overrides,
                  "Override a config value, e.g. --set stages.1.epochs=5 (repeatable)");
  cmd->add_option("--out", o->out, "Run directory (default: the config's `output`)");
  cmd->add_option("--stage", o->stage,
                  "Run only this stage, warm-starting from its `from` stage's "
                  "best checkpoint");
  cmd->add_flag("--resume", o->resume,
                "Skip completed stages and continue the interrupted one from "
                "its last epoch");
  cmd->callback([o] { run_train(*o); });
}

}  // namespace lowbit::cli
