// `lowbit size RUN_DIR --stage NAME | EXPORT_DIR [--target T]`: what the integer model of a trained
// stage costs on a device, layer by layer: parameters, bits, flash bytes, RAM, MACs and weight
// entropy, as the code for the target stores it; for an export of an MCU target also the linked
// image (flash and RAM measured by building it with the cross compiler and running it once).
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "lowbit/cli/commands.h"
#include "lowbit/cli/trained_stage.h"
#include "lowbit/export/c/cross_build.h"
#include "lowbit/export/export_folder.h"
#include "lowbit/export/model_cost.h"
#include "lowbit/train/report/csv_log.h"
#include "lowbit/train/report/results_table.h"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;

/// What the command line asked for.
struct SizeOptions {
  std::string path;
  std::string stage;
  std::string target;
};

/// A temporary folder removed when it goes out of scope.
class TempFolder {
 public:
  /// Creates the folder under the system's temporary directory.
  TempFolder() {
    std::string pattern = (fs::temp_directory_path() / "lowbit_size_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("size: cannot create a temporary folder in " +
                               fs::temp_directory_path().string());
    }
    path_ = pattern;
  }
  /// Removes the folder and everything in it.
  ~TempFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  /// The folder.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Builds an MCU export with its cross compiler and runs it once on a zero sample: the linked
// image's flash and RAM.
void print_linked_image(const std::string& folder, const exporter::ExportInfo& info,
                        const exporter::Target& target, int64_t input_bytes, int64_t output_bytes) {
  exporter::require_cross_tools(target);
  const TempFolder temp;
  const exporter::CrossImage image = exporter::build_for_target(
      folder, info.prefix, temp.path(), target, exporter::CrossDriver::kMinimal);
  const exporter::CrossImage test =
      exporter::build_for_target(folder, info.prefix, temp.path(), target);
  const exporter::TargetRun run = exporter::run_on_target(
      test, target, std::vector<int8_t>(static_cast<size_t>(input_bytes), 0), 1, output_bytes,
      temp.path());
  std::cout << "linked image for " << target.name << " (-Os, minimal main and start-up): "
            << "flash " << image.flash() << " bytes (text " << image.text << " + data "
            << image.data << "), RAM " << image.data + image.bss + run.stack_bytes
            << " bytes (data " << image.data << " + bss " << image.bss << " + stack "
            << run.stack_bytes << ")\n";
}

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
  const std::optional<exporter::WeightsView> weights = exporter::op_weights(op);
  const std::vector<int8_t>* codes = nullptr;
  if (weights) {
    info.parameters = static_cast<int64_t>(weights->codes->size() + weights->bias->size());
    info.bits = std::to_string(exporter::format_bits(weights->format));
    codes = weights->codes;
  }
  if (codes != nullptr) info.entropy = train::format_number(code_entropy(*codes), 3);
  return info;
}

const char* const kSizeColumns[] = {"layer",        "op",     "parameters",  "bits",
                                    "weight B",     "bias B", "requant B",   "flash B",
                                    "output RAM B", "MACs",   "entropy bits"};

// The totals lines of both tables; `parameters` < 0 when unknown (model.json does not have them).
void print_totals(const exporter::ExportSizes& cost, int64_t parameters) {
  std::cout << "total: ";
  if (parameters >= 0) std::cout << parameters << " parameters, ";
  std::cout << "flash " << cost.flash_bytes << " bytes, scratch RAM " << cost.scratch_bytes
            << " bytes (arena " << cost.arena_bytes << ", operator " << cost.kernel_scratch_bytes
            << "), input " << cost.input_bytes << " bytes, output " << cost.output_bytes
            << " bytes, " << cost.macs << " MACs per inference\n";
  if (cost.time_steps > 0) {
    std::cout << "sequence: " << cost.time_steps << " time steps of " << cost.macs_per_step
              << " MACs each; state " << cost.state_bytes
              << " bytes (LIF membranes, pending resets and spike counts, kept between steps and "
                 "part of the scratch RAM)\n";
  }
  if (parameters < 0) return;
  const int64_t fp32_bytes = 4 * parameters;
  std::cout << "FP32 weights: " << fp32_bytes << " bytes; flash is "
            << train::format_number(
                   static_cast<double>(fp32_bytes) / static_cast<double>(cost.flash_bytes), 3)
            << "x smaller\n";
}

// The sizes model_cost gives, in the form model.json records them.
exporter::ExportSizes sizes_of(const exporter::IntegerModel& model,
                               const exporter::ModelCost& cost) {
  exporter::ExportSizes out{cost.flash_bytes,
                            cost.arena_bytes,
                            cost.kernel_scratch_bytes,
                            cost.scratch_bytes,
                            cost.input_bytes,
                            cost.output_bytes,
                            cost.macs,
                            cost.time_steps,
                            cost.state_struct_bytes,
                            cost.macs_per_step,
                            {}};
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const exporter::LayerCost& c = cost.layers[i];
    out.layers.push_back({model.layers[i].name, "", 0, c.weight_bytes, c.bias_bytes,
                          c.requant_bytes, c.flash_bytes(), c.output_bytes, c.macs});
  }
  return out;
}

