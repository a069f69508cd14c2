// device: cpu | cuda | auto. Tests named *_CUDA need a GPU and skip themselves without one
// (bench/cuda/check.sh runs them on a GPU machine).
#include "lowbit/train/device.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "lowbit/quant/registry.h"

namespace lowbit::train {
namespace {

TEST(ResolveDevice, CpuAndAuto) {
  EXPECT_TRUE(resolve_device("cpu").is_cpu());
  EXPECT_EQ(resolve_device("auto").is_cuda(), torch::cuda::is_available());
}

TEST(ResolveDevice, CudaWithoutAGpuIsAClearError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is visible";
  try {
    resolve_device("cuda");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("device: cuda, but LibTorch sees no CUDA device"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(resolve_device("gpu"), std::invalid_argument);
}

// Every registered quantizer type with its default parameters, for each role it takes: the
// forward on a GPU equals the CPU's within one grid step on at most 0.1 % of the elements
// (rounding of ties may differ between the fused CPU kernels and LibTorch's CUDA ones), and the
// gradients agree in the same sense.
TEST(ResolveDevice, QuantizersAgreeWithTheCpu_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no GPU";
  const torch::Device gpu = resolve_device("cuda");
  for (const quant::QuantizerType& type : quant::quantizer_types()) {
    for (const quant::Role role : type.roles) {
      SCOPED_TRACE(type.name + " as " + quant::role_name(role));
      torch::manual_seed(3);
      const torch::Tensor x = torch::randn({8, 16, 4, 4});
      quant::Quantizer on_cpu = quant::make_quantizer(type.name, role);
      quant::Quantizer on_gpu = quant::make_quantizer(type.name, role);
      on_gpu->to(gpu);
      torch::Tensor xc = x.clone().requires_grad_(true);
      torch::Tensor xg = x.to(gpu).requires_grad_(true);
      const torch::Tensor yc = on_cpu->forward(xc);
      const torch::Tensor yg = on_gpu->forward(xg).cpu();
      ASSERT_EQ(yc.sizes(), yg.sizes());
      const double mismatched = (yc - yg).abs().gt(1e-5).to(torch::kFloat64).mean().item<double>();
      EXPECT_LE(mismatched, 1e-3);
      yc.square().sum().backward();
      on_gpu->forward(xg).square().sum().backward();
      const double grad_mismatched =
          (xc.grad() - xg.grad().cpu()).abs().gt(1e-4).to(torch::kFloat64).mean().item<double>();
      EXPECT_LE(grad_mismatched, 1e-2);
    }
  }
}

}  // namespace
}  // namespace lowbit::train
