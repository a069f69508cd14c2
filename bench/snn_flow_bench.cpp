// Training time per epoch of the snn_flow network (seed 003) built from lowbit's layers against a
// composed-op reference of the same network: the same convolutions, batch norms and transposed
// convolutions as plain torch::nn modules, and the LIF neuron written out as plain tensor ops
// (membrane update, Heaviside spike with the atan surrogate by the detach trick, reset by
// subtraction at the next step), as a snnTorch-style script has it.
//   snn_flow_bench CONFIG [EPOCHS]   (data, model and first stage of a run config; default 3)
// Both train on the same batches with the same optimizer, loss and clipping; the reference
// starts from the lowbit model's weights, and the program first checks that the two compute the
// same flow and the same gradients (it fails otherwise).
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "lowbit/models/model.h"
#include "lowbit/models/snn_flow.h"
#include "lowbit/train/data_source.h"
#include "lowbit/train/loss.h"
#include "lowbit/train/run_config.h"

namespace {

using lowbit::models::SnnFlowImpl;

// LIF over [T, B, C, H, W] in plain ops: U[t] = beta U[t-1] + X[t] - S[t-1] thr (S detached),
// S[t] = H(U[t] - thr) forward, atan surrogate (alpha) backward.
torch::Tensor composed_lif(const torch::Tensor& x, double beta, double threshold, double alpha) {
  torch::Tensor u = torch::zeros_like(x[0]);
  torch::Tensor s = torch::zeros_like(x[0]);
  std::vector<torch::Tensor> spikes;
  for (int64_t t = 0; t < x.size(0); ++t) {
    u = beta * u + x[t] - s.detach() * threshold;
    const torch::Tensor v = u - threshold;
    const torch::Tensor smooth = 0.5 + torch::atan(M_PI / 2 * alpha * v) / M_PI;
    s = v.gt(0).to(v.dtype()) + (smooth - smooth.detach());
    spikes.push_back(s);
  }
  return torch::stack(spikes);
}

// One spiking block: convolution, batch norm, LIF.
struct ComposedBlockImpl : torch::nn::Module {
  ComposedBlockImpl(int64_t in, int64_t out, int64_t stride, bool batch_norm)
      : conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3)
                                                           .stride(stride)
                                                           .padding(1)
                                                           .bias(!batch_norm)))) {
    if (batch_norm) norm = register_module("norm", torch::nn::BatchNorm2d(out));
  }
  torch::Tensor forward(const torch::Tensor& x, double beta, double threshold, double alpha) {
    torch::Tensor y = conv->forward(x.flatten(0, 1));
    if (!norm.is_empty()) y = norm->forward(y);
    return composed_lif(y.reshape({x.size(0), x.size(1), y.size(1), y.size(2), y.size(3)}), beta,
                        threshold, alpha);
  }
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d norm{nullptr};
};
TORCH_MODULE(ComposedBlock);

// snn_flow's layout (models/snn_flow.h) with torch::nn modules and composed LIF neurons.
struct ComposedSnnFlowImpl : torch::nn::Module {
  explicit ComposedSnnFlowImpl(const lowbit::models::SnnFlowOptions& o) : options(o) {
    const int64_t c = o.base_channels();
    const int64_t widths[] = {2, c, 2 * c, 4 * c, 4 * c};
    for (int i = 0; i < 4; ++i) {
      encoder.push_back(
          register_module("enc" + std::to_string(i + 1),
                          ComposedBlock(widths[i], widths[i + 1], 2, o.batch_norm())));
    }
    for (int64_t i = 0; i < o.residual_blocks(); ++i) {
      const std::string name = "res" + std::to_string(i + 1);
      residual.emplace_back(
          register_module(name + "a", ComposedBlock(4 * c, 4 * c, 1, o.batch_norm())),
          register_module(name + "b", ComposedBlock(4 * c, 4 * c, 1, o.batch_norm())));
    }
    const std::pair<int64_t, int64_t> ups[] = {
        {4 * c, 2 * c}, {6 * c, 2 * c}, {4 * c, c}, {2 * c, c}};
    for (int i = 0; i < 4; ++i) {
      decoder.push_back(
          register_module("dec" + std::to_string(4 - i),
                          torch::nn::ConvTranspose2d(
                              torch::nn::ConvTranspose2dOptions(ups[i].first, ups[i].second, 4)
                                  .stride(2)
                                  .padding(1))));
    }
    flow = register_module("flow", torch::nn::Conv2d(torch::nn::Conv2dOptions(c, 2, 3).padding(1)));
  }

