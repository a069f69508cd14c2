// Latency per sample at batch 1, one thread: an exported integer model's C (built with cc -O2, and
// for comparison -O3 -march=native, by bench/latency_harness.c) against LibTorch FP32 eager
// inference of the run's FP stage on the same test samples, the three timed in turn in each
// repetition (medians reported). Prints one Markdown row;
// bench/latency.sh trains, exports and calls it.
//   latency --run RUN_DIR --fp-stage fp --export EXPORT_DIR [--label NAME] [--samples 1000]
//           [--repeats 11] [--cc cc]
#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/export/integer_model.h"
#include "lowbit/models/model.h"
#include "lowbit/train/checkpoint/checkpoint.h"
#include "lowbit/train/checkpoint/model_state.h"
#include "lowbit/train/data_source.h"
#include "lowbit/train/quantize/quantize_model.h"
#include "lowbit/train/run_config.h"
#include "lowbit/train/trainer.h"
#include "lowbit/util/atomic_file.h"

namespace {

namespace fs = std::filesystem;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << value;
  return out.str();
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string run_capture(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("latency: cannot run " + command);
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  if (::pclose(pipe) != 0)
    throw std::runtime_error("latency: `" + command + "` failed:\n" + output);
  return output;
}

// Compiles the C harness for an export with `flags` into work/name; returns the executable.
fs::path build_harness(const fs::path& export_dir, const std::string& prefix, const std::string& cc,
                       const std::string& flags, const fs::path& work, const std::string& name) {
  const std::string P = upper(prefix);
  std::string command = cc + " -std=c99 " + flags + " -DPREDICT=" + prefix +
                        "_predict -DIN_SIZE=" + P + "_INPUT_SIZE -DOUT_SIZE=" + P +
                        "_OUTPUT_SIZE -DSCRATCH=" + P + "_SCRATCH_SIZE -I" + export_dir.string() +
                        " -I" + (export_dir / "runtime/include").string() + " " +
                        (fs::path(LOWBIT_SOURCE_DIR) / "bench/latency_harness.c").string() + " " +
                        (export_dir / "model.c").string();
  for (const auto& entry : fs::directory_iterator(export_dir / "runtime/src")) {
    if (entry.path().extension() == ".c") command += " " + entry.path().string();
  }
  const fs::path executable = work / name;
  run_capture(command + " -o " + executable.string());
  return executable;
}

// Microseconds per sample of one timed pass of a C harness (after its own warm-up pass).
double time_c_once(const fs::path& executable, const fs::path& input_file) {
  const std::string output = run_capture(executable.string() + " " + input_file.string() + " 1");
  const size_t at = output.find("rep 0: ");
  if (at == std::string::npos) {
    throw std::runtime_error("latency: unexpected harness output:\n" + output);
  }
  return std::stod(output.substr(at + 7));
}

// LibTorch FP32 eager inference at batch 1: the samples split into batches of one, warmed up.
class TorchTimer {
 public:
  TorchTimer(torch::nn::AnyModule& model, const torch::Tensor& samples) : model_(model) {
    torch::NoGradGuard no_grad;
    model_.ptr()->eval();
    for (int64_t i = 0; i < samples.size(0); ++i) {
      batches_.push_back(samples.slice(0, i, i + 1).contiguous());
    }
    for (const auto& b : batches_) checksum_ += model_.forward(b).sum().item<double>();
  }

  /// Microseconds per sample of one pass over all samples.
  double once() {
    torch::NoGradGuard no_grad;
    const auto start = std::chrono::steady_clock::now();
    for (const auto& b : batches_) checksum_ += model_.forward(b).data_ptr<float>()[0];
    const std::chrono::duration<double, std::micro> elapsed =
        std::chrono::steady_clock::now() - start;
    if (std::isnan(checksum_)) std::cerr << "latency: the FP32 model produced NaN\n";
    return elapsed.count() / static_cast<double>(batches_.size());
  }