// The table of an export whose run folder is gone: every figure from its model.json (the
// parameter count and the entropy need the weights, which only the run has).
void print_recorded_sizes(const std::string& folder, const exporter::ExportInfo& info) {
  const exporter::ExportSizes& sizes = *info.sizes;
  train::ResultsTable table(
      std::vector<std::string>(std::begin(kSizeColumns), std::end(kSizeColumns)));
  for (const exporter::ExportLayerSize& l : sizes.layers) {
    table.add_row({l.name, l.op, "-", l.bits > 0 ? std::to_string(l.bits) : "-",
                   std::to_string(l.weight_bytes), std::to_string(l.bias_bytes),
                   std::to_string(l.requant_bytes), std::to_string(l.flash_bytes),
                   std::to_string(l.output_bytes), std::to_string(l.macs), "-"});
  }
  std::cout << "stage '" << info.stage << "' as exported in " << folder << ", target "
            << info.target << " (from its model.json: the run " << info.source_run
            << " is not there)\n"
            << table.to_text();
  print_totals(sizes, -1);
}

void run_size(const SizeOptions& o) {
  std::string run = o.path;
  std::string stage = o.stage;
  std::string target_name = o.target.empty() ? "portable" : o.target;
  std::optional<exporter::ExportInfo> info;
  if (fs::is_directory(o.path) && fs::exists(fs::path(o.path) / "model.json")) {
    // An export folder: rebuild the model from the run and stage it records.
    info = exporter::read_export_info(o.path);
    run = info->source_run;
    if (stage.empty()) stage = info->stage;
    // An ONNX file runs wherever its runtime does: its integer model is counted as portable C.
    if (o.target.empty() && info->format == "c") target_name = info->target;
    // A C export copied away from its run still has its own figures.
    std::error_code ec;
    if (info->sizes && target_name == info->target && stage == info->stage &&
        !fs::exists(run, ec)) {
      print_recorded_sizes(o.path, *info);
      if (exporter::target_named(target_name).is_cross()) {
        print_linked_image(o.path, *info, exporter::target_named(target_name),
                           info->sizes->input_bytes, info->sizes->output_bytes);
      }
      return;
    }
  }
  const exporter::Target& target = exporter::target_named(target_name);
  TrainedStage trained = load_trained_stage(run, stage);
  const exporter::IntegerModel model = convert_for_target(trained, "model", target);
  const exporter::ModelCost cost = exporter::model_cost(model, target);

  train::ResultsTable table(
      std::vector<std::string>(std::begin(kSizeColumns), std::end(kSizeColumns)));
  int64_t parameters = 0;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const exporter::Layer& layer = model.layers[i];
    const exporter::LayerCost& c = cost.layers[i];
    const WeightInfo w = weight_info(layer.op);
    parameters += w.parameters;
    table.add_row({layer.name, exporter::op_table_name(layer.op), std::to_string(w.parameters),
                   w.bits, std::to_string(c.weight_bytes), std::to_string(c.bias_bytes),
                   std::to_string(c.requant_bytes), std::to_string(c.flash_bytes()),
                   std::to_string(c.output_bytes), std::to_string(c.macs), w.entropy});
  }
  std::cout << "stage '" << trained.stage << "' of " << trained.run_dir << ", target "
            << target.name << "\n"
            << table.to_text();
  print_totals(sizes_of(model, cost), parameters);
  if (model.time_steps > 0) {
    const exporter::SequenceActivity a = sequence_activity(trained, model);
    std::cout << "synaptic operations per time step: "
              << static_cast<int64_t>(a.synaptic_ops_per_step + 0.5) << " of "
              << a.weighted_macs_per_step << " conv and dense MACs (their inputs not at the zero "
              << "point, on the first " << a.samples << " evaluation samples)\n";
  }
  // The export was written from an earlier state of the run (retrained since, or edited).
  if (info && info->sizes && info->target == target.name && info->stage == trained.stage &&
      info->sizes->flash_bytes != cost.flash_bytes) {
    std::cout << "warning: " << o.path << "/model.json records flash " << info->sizes->flash_bytes
              << " bytes, the stage now lowers to " << cost.flash_bytes
              << ": the export is older than the run's checkpoint; export it again\n";
  }
  if (info && info->format != "c") {
    const fs::path file = fs::path(o.path) / "model.onnx";
    std::error_code ec;
    const auto bytes = fs::file_size(file, ec);
    std::cout << "ONNX file " << file.string() << " (" << info->format << ", opset " << info->opset
              << "): " << (ec ? std::string("missing") : std::to_string(bytes) + " bytes") << "\n";
  }
  if (info && target.is_cross() && info->target == target.name) {
    print_linked_image(o.path, *info, target, cost.input_bytes, cost.output_bytes);
  }
}

}  // namespace

void add_size_command(CLI::App& app) {
  auto o = std::make_shared<SizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "size", "Per-layer flash, RAM, MACs and weight entropy of a stage's integer model");
  cmd->add_option("path", o->path,
                  "Run directory (with --stage), checkpoint or export folder (a C export whose run "
                  "is gone: its model.json's figures)")
      ->required();
  cmd->add_option("--stage", o->stage, "Stage (default for an export folder: the one it records)");
  cmd->add_option("--target", o->target,
                  "Count as the code for this target stores the model (default: the export's, "
                  "else portable): " +
                      exporter::target_names() +
                      "; an MCU target's export is also linked and run once for its flash and RAM");
  cmd->callback([o] { run_size(*o); });
}

}  // namespace lowbit::cli
