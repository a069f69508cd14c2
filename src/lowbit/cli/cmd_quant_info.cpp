// `lowbit quant-info RUN --stage S [--weights] [--out FILE]`: the quantization of a trained stage
// as JSON (seed 003's `export_quantized_model_info`): per layer the bits, scales, zero points,
// code and value ranges, EMA min/max, every saved quantizer tensor, optionally the integer weights.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "lowbit/cli/commands.h"
#include "lowbit/cli/stage_list.h"
#include "lowbit/cli/trained_stage.h"
#include "lowbit/train/report/quant_info.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

/// What the command line asked for.
struct QuantInfoOptions {
  std::string run;
  std::string stage;
  std::string out;
  bool weights = false;
};

void run_quant_info(const QuantInfoOptions& o) {
  if (!o.stage.empty() && std::filesystem::is_directory(o.run)) {
    require_trained_stage(read_run_config(o.run), o.run, o.stage, "quant-info");
  }
  TrainedStage trained = load_trained_stage(o.run, o.stage);
  train::QuantInfoOptions options;
  options.include_codes = o.weights;
  nlohmann::json info = train::quantization_info(*trained.model.ptr(), options);
  int64_t parameters = 0;
  for (const auto& p : trained.model.ptr()->parameters()) parameters += p.numel();
  nlohmann::json out = {{"run", trained.run_dir},
                        {"stage", trained.stage},
                        {"checkpoint", trained.checkpoint},
                        {"parameters", parameters},
                        {"layers", info.at("layers")}};
  const std::string text = out.dump(2) + "\n";
  if (o.out.empty()) {
    std::cout << text;
    return;
  }
  util::write_text_atomically(o.out, text);
  std::cout << "quantization of stage '" << trained.stage << "' (" << info.at("layers").size()
            << " layers): " << o.out << "\n";
}

}  // namespace

void add_quant_info_command(CLI::App& app) {
  auto o = std::make_shared<QuantInfoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quant-info", "Per-layer quantization of a trained stage as JSON (bits, scales, ranges)");
  cmd->add_option("run", o->run, "Run directory (with --stage) or a checkpoint file")->required();
  cmd->add_option("--stage", o->stage, "Stage whose best checkpoint is described");
  cmd->add_flag("--weights", o->weights, "Include the integer codes of every quantized weight");
  cmd->add_option("--out", o->out, "Write the JSON to this file (default: standard output)");
  cmd->callback([o] { run_quant_info(*o); });
}

}  // namespace lowbit::cli