 private:
  torch::nn::AnyModule& model_;
  std::vector<torch::Tensor> batches_;
  double checksum_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args = {
      {"--fp-stage", "fp"}, {"--samples", "1000"}, {"--repeats", "11"}, {"--cc", "cc"}};
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  if (!args.count("--run") || !args.count("--export")) {
    std::cerr << "usage: latency --run RUN_DIR --fp-stage STAGE --export EXPORT_DIR [--label NAME] "
                 "[--samples N] [--repeats R] [--cc CC]\n";
    return 1;
  }
  try {
    namespace train = lowbit::train;
    at::set_num_threads(1);
    const fs::path run = args["--run"];
    const fs::path export_dir = args["--export"];
    const int repeats = std::stoi(args["--repeats"]);
    const std::string config_file = (run / "config.yaml").string();
    train::RunConfig config = train::parse_run_config(
        lowbit::config::ConfigNode::parse(lowbit::util::read_file(config_file), config_file));
    const train::StageConfig& stage = config.stage(args["--fp-stage"]);
    train::StageData data = train::load_data(*config.data, config.seed);
    torch::nn::AnyModule model = lowbit::models::build_model(
        *config.model, train::input_features(data.train), train::model_outputs(data.train));
    train::quantize_model(*model.ptr(), stage.quantization);
    const std::string checkpoint_file =
        (fs::path(train::stage_dir(run.string(), stage.name)) / "best.pt").string();
    train::load_model_state(*model.ptr(), train::load_checkpoint(checkpoint_file).model,
                            checkpoint_file);

    const nlohmann::json info =
        nlohmann::json::parse(lowbit::util::read_file((export_dir / "model.json").string()));
    const std::string prefix = info.at("prefix").get<std::string>();
    const double scale = info.at("input").at("scale").get<double>();
    const auto zero_point = info.at("input").at("zero_point").get<int32_t>();
    const lowbit::data::Dataset& set = data.test.size() > 0 ? data.test : data.val;
    const int64_t n = std::min<int64_t>(std::stoll(args["--samples"]), set.size());
    const torch::Tensor samples = set.inputs.slice(0, 0, n).contiguous();
    const torch::Tensor flat = samples.reshape({n, -1}).to(torch::kDouble).contiguous();
    std::vector<int8_t> inputs(static_cast<size_t>(flat.numel()));
    for (size_t i = 0; i < inputs.size(); ++i) {
      inputs[i] = lowbit::exporter::quantize_input(flat.data_ptr<double>()[i], scale, zero_point);
    }

    const fs::path work = export_dir.parent_path() / "latency_build";
    fs::create_directories(work);
    const fs::path input_file = work / "inputs.bin";
    lowbit::util::write_text_atomically(input_file.string(),
                                        std::string(inputs.begin(), inputs.end()));
    const fs::path c_o2 =
        build_harness(export_dir, prefix, args["--cc"], "-O2", work, "latency_harness");
    const fs::path c_native = build_harness(export_dir, prefix, args["--cc"], "-O3 -march=native",
                                            work, "latency_harness_native");
    TorchTimer torch_timer(model, samples);
    // Interleaved, so that a slow spell of a shared machine hits all three alike.
    std::vector<double> c_runs;
    std::vector<double> native_runs;
    std::vector<double> torch_runs;
    for (int r = 0; r < repeats; ++r) {
      c_runs.push_back(time_c_once(c_o2, input_file));
      native_runs.push_back(time_c_once(c_native, input_file));
      torch_runs.push_back(torch_timer.once());
    }
    const double c_us = median(c_runs);
    const double native_us = median(native_runs);
    const double torch_us = median(torch_runs);
    const auto& sizes = info.at("sizes");
    const std::string label = args.count("--label") ? args["--label"] : run.filename().string();
    std::cout << "| " << label << " | " << n << " | " << fixed(c_us, 2) << " | "
              << fixed(torch_us, 2) << " | " << fixed(torch_us / c_us, 1) << "x | "
              << fixed(native_us, 2) << " | " << fixed(torch_us / native_us, 1) << "x | "
              << sizes.at("flash_bytes").get<int64_t>() << " | "
              << sizes.at("scratch_bytes").get<int64_t>() << " | "
              << 4 * train::parameter_count(*model.ptr()) << " | "
              << sizes.at("macs").get<int64_t>() << " |\n";
  } catch (const std::exception& e) {
    std::cerr << "latency: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
