// `lowbit verify DIR --run RUN_DIR [--stage NAME] [--target T]`: compiles an export once (for an
// MCU target with its cross compiler, run under qemu-user), runs it on the run's whole test set in
// one batch and compares it with the C++ reference (exactly), the fake-quantized training model
// (top-1 agreement) and the labels (accuracy); on an MCU target it also reports instructions per
// inference, flash and RAM. An ONNX export (--format qdq|qonnx) is run under ONNX Runtime instead
// and compared with the reference in code units, as a whole and layer by layer.
#include <torch/autograd.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
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
#include "lowbit/data/events/event_repr.h"
#include "lowbit/export/activity.h"
#include "lowbit/export/c/c_build.h"
#include "lowbit/export/c/cross_build.h"
#include "lowbit/export/export_folder.h"
#include "lowbit/export/onnx/onnx_agreement.h"
#include "lowbit/export/onnx/onnx_export.h"
#include "lowbit/export/onnx/onnx_lowering.h"
#include "lowbit/export/reference_executor.h"
#include "lowbit/train/report/evaluation.h"
#include "lowbit/train/report/flow_metrics.h"
#include "lowbit/util/atomic_file.h"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;

/// What the command line asked for.
struct VerifyOptions {
  std::string dir;
  std::string run;
  std::string stage;
  std::string target;
  int64_t layer_samples = 1000;
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

/// The evaluation set of a trained stage (its test split, else validation) as the int8 codes the
/// integer model reads.
struct EvaluationSet {
  const data::Dataset* set = nullptr;  ///< The split.
  bool is_test = false;                ///< Whether it is the test split.
  int64_t samples = 0;                 ///< Its size.
  std::vector<int8_t> inputs;          ///< samples x input size codes.
};

EvaluationSet evaluation_set(const TrainedStage& trained, const exporter::IntegerModel& model) {
  EvaluationSet e;
  e.is_test = trained.data.test.size() > 0;
  e.set = e.is_test ? &trained.data.test : &trained.data.val;
  e.samples = e.set->size();
  e.inputs = quantized_inputs(*e.set, model, e.samples);
  return e;
}

/// Prints the top-1 agreement of `real` (the exported model's dequantized outputs) with the
/// fake-quantized model and its accuracy on the labels, naming the exported model `what`.
void print_agreement_and_accuracy(TrainedStage& trained, const EvaluationSet& e,
                                  const torch::Tensor& real, const std::string& what) {
  const train::LossConfig& loss = trained.config.stage(trained.stage).loss;
  torch::Tensor torch_out;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < e.samples; start += 1000) {
      parts.push_back(trained.model.forward(e.set->inputs.slice(0, start, start + 1000)));
    }
    torch_out = torch::cat(parts, 0);
  }
  if (train::is_flow_loss(loss.type)) {
    // Flow has no classes: the exported model's AEE beside the fake-quantized model's, over the
    // pixels with events and valid ground truth, and how far the two flows are apart.
    const torch::Tensor mask = data::event_pixel_mask(e.set->inputs);
    const torch::Tensor flow = real.reshape(torch_out.sizes());
    const train::FlowMetrics exported = train::compute_flow_metrics(flow, e.set->targets, mask);
    const train::FlowMetrics fake = train::compute_flow_metrics(torch_out, e.set->targets, mask);
    const train::FlowMetrics zero =
        train::compute_flow_metrics(torch::zeros_like(torch_out), e.set->targets, mask);
    const double apart = (flow - torch_out).pow(2).sum(1).sqrt().mean().item<double>();
    std::cout << "  " << what << " model AEE: " << exported.aee << " px (fake-quantized model "
              << fake.aee << " px, zero flow " << zero.aee << " px, over " << exported.pixels
              << " pixels); mean |" << what << " - fake-quantized| " << apart << " px\n";
    return;
  }
  const int64_t agree =
      predicted_classes(real, loss).eq(predicted_classes(torch_out, loss)).sum().item<int64_t>();
  const train::BatchScores scores = train::score_batch(loss, real, e.set->targets);
  std::cout << "  top-1 agreement (" << what << " vs fake-quantized model): " << agree << "/"
            << e.samples << " ("
            << 100.0 * static_cast<double>(agree) / static_cast<double>(e.samples) << "%)\n";
  if (scores.total > 0) {
    std::cout << "  " << what << " model accuracy: " << scores.correct << "/" << scores.total
              << " ("
              << 100.0 * static_cast<double>(scores.correct) / static_cast<double>(scores.total)
              << "%)\n";
  }
}

