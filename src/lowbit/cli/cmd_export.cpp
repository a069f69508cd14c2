// `lowbit export RUN_DIR --stage NAME --out DIR [--format c|qdq|qonnx] [--prefix model]
// [--target T] [--opset N] [--int4-weights] [--runnable-functions] [--force]` (or a checkpoint
// file instead of RUN_DIR and --stage): the stage's best weights as integer-only C (the default)
// or as an ONNX file, QDQ for ONNX Runtime or QONNX for hls4ml and FINN (docs/export.md,
// "Commands" and "ONNX"). --out is replaced only when it is an earlier export (or, with --force, a
// foreign folder); never the run, a checkpoint or a folder holding them.
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "lowbit/cli/commands.h"
#include "lowbit/cli/trained_stage.h"
#include "lowbit/export/c/codegen.h"
#include "lowbit/export/export_folder.h"
#include "lowbit/export/onnx/onnx_export.h"

namespace lowbit::cli {
namespace {

/// What the command line asked for.
struct ExportOptions {
  std::string run;
  std::string stage;
  std::string out;
  std::string format = "c";
  std::string prefix = "model";
  std::string target = "portable";
  int opset = 13;
  bool int4_weights = false;
  bool runnable_functions = false;
  bool force = false;
  // Which of the format-specific options were given (CLI11 counts), to refuse a wrong pairing.
  bool given_prefix = false;
  bool given_target = false;
  bool given_opset = false;
};

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Options of one format given with another are refused before anything is loaded: silently
// ignoring --target for an ONNX file would hand the user a file for another machine than asked.
void check_format_options(const ExportOptions& o) {
  const std::string where = "export --format " + o.format + ": ";
  if (o.format == "c") {
    if (o.given_opset)
      throw std::invalid_argument(where + "--opset is an ONNX option (qdq, qonnx)");
    if (o.int4_weights) throw std::invalid_argument(where + "--int4-weights is a qdq option");
    if (o.runnable_functions) {
      throw std::invalid_argument(where + "--runnable-functions is a qonnx option");
    }
    return;
  }
  exporter::onnx_format_named(o.format);  // throws naming the choices
  if (o.given_target) {
    throw std::invalid_argument(where + "--target chooses the C code's machine; it applies to " +
                                "--format c only (an ONNX file runs wherever its runtime does)");
  }
  if (o.given_prefix) {
    throw std::invalid_argument(where + "--prefix names the C identifiers; it applies to " +
                                "--format c only");
  }
  if (o.int4_weights && o.format != "qdq") {
    throw std::invalid_argument(where + "--int4-weights is a qdq option");
  }
  if (o.runnable_functions && o.format != "qonnx") {
    throw std::invalid_argument(where + "--runnable-functions is a qonnx option");
  }
}

void run_c_export(const ExportOptions& o) {
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

void run_onnx_export(const ExportOptions& o) {
  exporter::check_export_target(o.out, {o.run}, o.force);
  exporter::OnnxOptions options;
  options.format = exporter::onnx_format_named(o.format);
  options.opset = o.opset;
  options.int4_weights = o.int4_weights;
  options.runnable_functions = o.runnable_functions;
  TrainedStage trained = load_trained_stage(o.run, o.stage);
  exporter::IntegerModel model;
  try {
    model = convert_trained_stage(trained, "model");
  } catch (const std::exception& error) {
    // The lowering names the layer; say which format and stage could not be written.
    throw std::runtime_error("export --format " + o.format + " of stage '" + trained.stage +
                             "': " + error.what());
  }
  options.provenance = {trained.run_dir, trained.stage, trained.config_hash, utc_now()};
  options.protected_paths = {trained.run_dir, trained.checkpoint};
  options.force = o.force;
  const exporter::OnnxExportResult result = exporter::export_onnx(model, o.out, options);
  std::cout << "exported stage '" << trained.stage << "' of " << trained.run_dir << " to "
            << result.model_path << " as " << o.format << " (opset " << options.opset << ")"
            << "\n  layers: " << model.layers.size() << "\n  file bytes: " << result.file_bytes
            << "\n  ONNX checker: "
            << (result.checked ? "passed" : "not run (opset above 17, which Debian's ONNX checks)")
            << "\n";
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Write a trained stage as integer-only C (model.h, model.c, model.json, runtime/) or as "
      "ONNX (model.onnx, model.json: QDQ or QONNX)");
  cmd->add_option("run", o->run, "Run directory (with --stage) or a checkpoint file")->required();
  cmd->add_option("--stage", o->stage, "Stage whose best checkpoint is exported");
  cmd->add_option("--out", o->out,
                  "Export folder: a new path, an empty folder or an earlier export (marked by its "
                  ".lowbit-export file), replaced atomically")
      ->required();
  cmd->add_option("--format", o->format,
                  "c (integer-only C99, default), qdq (ONNX QuantizeLinear/DequantizeLinear for "
                  "ONNX Runtime) or qonnx (ONNX with QONNX Quant ops for hls4ml and FINN); "
                  "docs/export.md, \"ONNX\"")
      ->check(CLI::IsMember({"c", "qdq", "qonnx"}));
  auto* prefix = cmd->add_option("--prefix", o->prefix, "C identifier prefix (<prefix>_predict)");
  auto* target = cmd->add_option("--target", o->target,
                                 "Where the C runs: " + exporter::target_names() +
                                     " (docs/export.md, \"Targets\"; default portable C99)");
  auto* opset = cmd->add_option("--opset", o->opset,
                                "ONNX default-domain opset: qdq 13..21, qonnx 13..17 (default 13; "
                                "files up to 17 are checked with ONNX's checker)");
  cmd->add_flag("--int4-weights", o->int4_weights,
                "qdq at --opset 21 or later: weights of at most 4 bits stored as INT4");
  cmd->add_flag("--runnable-functions", o->runnable_functions,
                "qonnx: add FunctionProto definitions of Quant and BipolarQuant from standard ops, "
                "so ONNX Runtime can run the file (hls4ml and FINN ignore them)");
  cmd->add_flag("--force", o->force,
                "Also replace a non-empty --out folder that is not an earlier export (never the "
                "run directory, a folder above it or one holding checkpoints)");
  cmd->callback([o, prefix, target, opset] {
    o->given_prefix = prefix->count() > 0;
    o->given_target = target->count() > 0;
    o->given_opset = opset->count() > 0;
    check_format_options(*o);
    if (o->format == "c") {
      run_c_export(*o);
    } else {
      run_onnx_export(*o);
    }
  });
}

}  // namespace lowbit::cli
