// `lowbit verify DIR --run RUN_DIR [--stage NAME] [--target T]`: compiles an export once (for an
// MCU target with its cross compiler, run under qemu-user), runs it on the run's whole test set in
// one batch and compares it with the C++ reference (exactly), the fake-quantized training model
// (top-1 agreement) and the labels (accuracy); on an MCU target it also reports instructions per
// inference, flash and RAM.
#include <torch/autograd.h>
#include <torch/types.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/cli/commands.h"
#include "lowbit/cli/trained_stage.h"
#include "lowbit/export/c_build.h"
#include "lowbit/export/cross_build.h"
#include "lowbit/export/export_folder.h"
#include "lowbit/export/reference_executor.h"
#include "lowbit/train/report/evaluation.h"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;

/// What the command line asked for.
struct VerifyOptions {
  std::string dir;
  std::string run;
  std::string stage;
  std::string target;
};

/// A temporary folder removed when it goes out of scope.
class ScratchFolder {
 public:
  /// Creates the folder under the system's temporary directory.
  ScratchFolder() {
    std::string pattern = (fs::temp_directory_path() / "lowbit_verify_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("verify: cannot create a temporary folder in " +
                               fs::temp_directory_path().string());
    }
    path_ = pattern;
  }
  /// Removes the folder and everything in it.
  ~ScratchFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  /// The folder.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The predicted class of each row: argmax for several outputs; for one output, the positive class
// when the value passes the loss's threshold (0.5 for probabilities, 0 for logits and values).
torch::Tensor predicted_classes(const torch::Tensor& outputs, const train::LossConfig& loss) {
  if (outputs.size(1) > 1) return outputs.argmax(1);
  const double threshold = loss.type == train::LossType::kBinaryCrossEntropy ? 0.5 : 0.0;
  return outputs.reshape({-1}).gt(threshold).to(torch::kLong);
}

void run_verify(const VerifyOptions& o) {
  // The prefix is checked as export checks it: it is pasted into the generated driver.
  const exporter::ExportInfo info = exporter::read_export_info(o.dir);
  const std::string& prefix = info.prefix;
  const std::string stage = o.stage.empty() ? info.stage : o.stage;
  // The code was generated for the export's target (its requantization too); --target only says
  // where to build and run it.
  const exporter::Target& code_target = exporter::target_named(info.target);
  const exporter::Target& run_target =
      exporter::target_named(o.target.empty() ? info.target : o.target);
  exporter::require_cross_tools(run_target);
  TrainedStage trained = load_trained_stage(o.run, stage);
  const exporter::IntegerModel model = convert_for_target(trained, prefix, code_target);

  const bool has_test = trained.data.test.size() > 0;
  const data::Dataset& set = has_test ? trained.data.test : trained.data.val;
  const int64_t samples = set.size();
  const torch::Tensor flat = set.inputs.reshape({samples, -1}).to(torch::kDouble).contiguous();
  const double* x = flat.data_ptr<double>();
  std::vector<int8_t> inputs(static_cast<size_t>(flat.numel()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    inputs[i] = exporter::quantize_input(x[i], model.input_scale, model.input_zero_point);
  }

  const exporter::ReferenceExecutor reference(model);
  const ScratchFolder scratch;
  std::vector<int8_t> c_out;
  std::string target_report;
  if (run_target.is_cross()) {
    const exporter::CrossImage image =
        exporter::build_for_target(o.dir, prefix, scratch.path(), run_target);
    const exporter::TargetRun run = exporter::run_on_target(
        image, run_target, inputs, samples, reference.output_size(), scratch.path());
    c_out = run.outputs;
    const std::vector<int8_t> first(inputs.begin(), inputs.begin() + reference.input_size());
    const int64_t instructions =
        exporter::count_instructions(image, run_target, first, scratch.path());
    const exporter::CrossImage minimal = exporter::build_for_target(
        o.dir, prefix, scratch.path(), run_target, exporter::CrossDriver::kMinimal);
    target_report =
        "  target " + run_target.name + " (" + run_target.cross.emulator +
        "): instructions per inference " + std::to_string(instructions) +
        " (first test sample); with a minimal main: flash " + std::to_string(minimal.flash()) +
        " bytes (text " + std::to_string(minimal.text) + " + data " + std::to_string(minimal.data) +
        "), RAM " + std::to_string(minimal.data + minimal.bss + run.stack_bytes) + " bytes (data " +
        std::to_string(minimal.data) + " + bss " + std::to_string(minimal.bss) + " + stack " +
        std::to_string(run.stack_bytes) + ")\n";
  } else {
    const std::string driver = exporter::build_export(o.dir, prefix, scratch.path());
    c_out = exporter::run_export(driver, inputs, samples, reference.output_size(), scratch.path());
  }
  const exporter::VerifyReport report = exporter::compare_outputs(
      reference.run_batch(inputs, samples), c_out, reference.output_size());

  const exporter::Layer& last = model.layers.back();
  torch::Tensor c_real = torch::empty({samples, reference.output_size()}, torch::kFloat);
  float* c_ptr = c_real.data_ptr<float>();
  for (size_t i = 0; i < c_out.size(); ++i) {
    c_ptr[i] = static_cast<float>(
        exporter::dequantize_output(c_out[i], last.output_scale, last.output_zero_point));
  }
  const train::LossConfig& loss = trained.config.stage(trained.stage).loss;
  torch::Tensor torch_out;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < samples; start += 1000) {
      parts.push_back(trained.model.forward(set.inputs.slice(0, start, start + 1000)));
    }
    torch_out = torch::cat(parts, 0);
  }
  const int64_t agree =
      predicted_classes(c_real, loss).eq(predicted_classes(torch_out, loss)).sum().item<int64_t>();
  const train::BatchScores c_scores = train::score_batch(loss, c_real, set.targets);

  std::cout << "verified " << o.dir << " on " << samples << " " << (has_test ? "test" : "val")
            << " samples of " << trained.run_dir << " (stage '" << trained.stage << "')\n"
            << target_report;
  std::cout << "  mismatches (C vs C++ reference): " << report.mismatches.size() << " of "
            << report.values << " values\n";
  std::cout << "  top-1 agreement (C vs fake-quantized model): " << agree << "/" << samples << " ("
            << 100.0 * static_cast<double>(agree) / static_cast<double>(samples) << "%)\n";
  if (c_scores.total > 0) {
    std::cout << "  C model accuracy: " << c_scores.correct << "/" << c_scores.total << " ("
              << 100.0 * static_cast<double>(c_scores.correct) / static_cast<double>(c_scores.total)
              << "%)\n";
  }
  if (!report.ok()) {
    throw std::runtime_error("verify: the C model differs from the reference: " +
                             report.describe().substr(0, 2000));
  }
}

}  // namespace

void add_verify_command(CLI::App& app) {
  auto o = std::make_shared<VerifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Compile an export and check it on the run's test set against the reference");
  cmd->add_option("dir", o->dir, "Export folder written by `lowbit export`")->required();
  cmd->add_option("--run", o->run, "The run directory (or checkpoint) it was exported from")
      ->required();
  cmd->add_option("--stage", o->stage, "Stage (default: the one recorded in model.json)");
  cmd->add_option(
      "--target", o->target,
      "Build and run for this target (default: the export's): " + exporter::target_names() +
          "; MCU targets run under qemu-user and report instructions, flash and RAM");
  cmd->callback([o] { run_verify(*o); });
}

}  // namespace lowbit::cli
