// Forward + backward time of each quantizer against the same grid composed from plain LibTorch
// ops (divide, round, clamp, multiply, detach trick), at 4K, 64K and 1M elements, one thread.
//   build/release/quant_bench --benchmark_min_time=0.2
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/autograd.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "lowbit/quant/fused_fake_quantize.h"
#include "lowbit/quant/registry.h"

namespace {

// The composed reference: absmax scale, round with the detach trick, clamp, rescale.
// Gradient: straight through inside the range, zero outside (clamp's own gradient).
torch::Tensor composed_uniform(const torch::Tensor& x, int64_t qmin, int64_t qmax) {
  const torch::Tensor scale = x.detach().abs().max().clamp_min(1e-8) / static_cast<double>(qmax);
  const torch::Tensor xs = x / scale;
  const torch::Tensor rounded = xs + (torch::round(xs) - xs).detach();
  return torch::clamp(rounded, static_cast<double>(qmin), static_cast<double>(qmax)) * scale;
}

// The composed reference for learned-step quantization (what an LSQ script writes by hand).
torch::Tensor composed_lsq(const torch::Tensor& x, const torch::Tensor& step, int64_t qmin,
                           int64_t qmax) {
  const double g = 1.0 / std::sqrt(static_cast<double>(x.numel()) * static_cast<double>(qmax));
  const torch::Tensor s = step * g + (step - step * g).detach();  // gradient scaling trick
  const torch::Tensor xs =
      torch::clamp(x / s, static_cast<double>(qmin), static_cast<double>(qmax));
  return (xs + (torch::round(xs) - xs).detach()) * s;
}

void run_forward_backward(benchmark::State& state,
                          const std::function<torch::Tensor(const torch::Tensor&)>& f) {
  at::set_num_threads(1);
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({state.range(0)}).requires_grad_(true);
  const torch::Tensor upstream = torch::ones({state.range(0)});
  for (auto _ : state) {
    torch::Tensor y = f(x);
    y.backward(upstream);
    x.mutable_grad().reset();
    benchmark::DoNotOptimize(y.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void register_all() {
  const std::vector<int64_t> sizes = {4096, 65536, 1 << 20};
  auto add = [&](const std::string& name, std::function<torch::Tensor(const torch::Tensor&)> f) {
    auto* b = benchmark::RegisterBenchmark(
        name.c_str(), [f](benchmark::State& s) { run_forward_backward(s, f); });
    for (int64_t n : sizes) b->Arg(n);
    b->Unit(benchmark::kMicrosecond);
  };
  for (const auto& type : lowbit::quant::quantizer_types()) {
    const bool has_bits = std::any_of(type.params.begin(), type.params.end(),
                                      [](const auto& p) { return p.name == "bits"; });
    const bool weight = std::find(type.roles.begin(), type.roles.end(),
                                  lowbit::quant::Role::kWeight) != type.roles.end();
    const lowbit::quant::Role role =
        weight ? lowbit::quant::Role::kWeight : lowbit::quant::Role::kActivation;
    const std::string spec = type.name + (has_bits ? ":bits=4" : "");
    lowbit::quant::Quantizer q = lowbit::quant::make_quantizer(spec, role);
    add("lowbit/" + spec, [q](const torch::Tensor& x) { return q->forward(x); });
  }
  add("kernel/fused_fake_quantize_cpu", [](const torch::Tensor& x) {
    return lowbit::quant::fused_fake_quantize_cpu(x, torch::tensor(0.1f),
                                                  torch::tensor(0, torch::kInt32), -1, -8, 7);
  });
  add("composed/uniform:bits=4", [](const torch::Tensor& x) { return composed_uniform(x, -8, 7); });
  const torch::Tensor step = torch::full({1}, 0.1).requires_grad_(true);
  add("composed/lsq:bits=4",
      [step](const torch::Tensor& x) { return composed_lsq(x, step, -8, 7); });
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