/// A sequence model's work per time step and its layers' spike rates on the evaluation set.
void print_activity(const exporter::SequenceActivity& a) {
  std::cout << "  per time step: " << a.macs_per_step << " MACs, "
            << static_cast<int64_t>(a.synaptic_ops_per_step + 0.5)
            << " synaptic operations (the MACs of conv and dense layers whose input is not at "
               "its zero point, "
            << 100.0 * a.synaptic_ops_per_step /
                   static_cast<double>(std::max<int64_t>(1, a.weighted_macs_per_step))
            << "% of their " << a.weighted_macs_per_step << ")\n  spike rates:";
  for (const exporter::SpikeRate& r : a.spike_rates) std::cout << " " << r.layer << " " << r.rate;
  std::cout << "\n";
}

/// The dequantized outputs [samples, size] of int8 output codes.
torch::Tensor dequantized(const std::vector<int8_t>& codes, int64_t samples, int64_t size,
                          const exporter::Layer& last) {
  torch::Tensor real = torch::empty({samples, size}, torch::kFloat);
  float* ptr = real.data_ptr<float>();
  for (size_t i = 0; i < codes.size(); ++i) {
    ptr[i] = static_cast<float>(
        exporter::dequantize_output(codes[i], last.output_scale, last.output_zero_point));
  }
  return real;
}

void run_c_verify(const VerifyOptions& o, const exporter::ExportInfo& info) {
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
  const EvaluationSet e = evaluation_set(trained, model);
  const std::vector<int8_t>& inputs = e.inputs;
  const int64_t samples = e.samples;

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

  std::cout << "verified " << o.dir << " on " << samples << " " << (e.is_test ? "test" : "val")
            << " samples of " << trained.run_dir << " (stage '" << trained.stage << "')\n"
            << target_report;
  std::cout << "  mismatches (C vs C++ reference): " << report.mismatches.size() << " of "
            << report.values << " values\n";
  print_agreement_and_accuracy(
      trained, e, dequantized(c_out, samples, reference.output_size(), model.layers.back()), "C");
  if (model.time_steps > 0) print_activity(exporter::measure_activity(model, inputs, samples));
  if (!report.ok()) {
    throw std::runtime_error("verify: the C model differs from the reference: " +
                             report.describe().substr(0, 2000));
  }
}

