// `lowbit export RUN_DIR --stage NAME --out DIR [--prefix model] [--target T] [--force]` (or a
// checkpoint file
// instead of RUN_DIR and --stage): the stage's best weights as integer-only C (docs/export.md,
// "Commands"). --out is replaced only when it is an earlier export (or, with --force, a foreign
// folder); never the run, a checkpoint or a folder holding them.
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include "lowbit/cli/commands.h"
#include "lowbit/cli/trained_stage.h"
#include "lowbit/export/codegen.h"
#include "lowbit/export/export_folder.h"

namespace lowbit::cli {
namespace {

/// What the command line asked for.
struct ExportOptions {
  std::string run;
  std::string stage;
  std::string out;
  std::string prefix = "model";
  std::string target = "portable";
  bool force = false;
};

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

void run_export(const ExportOptions& o) {
  // Fail before the (possibly slow) loading of the run; export_model checks again before writing.
  exporter::check_export_target(o.out, {o.run}, o.force);
  const exporter::Target& target = exporter::target_named(o.target);
  TrainedStage trained = load_trained_stage(o.run, o.stage);
  const exporter::IntegerModel model = convert_for_target(trained, o.prefix, target);
  exporter::CodegenOptions options;
  options.prefix = o.prefix;
  options.target = target.name;
  options.provenance = {trained.run_dir, trained.stage, trained.config_hash, utc_now()};
  options.protected_paths = {trained.run_dir, trained.checkpoint};
  options.force = o.force;
  const exporter::ModelCost cost = exporter::export_model(model, o.out, options);
  std::cout << "exported stage '" << trained.stage << "' of " << trained.run_dir << " to " << o.out
            << " for target " << target.name << "\n  layers: " << model.layers.size()
            << "\n  flash bytes: " << cost.flash_bytes
            << "\n  scratch bytes: " << cost.scratch_bytes << "\n  MACs: " << cost.macs << "\n";
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "export", "Write a trained stage as integer-only C: model.h, model.c, model.json, runtime/");
  cmd->add_option("run", o->run, "Run directory (with --stage) or a checkpoint file")->required();
  cmd->add_option("--stage", o->stage, "Stage whose best checkpoint is exported");
  cmd->add_option("--out", o->out,
                  "Export folder: a new path, an empty folder or an earlier export (marked by its "
                  ".lowbit-export file), replaced atomically")
      ->required();
  cmd->add_option("--prefix", o->prefix, "C identifier prefix (<prefix>_predict)");
  cmd->add_option("--target", o->target,
                  "Where the C runs: " + exporter::target_names() +
                      " (docs/export.md, \"Targets\"; default portable C99)");
  cmd->add_flag("--force", o->force,
                "Also replace a non-empty --out folder that is not an earlier export (never the "
                "run directory, a folder above it or one holding checkpoints)");
  cmd->callback([o] { run_export(*o); });
}

}  // namespace lowbit::cli
