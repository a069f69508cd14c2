// `lowbit flow-image RUN --stage S --samples 0,5,9 --out DIR`: PNGs of a flow stage's predicted
// and true flow for chosen test samples, in the Middlebury colour-wheel coding (seed 003's
// `visualize_predictions`), plus the wheel as a legend.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/autograd.h>

#include "lowbit/cli/commands.h"
#include "lowbit/cli/stage_list.h"
#include "lowbit/cli/trained_stage.h"
#include "lowbit/data/events/event_flow.h"
#include "lowbit/data/files/png_file.h"
#include "lowbit/train/report/csv_log.h"
#include "lowbit/train/report/flow_color.h"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;

/// What the command line asked for.
struct FlowImageOptions {
  std::string run;
  std::string stage;
  std::string samples = "0";
  std::string out;
};

std::vector<int64_t> parse_samples(const std::string& list, int64_t count) {
  std::vector<int64_t> samples;
  for (const std::string& name : split_names(list, "--samples")) {
    size_t used = 0;
    int64_t index = -1;
    try {
      index = std::stoll(name, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != name.size() || index < 0 || index >= count) {
      throw std::runtime_error("flow-image: --samples '" + name +
                               "' is not a sample of the set (0.." + std::to_string(count - 1) +
                               ")");
    }
    samples.push_back(index);
  }
  return samples;
}

std::string sample_name(int64_t index) {
  std::string digits = std::to_string(index);
  return "sample_" + std::string(digits.size() < 4 ? 4 - digits.size() : 0, '0') + digits;
}

void run_flow_image(const FlowImageOptions& o) {
  require_trained_stage(read_run_config(o.run), o.run, o.stage, "flow-image");
  TrainedStage trained = load_trained_stage(o.run, o.stage);
  std::string set_name;
  const data::Dataset& set = evaluation_set(trained.data, &set_name);
  const auto& targets = set.targets;
  if (targets.dim() != 4 || targets.size(1) != data::kFlowTargetChannels) {
    throw std::runtime_error("flow-image: run '" + o.run + "' is not a flow run (targets of the " +
                             set_name + " set are not [N, 3, H, W] = (u, v, valid))");
  }
  const std::vector<int64_t> samples = parse_samples(o.samples, set.size());
  fs::create_directories(o.out);
  trained.model.ptr()->eval();
  torch::NoGradGuard no_grad;
  data::write_png_rgb8((fs::path(o.out) / "colour_wheel.png").string(),
                       train::colour_wheel_legend(101));
  std::cout << "stage '" << trained.stage << "', " << set_name
            << " set; left: predicted, right: true flow (black: no ground truth)\n";
  for (int64_t index : samples) {
    const torch::Tensor predicted =
        trained.model.forward(set.inputs.slice(0, index, index + 1)).detach().to(torch::kFloat32);
    if (predicted.dim() != 4 || predicted.size(1) != 2 ||
        predicted.sizes().slice(2) != targets.sizes().slice(2)) {
      throw std::runtime_error("flow-image: stage '" + trained.stage + "' of run '" + o.run +
                               "' does not predict flow [N, 2, H, W] of the targets' size");
    }
    const torch::Tensor flow = predicted[0];
    const torch::Tensor truth = targets[index].slice(0, 0, 2);
    const torch::Tensor valid = targets[index][data::kFlowValid];
    const std::string base = (fs::path(o.out) / sample_name(index)).string();
    const double max_magnitude = train::max_flow_magnitude(truth, valid);
    data::write_png_rgb8(base + "_pred.png", train::flow_to_rgb(flow, max_magnitude));
    data::write_png_rgb8(base + "_true.png", train::flow_to_rgb(truth, max_magnitude, valid));
    data::write_png_rgb8(base + ".png", train::flow_comparison_image(flow, truth, valid));
    // Endpoint error over the valid pixels, so the picture comes with its number.
    const torch::Tensor mask = valid.ne(0);
    const torch::Tensor epe = (flow - truth).pow(2).sum(0).sqrt().masked_select(mask);
    std::cout << "  " << base << ".png  max |flow| " << train::format_number(max_magnitude, 4)
              << " px, endpoint error "
              << (epe.numel() > 0 ? train::format_number(epe.mean().item<double>(), 4) : "-")
              << " px over " << epe.numel() << " valid pixels\n";
  }
  std::cout << "legend: " << (fs::path(o.out) / "colour_wheel.png").string() << "\n";
}

}  // namespace

void add_flow_image_command(CLI::App& app) {
  auto o = std::make_shared<FlowImageOptions>();
  CLI::App* cmd = app.add_subcommand(
      "flow-image", "PNGs of predicted vs true optical flow of test samples (colour wheel)");
  cmd->add_option("run", o->run, "Run directory written by `lowbit train`")->required();
  cmd->add_option("--stage", o->stage, "Stage whose best checkpoint predicts")->required();
  cmd->add_option("--samples", o->samples, "Comma-separated sample indices of the test set")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Folder for the PNGs (created if missing)")->required();
  cmd->callback([o] { run_flow_image(*o); });
}

}  // namespace lowbit::cli
