// `lowbit size RUN_DIR --stage NAME | EXPORT_DIR`: what the integer model of a trained stage costs
// on a device, layer by layer: parameters, bits, flash bytes, RAM, MACs and weight entropy.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "lowbit/cli/commands.h"
#include "lowbit/cli/trained_stage.h"
#include "lowbit/export/export_folder.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/train/csv_log.h"
#include "lowbit/train/results_table.h"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;

/// What the command line asked for.
struct SizeOptions {
  std::string path;
  std::string stage;
};

// Shannon entropy in bits per weight of the codes' histogram: the size a perfect entropy coder
// would reach, a bound on what compressing the packed weights could save.
double code_entropy(const std::vector<int8_t>& codes) {
  if (codes.empty()) return 0.0;
  std::map<int, int64_t> counts;
  for (int8_t c : codes) ++counts[c];
  double entropy = 0.0;
  const double n = static_cast<double>(codes.size());
  for (const auto& [code, count] : counts) {
    const double p = static_cast<double>(count) / n;
    entropy -= p * std::log2(p);
  }
  return entropy;
}

/// The weight columns of one layer ("-" where the layer has no weights).
struct WeightInfo {
  int64_t parameters = 0;     ///< Weights plus biases.
  std::string bits = "-";     ///< Bits per stored weight.
  std::string entropy = "-";  ///< Entropy of the weight codes in bits per weight.
};

WeightInfo weight_info(const exporter::Op& op) {
  WeightInfo info;
  const std::vector<int8_t>* codes = nullptr;
  if (const auto* fc = std::get_if<exporter::FullyConnected>(&op)) {
    info.parameters = static_cast<int64_t>(fc->weights.size() + fc->bias.size());
    info.bits = std::to_string(exporter::format_bits(fc->format));
    codes = &fc->weights;
  } else if (const auto* conv = std::get_if<exporter::Conv2d>(&op)) {
    info.parameters = static_cast<int64_t>(conv->weights.size() + conv->bias.size());
    info.bits = std::to_string(exporter::format_bits(conv->format));
    codes = &conv->weights;
  }
  if (codes != nullptr) info.entropy = train::format_number(code_entropy(*codes), 3);
  return info;
}

void run_size(const SizeOptions& o) {
  std::string run = o.path;
  std::string stage = o.stage;
  if (fs::is_directory(o.path) && fs::exists(fs::path(o.path) / "model.json")) {
    // An export folder: rebuild the model from the run and stage it records.
    const exporter::ExportInfo info = exporter::read_export_info(o.path);
    run = info.source_run;
    if (stage.empty()) stage = info.stage;
  }
  TrainedStage trained = load_trained_stage(run, stage);
  const exporter::IntegerModel model = convert_trained_stage(trained);
  const exporter::ModelCost cost = exporter::model_cost(model);

  train::ResultsTable table({"layer", "op", "parameters", "bits", "weight B", "bias B", "requant B",
                             "flash B", "output RAM B", "MACs", "entropy bits"});
  int64_t parameters = 0;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const exporter::Layer& layer = model.layers[i];
    const exporter::LayerCost& c = cost.layers[i];
    const WeightInfo w = weight_info(layer.op);
    parameters += w.parameters;
    static const char* kOps[] = {"dense", "conv2d", "pool", "flatten", "slice", "concat"};
    table.add_row({layer.name, kOps[layer.op.index()], std::to_string(w.parameters), w.bits,
                   std::to_string(c.weight_bytes), std::to_string(c.bias_bytes),
                   std::to_string(c.requant_bytes), std::to_string(c.flash_bytes()),
                   std::to_string(c.output_bytes), std::to_string(c.macs), w.entropy});
  }
  std::cout << "stage '" << trained.stage << "' of " << trained.run_dir << "\n" << table.to_text();
  const int64_t fp32_bytes = 4 * parameters;
  std::cout << "total: " << parameters << " parameters, flash " << cost.flash_bytes
            << " bytes, scratch RAM " << cost.scratch_bytes << " bytes (arena " << cost.arena_bytes
            << ", operator " << cost.kernel_scratch_bytes << "), input " << cost.input_bytes
            << " bytes, output " << cost.output_bytes << " bytes, " << cost.macs
            << " MACs per inference\n"
            << "FP32 weights: " << fp32_bytes << " bytes; flash is "
            << train::format_number(
                   static_cast<double>(fp32_bytes) / static_cast<double>(cost.flash_bytes), 3)
            << "x smaller\n";
}

}  // namespace

void add_size_command(CLI::App& app) {
  auto o = std::make_shared<SizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "size", "Per-layer flash, RAM, MACs and weight entropy of a stage's integer model");
  cmd->add_option("path", o->path, "Run directory (with --stage), checkpoint or export folder")
      ->required();
  cmd->add_option("--stage", o->stage, "Stage (default for an export folder: the one it records)");
  cmd->callback([o] { run_size(*o); });
}

}  // namespace lowbit::cli
