// LibTorch intra-op threads vs speed for a small MLP (784-256-128-10, batch 128), to pick the
// default thread count: `threads_bench --benchmark_repetitions=5`. The argument is the number of
// intra-op threads.
#include <benchmark/benchmark.h>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

namespace {

struct Mlp {
  torch::nn::Linear fc1{784, 256};
  torch::nn::Linear fc2{256, 128};
  torch::nn::Linear fc3{128, 10};

  torch::Tensor forward(const torch::Tensor& x) {
    namespace F = torch::nn::functional;
    return fc3(F::relu(fc2(F::relu(fc1(x)))));
  }

  void zero_grad() {
    fc1->zero_grad();
    fc2->zero_grad();
    fc3->zero_grad();
  }
};

void BM_MlpForwardBackward(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(0)));
  torch::manual_seed(0);
  Mlp mlp;
  const torch::Tensor x = torch::randn({128, 784});
  const torch::Tensor y = torch::randint(0, 10, {128}, torch::kLong);
  for (auto _ : state) {
    mlp.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(mlp.forward(x), y);
    loss.backward();
    benchmark::DoNotOptimize(loss.item<float>());
  }
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(BM_MlpForwardBackward)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_MlpForward(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(0)));
  torch::manual_seed(0);
  Mlp mlp;
  const torch::Tensor x = torch::randn({128, 784});
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    torch::Tensor out = mlp.forward(x);
    benchmark::DoNotOptimize(out.data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(BM_MlpForward)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
