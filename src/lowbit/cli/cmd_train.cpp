// `lowbit train CFG [--set key.path=value ...] [--out DIR] [--stage NAME]
// [--resume] [--nproc N]`: runs the stages of a run config, in one process, as a worker of a
// data-parallel job (RANK/WORLD_SIZE/... set by torchrun or Slurm), or as the launcher of N
// local workers.
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/cli/commands.h"
#include "lowbit/cli/trained_stage.h"
#include "lowbit/dist/c10d_communicator.h"
#include "lowbit/dist/env.h"
#include "lowbit/dist/launcher.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/report/report.h"
#include "lowbit/train/device.h"
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
  int nproc = 0;  ///< Local workers to launch (0: this process trains).
  bool resume = false;
  bool no_report = false;
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
  const exporter::IntegerModel model = convert_trained_stage(trained);
  const exporter::ModelCost cost = exporter::model_cost(model);
  train::StageCost sizes{cost.flash_bytes, cost.macs, cost.scratch_bytes, cost.macs_per_step};
  if (model.time_steps > 0) {
    sizes.synaptic_ops_per_step = sequence_activity(trained, model).synaptic_ops_per_step;
  }
  return sizes;
}

// `--nproc N`: N workers of this same command line (without --nproc); exits with the code of
// the first that failed, after stopping the others.
[[noreturn]] void launch_workers(const TrainOptions& o) {
  if (dist::process_env("WORLD_SIZE")) {
    throw std::invalid_argument(
        "--nproc starts its own workers, but WORLD_SIZE is set (this process is already one "
        "rank of a job): leave out --nproc under torchrun or srun");
  }
  std::cout.flush();
  std::exit(dist::launch_local_workers(dist::without_nproc(dist::own_arguments()), o.nproc,
                                       std::cerr, dist::read_timeouts()));
}

void run_train(const TrainOptions& o) {
  train::RunConfig config = train::load_run_config(o.config, o.overrides);
  if (o.nproc > 0) launch_workers(o);  // the config is checked once, before any worker starts
  // One process, or one rank of a job described by the torchrun variables.
  const std::optional<dist::JobEnv> job = dist::read_job_env();
  std::unique_ptr<dist::Communicator> comm =
      dist::connect(job, train::resolve_device(config.device, job ? job->local_rank : 0).is_cuda());
  std::ostream quiet(nullptr);  // the other ranks print errors only
  if (!o.out.empty()) config.output = o.out;
  train::RunOptions options;
  options.only_stage = o.stage;
  options.resume = o.resume;
  options.live_progress = train::stdout_is_terminal();
  options.stop_requested = [] { return interrupt_requested.load(); };
  options.stage_cost = stage_cost;
  options.comm = comm.get();
  options.local_rank = job ? job->local_rank : 0;
  if (!comm->is_root()) {
    options.log = &quiet;
    options.live_progress = false;
  }
  interrupt_requested = false;
  std::signal(SIGINT, on_interrupt);
  train::RunSummary summary = train::run_training(config, options);
  std::signal(SIGINT, SIG_DFL);
  if (!comm->is_root()) {
    if (!summary.stopped.empty()) throw std::runtime_error(summary.stopped);
    return;
  }
  std::cout << "results: " << config.output << "/results.md\n";
  // The report is a view of what the run wrote: failing to draw it loses no training, so it is a
  // warning (`lowbit report` retries it and says the same thing as an error).
  if (!o.no_report) {
    try {
      const std::string page = report::write_report(config.output);
      std::cout << "report: " << page << "\n";
    } catch (const std::exception& e) {
      std::cerr << "lowbit: warning: report not written: " << e.what() << "\n";
    }
  }
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
  cmd->add_option("--nproc", o->nproc,
                  "Train data-parallel on N local worker processes (docs/distributed.md)")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--resume", o->resume,
                "Skip completed stages and continue the interrupted one from "
                "its last epoch");
  cmd->add_flag("--no-report", o->no_report,
                "Do not write RUN/report.html at the end (see `lowbit report`)");
  cmd->callback([o] { run_train(*o); });
}

}  // namespace lowbit::cli