  torch::Tensor forward(const torch::Tensor& events) {
    const double beta = options.lif().beta(), thr = options.lif().threshold();
    const double alpha = options.lif().spike_grad().param;
    torch::Tensor x = events.transpose(0, 1);
    std::vector<torch::Tensor> rates;
    for (auto& block : encoder) {
      x = block->forward(x, beta, thr, alpha);
      rates.push_back(x.mean(0));
    }
    for (auto& [a, b] : residual)
      x = x + b->forward(a->forward(x, beta, thr, alpha), beta, thr, alpha);
    auto up = [](torch::nn::ConvTranspose2d& layer, const torch::Tensor& in, int64_t h, int64_t w) {
      return torch::leaky_relu(layer->forward(in).slice(2, 0, h).slice(3, 0, w), 0.1);
    };
    torch::Tensor y = x.mean(0);
    y = up(decoder[0], y, rates[2].size(2), rates[2].size(3));
    y = up(decoder[1], torch::cat({y, rates[2]}, 1), rates[1].size(2), rates[1].size(3));
    y = up(decoder[2], torch::cat({y, rates[1]}, 1), rates[0].size(2), rates[0].size(3));
    y = up(decoder[3], torch::cat({y, rates[0]}, 1), events.size(3), events.size(4));
    return flow->forward(y);
  }

  lowbit::models::SnnFlowOptions options;
  std::vector<ComposedBlock> encoder;
  std::vector<std::pair<ComposedBlock, ComposedBlock>> residual;
  std::vector<torch::nn::ConvTranspose2d> decoder;
  torch::nn::Conv2d flow{nullptr};
};
TORCH_MODULE(ComposedSnnFlow);

// Copies lowbit's weights into the reference by name (transposed convolutions change layout).
void copy_weights(SnnFlowImpl& from, ComposedSnnFlowImpl& to) {
  torch::NoGradGuard no_grad;
  auto source = from.named_parameters();
  for (const auto& b : from.named_buffers()) source.insert(b.key(), b.value());
  auto copy = [&](const std::string& name, torch::Tensor target) {
    torch::Tensor value = source[name];
    if (name.rfind("dec", 0) == 0 && name.find(".weight") != std::string::npos) {
      value = lowbit::nn::conv_transpose_weight_to_torch(value, target.size(0), 1);
    }
    target.copy_(value);
  };
  for (auto& p : to.named_parameters()) copy(p.key(), p.value());
  for (auto& b : to.named_buffers()) copy(b.key(), b.value());
}