// An ONNX export: the file itself under ONNX Runtime (optimisations disabled) on the whole
// evaluation set, its output codes against the reference, then every layer on the first
// --layer-samples samples (compare_onnx_with_reference, which writes the same model with its
// layers exposed). Fails when a layer's own difference is more than one code or not at a
// rounding boundary (docs/export.md, "Agreement with the reference").
void run_onnx_verify(const VerifyOptions& o, const exporter::ExportInfo& info) {
  const std::string where = "verify: '" + o.dir + "' is a " + info.format + " (ONNX) export";
  if (!o.target.empty()) throw std::invalid_argument(where + "; --target applies to C exports");
  const std::string missing = exporter::onnx_runtime_unavailable_reason();
  if (!missing.empty())
    throw std::runtime_error(where + ", but ONNX Runtime is missing: " + missing);
  const std::string stage = o.stage.empty() ? info.stage : o.stage;
  TrainedStage trained = load_trained_stage(o.run, stage);
  const exporter::IntegerModel model = convert_trained_stage(trained, "model");
  const EvaluationSet e = evaluation_set(trained, model);
  const ScratchFolder scratch;

  exporter::OnnxOptions options;
  options.format = exporter::onnx_format_named(info.format);
  options.opset = info.opset;
  std::string file = (std::filesystem::path(o.dir) / exporter::kOnnxModelFile).string();
  std::string note;
  if (options.format == exporter::OnnxFormat::kQonnx && !info.runnable_functions) {
    // ONNX Runtime cannot run QONNX's custom ops without their FunctionProtos: run the same
    // graph with them added (what `--runnable-functions` writes).
    exporter::OnnxOptions runnable = options;
    runnable.runnable_functions = true;
    file = (std::filesystem::path(scratch.path()) / "runnable.onnx").string();
    util::write_text_atomically(file, exporter::onnx_model_bytes(model, runnable));
    note = " (the same graph with Quant's FunctionProtos added, so ONNX Runtime can run it)";
  }
  const exporter::OnnxRanks ranks = exporter::onnx_ranks(model);
  std::vector<int64_t> dims = {e.samples};
  for (int64_t d : exporter::onnx_dims(model.input_shape, ranks.input)) dims.push_back(d);
  std::vector<float> x(e.inputs.size());
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(model.input_scale * (e.inputs[i] - model.input_zero_point));
  }
  const std::vector<exporter::OrtOutput> outputs =
      exporter::run_onnx_runtime(file, x, dims, scratch.path() + "/ort");
  const exporter::ReferenceExecutor reference(model);
  const std::vector<int8_t> expected = reference.run_batch(e.inputs, e.samples);
  if (outputs.empty() || outputs[0].values.size() != expected.size()) {
    throw std::runtime_error("verify: " + file + " gave " +
                             std::to_string(outputs.empty() ? 0 : outputs[0].values.size()) +
                             " output values, expected " + std::to_string(expected.size()));
  }
  const exporter::Layer& last = model.layers.back();
  std::vector<int8_t> codes(expected.size());
  int64_t exact = 0;
  int max_diff = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double code =
        std::nearbyint(outputs[0].values[i] / static_cast<float>(last.output_scale)) +
        last.output_zero_point;
    codes[i] = static_cast<int8_t>(std::min(127.0, std::max(-128.0, code)));
    const int diff = std::abs(static_cast<int>(code) - expected[i]);
    exact += diff == 0 ? 1 : 0;
    max_diff = std::max(max_diff, diff);
  }
  std::cout << "verified " << o.dir << " (" << info.format << ", opset " << info.opset
            << ") under ONNX Runtime (optimisations disabled) on " << e.samples << " "
            << (e.is_test ? "test" : "val") << " samples of " << trained.run_dir << " (stage '"
            << trained.stage << "')" << note << "\n";
  std::cout << "  output codes equal to the C++ reference: " << exact << " of " << expected.size()
            << " (" << 100.0 * static_cast<double>(exact) / static_cast<double>(expected.size())
            << "%), max |diff| " << max_diff << " codes\n";
  print_agreement_and_accuracy(
      trained, e, dequantized(codes, e.samples, reference.output_size(), last), "ONNX");
  const train::BatchScores reference_scores = train::score_batch(
      trained.config.stage(trained.stage).loss,
      dequantized(expected, e.samples, reference.output_size(), last), e.set->targets);
  if (reference_scores.total > 0) {
    std::cout << "  C++ integer reference accuracy: " << reference_scores.correct << "/"
              << reference_scores.total << " ("
              << 100.0 * static_cast<double>(reference_scores.correct) /
                     static_cast<double>(reference_scores.total)
              << "%)\n";
  }

  const int64_t n = std::min(e.samples, std::max<int64_t>(1, o.layer_samples));
  const std::vector<int8_t> first(e.inputs.begin(), e.inputs.begin() + n * reference.input_size());
  const exporter::OnnxAgreement layers =
      exporter::compare_onnx_with_reference(model, first, n, scratch.path() + "/layers", options);
  std::cout << "  per layer on the first " << n << " samples: " << layers.describe();
  if (layers.own_at_boundary() != layers.own_mismatches() || layers.max_own_diff() > 1) {
    throw std::runtime_error("verify: the " + info.format +
                             " file differs from the reference beyond rounding ties (" +
                             std::to_string(layers.own_mismatches() - layers.own_at_boundary()) +
                             " own differences off a rounding boundary, max own |diff| " +
                             std::to_string(layers.max_own_diff()) + ")");
  }
}

void run_verify(const VerifyOptions& o) {
  // The prefix is checked as export checks it: it is pasted into the generated driver.
  const exporter::ExportInfo info = exporter::read_export_info(o.dir);
  if (info.format == "c") {
    run_c_verify(o, info);
  } else {
    run_onnx_verify(o, info);
  }
}

}  // namespace

void add_verify_command(CLI::App& app) {
  auto o = std::make_shared<VerifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "Compile an export (or run an ONNX export under ONNX Runtime) and check it on the run's "
      "test set against the reference");
  cmd->add_option("dir", o->dir, "Export folder written by `lowbit export`")->required();
  cmd->add_option("--run", o->run, "The run directory (or checkpoint) it was exported from")
      ->required();
  cmd->add_option("--stage", o->stage, "Stage (default: the one recorded in model.json)");
  cmd->add_option(
      "--target", o->target,
      "Build and run for this target (default: the export's): " + exporter::target_names() +
          "; MCU targets run under qemu-user and report instructions, flash and RAM");
  cmd->add_option("--layer-samples", o->layer_samples,
                  "ONNX exports: samples compared layer by layer (default 1000; the whole output "
                  "is compared on every sample)")
      ->check(CLI::PositiveNumber);
  cmd->callback([o] { run_verify(*o); });
}

}  // namespace lowbit::cli