// Seconds of one training epoch over `set` in batches of `batch`.
double train_epoch(torch::nn::Module& model, const std::function<torch::Tensor(torch::Tensor)>& f,
                   const lowbit::data::Dataset& set, const lowbit::train::StageConfig& stage) {
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(stage.optimizer.lr));
  model.train();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t begin = 0; begin < set.size(); begin += stage.batch_size) {
    const int64_t end = std::min(set.size(), begin + stage.batch_size);
    optimizer.zero_grad();
    torch::Tensor loss = lowbit::train::compute_loss(stage.loss, f(set.inputs.slice(0, begin, end)),
                                                     set.targets.slice(0, begin, end));
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model.parameters(), 1.0);
    optimizer.step();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(const std::string& config_file, int epochs) {
  const lowbit::train::RunConfig config = lowbit::train::load_run_config(config_file);
  torch::set_num_threads(config.threads);
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  const lowbit::train::StageData data = lowbit::train::load_data(*config.data, config.seed);
  const lowbit::train::StageConfig& stage = config.stages.front();
  torch::nn::AnyModule any =
      lowbit::models::build_model(*config.model, data.train.inputs[0].numel(), 2);
  auto lowbit_model = any.ptr<SnnFlowImpl>();
  // The reference writes out one neuron: snnTorch's default Leaky with the atan surrogate.
  const lowbit::nn::LeakyOptions& lif = lowbit_model->options.lif();
  if (lif.spike_grad().kind != lowbit::nn::SurrogateKind::kAtan ||
      lif.reset_mechanism() != "subtract" || !lif.reset_delay() || !lif.reset_detach() ||
      lif.learn_beta() || lif.learn_threshold() || lif.channels() != 0 ||
      lif.state_quant_bits() != 0) {
    std::fprintf(stderr,
                 "snn_flow_bench: the reference has fixed beta and threshold, the atan surrogate "
                 "and a delayed, detached subtractive reset; %s asks for other neurons\n",
                 config_file.c_str());
    return 1;
  }
  ComposedSnnFlow reference(lowbit_model->options);
  copy_weights(*lowbit_model, *reference);

  // The same function: equal flow on a batch, in eval and in training mode.
  const torch::Tensor x = data.train.inputs.slice(0, 0, stage.batch_size);
  for (const bool training : {false, true}) {
    torch::NoGradGuard no_grad;
    lowbit_model->train(training);
    reference->train(training);
    const double diff =
        (lowbit_model->forward(x) - reference->forward(x)).abs().max().item<double>();
    std::printf("max |lowbit - reference| flow (%s mode): %.3g\n", training ? "training" : "eval",
                diff);
    if (!(diff < 1e-4)) {
      std::fprintf(stderr, "snn_flow_bench: the composed reference computes another function\n");
      return 1;
    }
  }
  copy_weights(*lowbit_model, *reference);  // undo the training-mode batch-norm statistics
  // And the same gradients (the surrogate included), parameter by parameter.
  const torch::Tensor y = data.train.targets.slice(0, 0, stage.batch_size);
  lowbit::train::compute_loss(stage.loss, lowbit_model->forward(x), y).backward();
  lowbit::train::compute_loss(stage.loss, reference->forward(x), y).backward();
  double grad_diff = 0;
  auto lowbit_parameters = lowbit_model->named_parameters();
  for (const auto& p : reference->named_parameters()) {
    torch::Tensor g = lowbit_parameters[p.key()].grad();
    if (p.key().rfind("dec", 0) == 0 && p.key().find(".weight") != std::string::npos) {
      g = lowbit::nn::conv_transpose_weight_to_torch(g, p.value().size(0), 1);
    }
    grad_diff = std::max(grad_diff, (g - p.value().grad()).abs().max().item<double>());
  }
  std::printf("max |lowbit - reference| gradient: %.3g\n", grad_diff);
  if (!(grad_diff < 1e-4)) {
    std::fprintf(stderr, "snn_flow_bench: the composed reference has other gradients\n");
    return 1;
  }
  copy_weights(*lowbit_model, *reference);

  std::printf("%s: %lld training samples, batch %lld, %d threads\n", config_file.c_str(),
              static_cast<long long>(data.train.size()), static_cast<long long>(stage.batch_size),
              config.threads);
  std::printf("%-8s %18s %18s %8s\n", "epoch", "lowbit s/epoch", "composed s/epoch", "ratio");
  double lowbit_total = 0, reference_total = 0;
  for (int e = 0; e < epochs; ++e) {
    // Alternating, so load from other processes hits both alike.
    const double a = train_epoch(
        *lowbit_model, [&](const torch::Tensor& in) { return lowbit_model->forward(in); },
        data.train, stage);
    const double b = train_epoch(
        *reference, [&](const torch::Tensor& in) { return reference->forward(in); }, data.train,
        stage);
    lowbit_total += a;
    reference_total += b;
    std::printf("%-8d %18.3f %18.3f %8.3f\n", e + 1, a, b, a / b);
  }
  std::printf("%-8s %18.3f %18.3f %8.3f\n", "mean", lowbit_total / epochs, reference_total / epochs,
              lowbit_total / reference_total);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: snn_flow_bench CONFIG [EPOCHS]\n");
    return 2;
  }
  try {
    return run(argv[1], argc == 3 ? std::stoi(argv[2]) : 3);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "snn_flow_bench: %s\n", e.what());
    return 1;
  }
}
